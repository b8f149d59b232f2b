"""Selection on the way in: part of a bundle, with what it depends on inside the bundle.

The sample app (namespaces shop and shop-ops, and the cluster-scoped objects they use) as a
bundle holds it; selections run over it offline, or with a stand-in for the destination's
discovery.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from kbundle.apply.engine import Importer
from kbundle.apply.options import ApplyOptions, DryRunMode
from kbundle.apply.outcome import Action
from kbundle.bundle.trust import ReadyBundle, accept_bundle
from kbundle.cluster import Cluster
from kbundle.core.errors import UsageError
from kbundle.core.levels import level_for
from kbundle.core.model import Object, ObjectRef
from kbundle.select.inbound import BundleKinds, check_selection, guessed_plural, select_objects
from kbundle.select.selection import Selection
from kbundle.verbs.inbound import apply_options, chosen_objects
from kbundle.verbs.render import RenderOptions, render
from tests.bundle_samples import write_bundle
from tests.objects import sample_app
from tests.unit.test_apply_run import MemoryCluster, levels

RBAC = "rbac.authorization.k8s.io"
SHOP_CLUSTER_DEPENDENCIES = {
    "Namespace shop",
    "StorageClass.storage.k8s.io shop-local",
    "PriorityClass.scheduling.k8s.io shop-critical",
    "IngressClass.networking.k8s.io shop-nginx",
    f"ClusterRoleBinding.{RBAC} shop-log-agent",
    f"ClusterRole.{RBAC} shop-log-agent",
    "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
}


def write_levelled(path: Path, objects: Sequence[Object]) -> None:
    """A bundle of ``objects``, each kind at the level export would give it."""
    by_level: dict[tuple[int, str], list[Object]] = {}
    for obj in objects:
        ref = ObjectRef.of(obj)
        level = level_for(ref.group_kind, is_custom_resource=ref.group == "example.com")
        by_level.setdefault((level.number, level.name), []).append(obj)
    write_bundle(path, [(n, name, group) for (n, name), group in sorted(by_level.items())])


def ready_of(tmp_path: Path, objects: Sequence[Object] | None = None) -> ReadyBundle:
    path = tmp_path / "sample.kbundle"
    write_levelled(path, sample_app() if objects is None else objects)
    return accept_bundle(path, tmp_path / "work")


def shown(refs: frozenset[ObjectRef] | None) -> set[str]:
    assert refs is not None
    return {str(ref) for ref in refs}


def every_ref(ready: ReadyBundle) -> set[str]:
    bundle = ready.bundle
    return {
        str(ObjectRef.of(document))
        for entry in bundle.entries
        for document in bundle.documents(entry)
    }


@pytest.fixture
def ready(tmp_path: Path) -> ReadyBundle:
    return ready_of(tmp_path)


# -- what a selection takes -----------------------------------------------------------------


def test_no_selection_takes_the_whole_bundle_without_reading_it(ready: ReadyBundle) -> None:
    for selection in (Selection(), Selection(all_namespaces=True)):
        assert select_objects(ready.bundle, selection) is None
        assert select_objects(ready.bundle, selection, where="anything") is None


def test_a_namespace_takes_its_objects_and_the_cluster_objects_they_depend_on_only(
    ready: ReadyBundle,
) -> None:
    taken = shown(select_objects(ready.bundle, Selection(namespaces=("shop",))))
    in_shop = {ref for ref in every_ref(ready) if " shop/" in ref}
    assert taken == in_shop | SHOP_CLUSTER_DEPENDENCIES
    assert not any("shop-ops" in ref for ref in taken)
    assert "ValidatingWebhookConfiguration.admissionregistration.k8s.io shop-widget-guard" not in (
        taken
    )


def test_an_object_root_pulls_in_what_it_depends_on_and_nothing_else(ready: ReadyBundle) -> None:
    taken = shown(
        select_objects(ready.bundle, Selection(namespaces=("shop",), objects=("deployments/api",)))
    )
    assert {
        "Deployment.apps shop/api",
        "ConfigMap shop/shop-config",
        "Secret shop/db-credentials",
        "ServiceAccount shop/api",
        "Service shop/api",
        "HorizontalPodAutoscaler.autoscaling shop/api",
        "Namespace shop",
        "PriorityClass.scheduling.k8s.io shop-critical",
    } <= taken
    assert "Deployment.apps shop/frontend" not in taken
    assert "StatefulSet.apps shop/db" not in taken
    assert not any("shop-ops" in ref for ref in taken)


def test_an_object_root_without_n_is_looked_for_in_the_bundles_only_namespace(
    tmp_path: Path,
) -> None:
    only_shop = [o for o in sample_app() if o["metadata"].get("namespace") != "shop-ops"]
    only_shop = [o for o in only_shop if o["metadata"]["name"] != "shop-ops"]
    ready = ready_of(tmp_path, only_shop)
    taken = shown(select_objects(ready.bundle, Selection(objects=("deployment/api",))))
    assert "Deployment.apps shop/api" in taken


def test_include_cluster_resources_false_takes_no_cluster_scoped_object(
    ready: ReadyBundle,
) -> None:
    for selection in (
        Selection(namespaces=("shop",), include_cluster_resources="false"),
        Selection(include_cluster_resources="false"),
        Selection(
            namespaces=("shop",), objects=("deployment/api",), include_cluster_resources="false"
        ),
    ):
        taken = select_objects(ready.bundle, selection)
        assert taken, selection
        assert all(ref.namespace for ref in taken), selection


def test_include_cluster_resources_true_takes_every_cluster_scoped_object_of_the_bundle(
    ready: ReadyBundle,
) -> None:
    taken = shown(
        select_objects(
            ready.bundle, Selection(namespaces=("shop",), include_cluster_resources="true")
        )
    )
    assert taken >= SHOP_CLUSTER_DEPENDENCIES
    assert "ValidatingWebhookConfiguration.admissionregistration.k8s.io shop-widget-guard" in taken
    assert "Namespace shop-ops" in taken
    assert not any(" shop-ops/" in ref for ref in taken)


def test_kind_filters_alone_narrow_the_whole_bundle_cluster_objects_included(
    ready: ReadyBundle,
) -> None:
    """Without -n, -l or --object, auto keeps what the bundle holds, like a full restore."""
    taken = shown(select_objects(ready.bundle, Selection(exclude_kinds=("secrets",))))
    assert taken == {ref for ref in every_ref(ready) if not ref.startswith("Secret ")}
    roles = shown(select_objects(ready.bundle, Selection(include_kinds=("clusterroles",))))
    assert roles == {f"ClusterRole.{RBAC} shop-log-agent"}


def test_a_label_selection_takes_the_cluster_objects_it_depends_on(ready: ReadyBundle) -> None:
    taken = shown(select_objects(ready.bundle, Selection(selector="app=db")))
    assert "StatefulSet.apps shop/db" in taken
    assert "StorageClass.storage.k8s.io shop-local" in taken  # its claim template's class
    assert "Deployment.apps shop/api" not in taken


def test_objects_export_would_leave_out_as_derived_are_not_left_out_again(
    tmp_path: Path,
) -> None:
    """A bundle exported with --include-owned, or a hand-made one, keeps what it holds."""
    objects = sample_app()
    api = next(o for o in objects if (o["kind"], o["metadata"]["name"]) == ("Deployment", "api"))
    api["metadata"]["uid"] = "uid-api"
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "api-5d4f8",
            "namespace": "shop",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "api",
                    "uid": "uid-api",
                    "controller": True,
                }
            ],
        },
        "spec": copy.deepcopy(api["spec"]),
    }
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "api", "namespace": "shop"},
        "subsets": [],
    }
    root_ca = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kube-root-ca.crt", "namespace": "shop"},
        "data": {"ca.crt": "x"},
    }
    ready = ready_of(tmp_path, [*objects, replica_set, endpoints, root_ca])
    taken = shown(select_objects(ready.bundle, Selection(namespaces=("shop",))))
    assert {
        "ReplicaSet.apps shop/api-5d4f8",
        "Endpoints shop/api",
        "ConfigMap shop/kube-root-ca.crt",
    } <= taken


# -- kind names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Deployment", "Deployment.apps"),
        ("deployment", "Deployment.apps"),
        ("deployments", "Deployment.apps"),
        ("deployments.apps", "Deployment.apps"),
        ("deployment.v1.apps", "Deployment.apps"),
        ("networkpolicies", "NetworkPolicy.networking.k8s.io"),
        ("ingresses.networking.k8s.io", "Ingress.networking.k8s.io"),
        ("storageclasses", "StorageClass.storage.k8s.io"),
        ("configmaps", "ConfigMap"),
        ("Secret", "Secret"),
        ("widgets", "Widget.example.com"),  # the CRD's own plural
        ("wg", "Widget.example.com"),  # and short name
        ("widget.example.com", "Widget.example.com"),
        ("customresourcedefinitions", "CustomResourceDefinition.apiextensions.k8s.io"),
    ],
)
def test_offline_kind_names_resolve_against_the_bundles_own_kinds(name: str, kind: str) -> None:
    [found] = BundleKinds(sample_app()).resolve(name)
    assert ObjectRef(found.group, found.kind, "", "").group_kind == kind


def test_the_plural_is_guessed_as_the_apiserver_guesses_it() -> None:
    assert [guessed_plural(k) for k in ("Pod", "Ingress", "NetworkPolicy", "Gateway", "Box")] == [
        "pods",
        "ingresses",
        "networkpolicies",
        "gateways",
        "boxes",
    ]


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (Selection(include_kinds=("deploymnts",)), "--include-kinds deploymnts: no such kind"),
        (Selection(exclude_kinds=("secret,gadgets",)), "--exclude-kinds gadgets: no such kind"),
        (
            Selection(objects=("deploymnt/api",), namespaces=("shop",)),
            "--object deploymnt/api: no such kind deploymnt",
        ),
        (Selection(namespaces=("shopp",)), "-n shopp: the bundle holds nothing in that"),
        (Selection(objects=("deployment/api",)), "name its namespace with -n"),
        (Selection(objects=("deployment/nope",), namespaces=("shop",)), "holds no such object"),
    ],
)
def test_a_typo_is_one_usage_error_naming_the_flag(
    ready: ReadyBundle, selection: Selection, message: str
) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        select_objects(ready.bundle, selection)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (Selection(include_cluster_resources="maybe"), "expected auto, true or false"),
        (Selection(all_namespaces=True, namespaces=("shop",)), "cannot be combined"),
        (Selection(objects=("deployment/api",), all_namespaces=True), "not -A"),
        (Selection(objects=("deployment/api",), namespaces=("a", "b")), "not several"),
        (Selection(objects=("deployment",)), "expected KIND/NAME"),
        (Selection(selector="app in (a"), "selector"),
        (Selection(include_owned=True), "--include-owned decides what export reads"),
        (Selection(keep_status=True), "--keep-status"),
    ],
)
def test_flags_that_cannot_be_honoured_are_refused_before_anything_is_read(
    selection: Selection, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        check_selection(selection)


@dataclass(frozen=True)
class ServedKind:
    group: str
    kind: str
    namespaced: bool


class Destination:
    """A stand-in for the destination's discovery: kubectl's short names, no Widgets."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def resolve(self, text: str) -> list[ServedKind]:
        self.asked.append(text)
        served = {
            "deploy": ServedKind("apps", "Deployment", True),
            "cm": ServedKind("", "ConfigMap", True),
        }
        return [served[text]] if text in served else []


