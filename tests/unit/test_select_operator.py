"""An operator's CRDs travel with it, and the plan says why each cluster-scoped object came.

The operator here is the usual public install: CRDs, a ServiceAccount, a ClusterRole naming
the CRDs' group and resources, a ClusterRoleBinding and a Deployment, and no custom resource
yet.
"""

from __future__ import annotations

import random
from typing import Any

from kbundle.core.model import Object, ObjectRef
from kbundle.core.selectors import parse_selector
from kbundle.select.facts import facts_of
from kbundle.select.plan import ExportPlan, ObjectIndex, SelectionRequest, plan_export
from tests.sample_state import sample_index

GROUP = "operator.example.io"
RBAC_V1 = "rbac.authorization.k8s.io/v1"
SHOP = frozenset({"shop"})


def crd(plural: str, kind: str) -> Object:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}", "uid": f"crd-{plural}"},
        "spec": {"group": GROUP, "names": {"plural": plural, "kind": kind}, "scope": "Namespaced"},
    }


def rules(*pairs: tuple[list[str], list[str]]) -> list[dict[str, Any]]:
    return [{"apiGroups": g, "resources": r, "verbs": ["get", "list", "watch"]} for g, r in pairs]


def cluster_role(name: str, role_rules: list[dict[str, Any]], **labels: str) -> Object:
    meta = {"name": name, "uid": f"cr-{name}", "labels": labels}
    return {"apiVersion": RBAC_V1, "kind": "ClusterRole", "metadata": meta, "rules": role_rules}


def binding(kind: str, name: str, role: str, account: str, namespace: str = "") -> Object:
    account_namespace, account_name = account.split("/")
    meta = {"name": name, "uid": f"b-{namespace}-{name}"}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": RBAC_V1,
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [
            {
                "kind": "ServiceAccount",
                "name": account_name,
                "namespace": account_namespace,
            }
        ],
    }


def operator(namespace: str = "shop", labels: dict[str, str] | None = None) -> list[Object]:
    """The operator's install, with nothing of its kinds created yet."""
    labels = labels or {}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "uid": "ns"}},
        crd("gizmos", "Gizmo"),
        crd("sprockets", "Sprocket"),
        crd("unrelated", "Unrelated"),
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "operator", "namespace": namespace, "uid": "sa", "labels": labels},
        },
        cluster_role(
            "operator-role",
            rules(
                ([GROUP], ["gizmos", "gizmos/status"]),
                ([GROUP], ["sprockets/finalizers"]),
                (["apps"], ["deployments"]),  # built in: no CRD of that name
                ([""], ["pods", "events"]),
                (["*"], ["unrelated"]),  # a star group names nothing
            ),
        ),
        binding("ClusterRoleBinding", "operator-binding", "operator-role", f"{namespace}/operator"),
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "operator", "namespace": namespace, "uid": "d", "labels": labels},
            "spec": {
                "selector": {"matchLabels": {"app": "operator"}},
                "template": {
                    "metadata": {"labels": {"app": "operator"}},
                    "spec": {"serviceAccountName": "operator", "containers": [{"name": "o"}]},
                },
            },
        },
    ]


def gizmo(name: str, namespace: str = "shop") -> Object:
    meta = {"name": name, "namespace": namespace, "uid": f"g-{name}"}
    return {"apiVersion": f"{GROUP}/v1", "kind": "Gizmo", "metadata": meta, "spec": {}}


def index_of(objects: list[Object]) -> ObjectIndex:
    crd_names = {("Gizmo",): f"gizmos.{GROUP}"}
    return ObjectIndex(facts_of(o, crd_name=crd_names.get((o["kind"],))) for o in objects)


def plan(objects: list[Object], **request: Any) -> ExportPlan:
    return plan_export(index_of(objects), SelectionRequest(**request))


def cluster_scoped(result: ExportPlan) -> dict[str, str]:
    return {f"{r.kind}/{r.name}": result.reasons[r] for r in result.exported if not r.namespace}


def test_namespace_export_brings_the_crds_the_operators_cluster_role_names() -> None:
    assert cluster_scoped(plan(operator(), namespaces=SHOP)) == {
        "Namespace/shop": "namespace of the selection",
        "ClusterRoleBinding/operator-binding": "binding of ServiceAccount shop/operator",
        "ClusterRole/operator-role": "granted by ClusterRoleBinding operator-binding",
        f"CustomResourceDefinition/gizmos.{GROUP}": (
            "named by ClusterRole operator-role, bound to ServiceAccount shop/operator "
            "by ClusterRoleBinding operator-binding"
        ),
        f"CustomResourceDefinition/sprockets.{GROUP}": (
            "named by ClusterRole operator-role, bound to ServiceAccount shop/operator "
            "by ClusterRoleBinding operator-binding"
        ),
    }


