"""A bundle reaches no further than it says, and inspect shows first how far that is.

Verify refuses namespaced objects outside the namespaces the manifest records; transform
records where --map-namespace moved them; inspect lists namespaces, cluster-scoped objects and
the objects that grant power, never a Secret's value.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kbundle.bundle.verify import verify_bundle
from kbundle.cli import app
from kbundle.core.errors import BundleFormatError
from kbundle.core.kinds import pod_spec
from kbundle.core.model import Object, SelectionInfo
from kbundle.core.reach import reach_of
from kbundle.transforms.spec import TransformSpec
from kbundle.verbs.transform import TransformOptions, transform
from kbundle.verbs.verify import InspectOptions, inspect
from tests.bundle_samples import (
    CANARY,
    CONFIGMAPS,
    NAMESPACES,
    SECRETS,
    write_bundle,
    write_encrypted_bundle,
)
from tests.listener import ConnectionCounter
from tests.objects import sample, sample_app

RBAC = "rbac.authorization.k8s.io/v1"
ADMISSION = "admissionregistration.k8s.io/v1"


def configmap(name: str, namespace: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"a": "b"},
    }


def write(path: Path, objects: list[Object], **manifest: Any) -> Path:
    write_bundle(path, [(6, "configuration", objects)], **manifest)
    return path


# -- verify: the namespaces the manifest records bound the objects --------------------------


def test_verify_refuses_the_first_object_outside_the_recorded_namespaces(tmp_path: Path) -> None:
    bundle = write(
        tmp_path / "b.kbundle",
        [configmap("a", "shop"), configmap("planted", "kube-system"), configmap("z", "other")],
        selection=SelectionInfo(namespaces=("shop",)),
    )
    with ConnectionCounter() as counter:
        with pytest.raises(BundleFormatError) as caught:
            verify_bundle(bundle, tmp_path / "work")
        assert counter.settled() == 0
    message = str(caught.value)
    assert "\n" not in message
    assert "ConfigMap kube-system/planted is in namespace kube-system" in message
    assert "outside the namespaces manifest.yaml records as selected (shop)" in message


def test_verify_accepts_any_namespace_when_the_manifest_says_all_namespaces(
    tmp_path: Path,
) -> None:
    bundle = write(
        tmp_path / "b.kbundle",
        [configmap("a", "shop"), configmap("b", "kube-system")],
        selection=SelectionInfo(all_namespaces=True),
    )
    assert verify_bundle(bundle, tmp_path / "work").manifest.total_objects == 2


def test_a_transformed_bundle_records_where_its_objects_now_are_and_verifies(
    tmp_path: Path,
) -> None:
    source = write(
        tmp_path / "in.kbundle",
        [configmap("a", "shop"), configmap("b", "shop-ops")],
        selection=SelectionInfo(namespaces=("shop", "shop-ops")),
    )
    result = transform(
        TransformOptions(
            bundle=source,
            output=tmp_path / "out.kbundle",
            transforms=(TransformSpec("map-namespace", {"mapping": {"shop": "shop-prod"}}),),
        )
    )
    assert result.manifest.selection.namespaces == ("shop-ops", "shop-prod")
    assert not result.manifest.selection.all_namespaces
    verified = verify_bundle(tmp_path / "out.kbundle", tmp_path / "work")
    assert verified.manifest.selection.namespaces == ("shop-ops", "shop-prod")


# -- inspect: what an import would touch ---------------------------------------------------


def powers_of(objects: list[Object]) -> dict[str, str]:
    return {str(power.ref): power.why for power in reach_of(objects).powers}


def binding(kind: str, role_kind: str, role: str, namespace: str | None = None) -> Object:
    metadata: dict[str, Any] = {"name": f"to-{role}"}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": RBAC,
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "shop"}],
    }


def role(kind: str, name: str, rules: list[dict[str, Any]], namespace: str | None = None) -> Object:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": RBAC, "kind": kind, "metadata": metadata, "rules": rules}


READ_PODS = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
ALL_VERBS = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}]
ALL_RESOURCES = [{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}]


def with_pod_spec(kind_name: tuple[str, str], change: dict[str, Any]) -> Object:
    obj = sample(*kind_name)
    found = pod_spec(obj)
    assert found is not None
    found[0].update(copy.deepcopy(change))
    return obj


def privileged(obj: Object) -> Object:
    found = pod_spec(obj)
    assert found is not None
    found[0]["containers"][0]["securityContext"] = {"privileged": True}
    return obj


@pytest.mark.parametrize(
    ("objects", "ref", "why"),
    [
        (
            [binding("ClusterRoleBinding", "ClusterRole", "cluster-admin")],
            "ClusterRoleBinding.rbac.authorization.k8s.io to-cluster-admin",
            "binds ClusterRole cluster-admin (every right on every object) to ServiceAccount "
            "shop/robot",
        ),
        (
            [binding("RoleBinding", "ClusterRole", "cluster-admin", "shop")],
            "RoleBinding.rbac.authorization.k8s.io shop/to-cluster-admin",
            "binds ClusterRole cluster-admin",
        ),
        (
            [
                role("Role", "secret-admin", ALL_VERBS, "shop"),
                binding("RoleBinding", "Role", "secret-admin", "shop"),
            ],
            "RoleBinding.rbac.authorization.k8s.io shop/to-secret-admin",
            "binds Role secret-admin (* verbs)",
        ),
        (
            [
                role("ClusterRole", "apps-reader", ALL_RESOURCES),
                binding("ClusterRoleBinding", "ClusterRole", "apps-reader"),
            ],
            "ClusterRoleBinding.rbac.authorization.k8s.io to-apps-reader",
            "binds ClusterRole apps-reader (* resources)",
        ),
        (
            [role("ClusterRole", "anything", ALL_VERBS + ALL_RESOURCES)],
            "ClusterRole.rbac.authorization.k8s.io anything",
            "allows * verbs and * resources",
        ),
        (
            [sample("ValidatingWebhookConfiguration", "shop-widget-guard")],
            "ValidatingWebhookConfiguration.admissionregistration.k8s.io shop-widget-guard",
            "validating admission webhook (1 webhook)",
        ),
        (
            [
                {
                    "apiVersion": ADMISSION,
                    "kind": "MutatingWebhookConfiguration",
                    "metadata": {"name": "inject"},
                    "webhooks": [{"name": "a.example.com"}, {"name": "b.example.com"}],
                }
            ],
            "MutatingWebhookConfiguration.admissionregistration.k8s.io inject",
            "mutating admission webhook (2 webhooks): may change the requests it matches",
        ),
        (
            [sample("CustomResourceDefinition", "widgets.example.com")],
            "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
            "defines Widget.example.com for the whole cluster",
        ),
        (
            [
                {
                    "apiVersion": "apiregistration.k8s.io/v1",
                    "kind": "APIService",
                    "metadata": {"name": "v1beta1.metrics.example.com"},
                    "spec": {
                        "group": "metrics.example.com",
                        "version": "v1beta1",
                        "service": {"name": "metrics", "namespace": "shop"},
                    },
                }
            ],
            "APIService.apiregistration.k8s.io v1beta1.metrics.example.com",
            "sends every request for API v1beta1.metrics.example.com to Service shop/metrics",
        ),
        (
            [privileged(sample("Deployment", "api"))],
            "Deployment.apps shop/api",
            "runs pods with privileged container api",
        ),
        (
            [sample("DaemonSet", "log-agent")],
            "DaemonSet.apps shop/log-agent",
            "runs pods with hostPath /var/log (volume varlog)",
        ),
        (
            [with_pod_spec(("Pod", "debug-shell"), {"hostNetwork": True, "hostPID": True})],
            "Pod shop/debug-shell",
            "runs pods with hostNetwork, hostPID",
        ),
        (
            [with_pod_spec(("CronJob", "nightly-report"), {"hostIPC": True})],
            "CronJob.batch shop/nightly-report",
            "runs pods with hostIPC",
        ),
        (
            [
                {
                    "apiVersion": "example.com/v1",
                    "kind": "Rollout",
                    "metadata": {"name": "r", "namespace": "shop"},
                    "spec": {
                        "template": {"spec": {"hostNetwork": True, "containers": [{"name": "c"}]}}
                    },
                }
            ],
            "Rollout.example.com shop/r",
            "runs pods with hostNetwork",
        ),
    ],
)
def test_inspect_names_each_kind_of_object_that_grants_power(
    objects: list[Object], ref: str, why: str
) -> None:
    powers = powers_of(objects)
    assert ref in powers, powers
    assert why in powers[ref]


def test_ordinary_objects_grant_no_power() -> None:
    objects = [
        role("Role", "pod-reader", READ_PODS, "shop"),
        binding("RoleBinding", "Role", "pod-reader", "shop"),
        binding("ClusterRoleBinding", "ClusterRole", "view"),  # not in the bundle: unknown
        sample("Deployment", "api"),
        sample("Secret", "db-credentials"),
        sample("Service", "api"),
    ]
    assert powers_of(objects) == {}


def test_inspect_lists_namespaces_and_cluster_scoped_objects_by_kind() -> None:
    reach = reach_of(sample_app())
    assert reach.namespaces == ("shop", "shop-ops")
    by_kind = dict(reach.cluster_scoped)
    assert by_kind["Namespace"] == ("shop", "shop-ops")
    assert by_kind["StorageClass.storage.k8s.io"] == ("shop-local",)
    assert sum(len(names) for names in by_kind.values()) == 10


def test_inspect_verifies_the_bundle_before_showing_anything(tmp_path: Path) -> None:
    bundle = write(
        tmp_path / "b.kbundle",
        [configmap("planted", "kube-system")],
        selection=SelectionInfo(namespaces=("shop",)),
    )
    with pytest.raises(BundleFormatError, match="outside the namespaces"):
        inspect(InspectOptions(bundle))


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_inspect_shows_the_reach_first_in_text_and_under_its_own_key_in_json(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "b.kbundle"
    write_bundle(
        bundle,
        [
            (0, "namespaces", NAMESPACES),
            (5, "identity", [binding("ClusterRoleBinding", "ClusterRole", "cluster-admin")]),
            (6, "configuration", [*CONFIGMAPS, *SECRETS]),
        ],
    )
    code, text, _ = run(["inspect", str(bundle)])
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "an import would touch:"
    assert "  namespaces (1): shop" in lines
    assert "    Namespace (1): shop" in lines
    assert any("to-cluster-admin: binds ClusterRole cluster-admin" in line for line in lines)
    assert text.index("an import would touch") < text.index("kbundle format")
    code, data, _ = run(["inspect", str(bundle), "--output", "json"])
    document = json.loads(data)
    assert document["kind"] == "KbundleManifest" and "files" in document
    assert document["reach"]["namespaces"] == ["shop"]
    assert document["reach"]["powers"][0]["name"] == "to-cluster-admin"


@pytest.mark.parametrize("encrypted", [False, True])
def test_inspect_never_shows_a_secret_value(tmp_path: Path, encrypted: bool) -> None:
    bundle = tmp_path / "b.kbundle"
    if encrypted:
        write_encrypted_bundle(bundle, b"a passphrase")
    else:
        write_bundle(bundle, [(0, "namespaces", NAMESPACES), (6, "configuration", SECRETS)])
    for extra in ([], ["--output", "json"]):
        code, out, err = run(["inspect", str(bundle), *extra])
        assert code == 0, err
        assert CANARY not in out + err
        assert "Secret" in out  # the Secret is counted and its namespace shown, its data never