def test_connected_names_come_from_the_destination_then_from_the_bundle(
    ready: ReadyBundle,
) -> None:
    destination = Destination()
    taken = chosen_objects(
        ready,
        Selection(namespaces=("shop",), include_kinds=("deploy", "cm", "wg")),
        destination,
        "staging",
    )
    kinds = {ref.group_kind for ref in taken or ()}
    assert kinds == {"Deployment.apps", "ConfigMap", "Widget.example.com"}
    assert destination.asked == ["deploy", "cm", "wg"]
    with pytest.raises(UsageError, match="no such kind in context staging or the bundle"):
        chosen_objects(ready, Selection(include_kinds=("gadgets",)), destination, "staging")


# -- importing and rendering part of a bundle -----------------------------------------------


def test_include_cluster_resources_false_turns_off_creating_namespaces() -> None:
    assert apply_options(ApplyOptions(), Selection()).create_namespaces
    assert not apply_options(
        ApplyOptions(), Selection(include_cluster_resources="false")
    ).create_namespaces


@pytest.mark.parametrize("dry_run", [DryRunMode.NONE, DryRunMode.SERVER, DryRunMode.CLIENT])
def test_an_import_that_may_create_no_namespace_creates_none_and_says_why(
    dry_run: DryRunMode,
) -> None:
    cluster = MemoryCluster()
    namespaced = [level for level in levels() if level.number != 1]  # no Namespace object
    importer = Importer(
        cast(Cluster, cluster), ApplyOptions(create_namespaces=False, dry_run=dry_run)
    )
    outcomes = importer.run(namespaced)
    assert cluster.applies == 0
    assert [o.action for o in outcomes] == [Action.FAIL, Action.FAIL]
    for outcome in outcomes:
        assert "namespace shop does not exist" in outcome.message
        assert "--include-cluster-resources=false creates no namespace" in outcome.message
        assert "create it first" in outcome.message