def test_object_export_of_the_operator_brings_its_crds_without_missing_dependency_noise() -> None:
    result = plan(operator(), roots=(ObjectRef("apps", "Deployment", "shop", "operator"),))
    names = {f"{r.kind}/{r.name}" for r in result.exported}
    assert {f"CustomResourceDefinition/gizmos.{GROUP}", "ClusterRole/operator-role"} <= names
    assert f"CustomResourceDefinition/unrelated.{GROUP}" not in names
    assert result.warnings == []  # deployments.apps, pods... are named, and never missing
    assert result.reasons[ObjectRef("apps", "Deployment", "shop", "operator")] == (
        "root: --object Deployment shop/operator"
    )
    assert result.reasons[ObjectRef("", "ServiceAccount", "shop", "operator")] == (
        "named by Deployment shop/operator"
    )


def test_a_role_bound_to_an_account_outside_the_selection_brings_no_crd() -> None:
    objects = operator(namespace="elsewhere")
    objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    names = set(cluster_scoped(plan(objects, namespaces=SHOP)))
    assert names == {"Namespace/shop"}


def test_a_label_selection_of_the_operator_brings_its_crds() -> None:
    objects = operator(labels={"app": "operator"})
    result = plan(objects, namespaces=SHOP, selector=parse_selector("app=operator"))
    assert f"CustomResourceDefinition/gizmos.{GROUP}" in cluster_scoped(result)
    account = ObjectRef("", "ServiceAccount", "shop", "operator")
    assert result.reasons[account] == "selected: namespace shop, matching -l"


def test_default_roles_bring_no_crds_even_when_aggregated_ones_name_them() -> None:
    objects = [o for o in operator() if o["kind"] != "ClusterRoleBinding"]
    edit = cluster_role(
        "edit",
        rules(([GROUP], ["unrelated"])),  # aggregated into edit by another operator's install
        **{"kubernetes.io/bootstrapping": "rbac-defaults"},
    )
    objects += [edit, binding("RoleBinding", "ci-edit", "edit", "shop/operator", "shop")]
    assert f"CustomResourceDefinition/unrelated.{GROUP}" not in cluster_scoped(
        plan(objects, namespaces=SHOP)
    )


def test_no_cluster_resources_means_no_crds_either() -> None:
    assert cluster_scoped(plan(operator(), namespaces=SHOP, cluster_resources="false")) == {}


def test_every_cluster_scoped_object_says_it_was_selected_with_true() -> None:
    reasons = cluster_scoped(plan(operator(), namespaces=None, cluster_resources="true"))
    assert reasons[f"CustomResourceDefinition/unrelated.{GROUP}"] == (
        "selected: --include-cluster-resources=true"
    )


def test_a_custom_resource_is_the_reason_given_before_a_grant() -> None:
    objects = [*operator(), gizmo("g2"), gizmo("g1")]
    reasons = cluster_scoped(plan(objects, namespaces=SHOP))
    assert reasons[f"CustomResourceDefinition/gizmos.{GROUP}"] == (
        f"CRD of custom resource Gizmo.{GROUP} shop/g1"  # the first by name, on every run
    )
    assert "bound to ServiceAccount" in reasons[f"CustomResourceDefinition/sprockets.{GROUP}"]


def test_reasons_do_not_depend_on_the_order_objects_were_listed_in() -> None:
    objects = [*operator(), gizmo("g2"), gizmo("g1")]
    objects.append(binding("ClusterRoleBinding", "also-binds", "operator-role", "shop/operator"))
    expected = plan(objects, namespaces=SHOP).reasons
    for seed in range(20):
        shuffled = objects[:]
        random.Random(seed).shuffle(shuffled)
        assert plan(shuffled, namespaces=SHOP).reasons == expected
    role = ObjectRef("rbac.authorization.k8s.io", "ClusterRole", "", "operator-role")
    assert expected[role] == "granted by ClusterRoleBinding also-binds"  # smaller name first


def test_every_exported_object_of_the_sample_app_has_a_one_line_reason() -> None:
    result = plan_export(sample_index(), SelectionRequest(namespaces=SHOP))
    assert set(result.reasons) == set(result.exported)
    assert all(reason and "\n" not in reason for reason in result.reasons.values())
    widgets = ObjectRef(
        "apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.com"
    )
    assert result.reasons[widgets] == "CRD of custom resource Widget.example.com shop/backoffice"
    volume = ObjectRef("", "PersistentVolume", "", "shop-uploads")
    assert result.reasons[volume] == "named by PersistentVolumeClaim shop/uploads"


def test_a_reason_names_an_object_the_bundle_keeps_before_one_it_leaves_out() -> None:
    result = plan_export(sample_index(), SelectionRequest(namespaces=SHOP))
    # The api Pod (left out: its ReplicaSet recreates it) sorts first, and names it too.
    priority = ObjectRef("scheduling.k8s.io", "PriorityClass", "", "shop-critical")
    assert result.reasons[priority] == "named by Deployment shop/api"