def test_an_import_that_may_create_no_namespace_writes_into_existing_ones() -> None:
    cluster = MemoryCluster()
    cluster.apply(
        cast(Any, cluster.preferred_for("", "Namespace")),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    )
    importer = Importer(cast(Cluster, cluster), ApplyOptions(create_namespaces=False))
    outcomes = importer.run([level for level in levels() if level.number != 1])
    assert [o.action for o in outcomes] == [Action.CREATE, Action.CREATE]


def test_render_writes_only_the_selected_objects_under_their_mapped_namespace(
    tmp_path: Path,
) -> None:
    from kbundle.transforms.spec import TransformSpec  # noqa: PLC0415

    bundle = tmp_path / "sample.kbundle"
    write_levelled(bundle, sample_app())
    result = render(
        RenderOptions(
            bundle=bundle,
            folder=tmp_path / "out",
            transforms=(TransformSpec("map-namespace", {"mapping": {"shop-ops": "ops"}}),),
            selection=Selection(namespaces=("shop-ops",), include_cluster_resources="false"),
        )
    )
    text = "".join(p.read_text() for p in sorted((tmp_path / "out").iterdir()))
    assert result.objects == 3  # the ServiceAccount and two Roles of shop-ops
    assert text.count("namespace: ops") == 3
    assert "shop-ops" not in text and "namespace: shop\n" not in text
