"""Taking part of a bundle on the way in, between two real clusters.

Each test exports its own two namespaces (unique names) with cluster-scoped objects of
unique names from the source, imports part of the bundle into the destination, and proves
from the destination (not from kbundle's report alone) that nothing else was touched.
Everything it created is deleted from both clusters at the end.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kbundle.cluster import Cluster
from kbundle.core.errors import ExitCode
from testbed import ClusterUnderTest
from tests.cli import export, on, run_kbundle
from tests.kube import create, eventually, read, resource, unique_name

RBAC = "rbac.authorization.k8s.io/v1"


@dataclass(frozen=True)
class TwoNamespaces:
    """A bundle of namespaces ``a`` and ``b``; ``a``'s Deployment ``api`` runs with a
    priority class and a service account bound to a cluster role (all uniquely named)."""

    bundle: Path
    a: str
    b: str
    priority_class: str
    cluster_role: str
    cluster_role_binding: str

    @property
    def cluster_objects(self) -> set[str]:
        """The cluster-scoped objects ``a`` depends on, as report keys."""
        return {
            f"Namespace//{self.a}",
            f"PriorityClass//{self.priority_class}",
            f"ClusterRole//{self.cluster_role}",
            f"ClusterRoleBinding//{self.cluster_role_binding}",
        }


def _objects(names: TwoNamespaces) -> list[dict[str, Any]]:
    a, b = names.a, names.b
    labels = {"app": "api"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": a}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": b}},
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": names.priority_class},
            "value": 1000,
        },
        {
            "apiVersion": RBAC,
            "kind": "ClusterRole",
            "metadata": {"name": names.cluster_role},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        },
        {
            "apiVersion": RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": names.cluster_role_binding},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": names.cluster_role,
            },
            "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": a}],
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": a}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "api-config", "namespace": a},
            "data": {"MODE": "fast"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "api-secret", "namespace": a},
            "stringData": {"TOKEN": "not-a-real-token"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "unrelated", "namespace": a},
            "data": {"x": "y"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": a, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "api",
                        "priorityClassName": names.priority_class,
                        "containers": [
                            {
                                "name": "api",
                                "image": "registry.example/api:1",
                                "envFrom": [
                                    {"configMapRef": {"name": "api-config"}},
                                    {"secretRef": {"name": "api-secret"}},
                                ],
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "api", "namespace": a},
            "spec": {
                "selector": labels,
                "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "b-config", "namespace": b},
            "data": {"x": "y"},
        },
    ]


def _delete_everything(cluster: Cluster, names: TwoNamespaces) -> None:
    for api_version, kind, name in (
        ("v1", "Namespace", names.a),
        ("v1", "Namespace", names.b),
        ("scheduling.k8s.io/v1", "PriorityClass", names.priority_class),
        (RBAC, "ClusterRoleBinding", names.cluster_role_binding),
        (RBAC, "ClusterRole", names.cluster_role),
    ):
        cluster.delete(resource(cluster, {"apiVersion": api_version, "kind": kind}), name)


@pytest.fixture
def two_namespaces(
    source: Cluster,
    destination: Cluster,
    source_cluster: ClusterUnderTest,
    tmp_path: Path,
) -> Iterator[TwoNamespaces]:
    names = TwoNamespaces(
        bundle=tmp_path / "two.kbundle",
        a=unique_name("sel-a"),
        b=unique_name("sel-b"),
        priority_class=unique_name("sel-pc"),
        cluster_role=unique_name("sel-cr"),
        cluster_role_binding=unique_name("sel-crb"),
    )
    try:
        for obj in _objects(names):
            create(source, obj)
        export(source_cluster, names.bundle, "-n", names.a, "-n", names.b)
        yield names
    finally:
        _delete_everything(source, names)
        _delete_everything(destination, names)


def import_part(
    cluster: ClusterUnderTest, bundle: Path, *args: str
) -> tuple[subprocess.CompletedProcess[bytes], dict[str, Any]]:
    report = bundle.with_suffix(f".{unique_name('r')}.json")
    result = run_kbundle("import", str(bundle), *on(cluster), "--report", str(report), *args)
    return result, json.loads(report.read_text()) if report.exists() else {}


def reported(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{o['kind']}/{o['namespace'] or ''}/{o['name']}": o for o in report["objects"]}


def bundle_objects(bundle: Path, namespace: str) -> set[str]:
    """The bundle's objects in ``namespace``, read with kbundle render (offline)."""
    folder = bundle.parent / unique_name("rendered")
    result = run_kbundle("render", str(bundle), "-o", str(folder))
    assert result.returncode == 0, result.stderr.decode()
    found = set()
    for path in folder.iterdir():
        for obj in yaml.safe_load_all(path.read_text()):
            meta = obj["metadata"]
            if meta.get("namespace") == namespace:
                found.add(f"{obj['kind']}/{namespace}/{meta['name']}")
    return found


def exists(cluster: Cluster, api_version: str, kind: str, name: str, ns: str | None = None) -> bool:
    return read(cluster, api_version, kind, name, ns) is not None


def cluster_scoped_absent(destination: Cluster, names: TwoNamespaces) -> bool:
    return not any(
        (
            exists(destination, "scheduling.k8s.io/v1", "PriorityClass", names.priority_class),
            exists(destination, RBAC, "ClusterRole", names.cluster_role),
            exists(destination, RBAC, "ClusterRoleBinding", names.cluster_role_binding),
        )
    )


# -- the tests --------------------------------------------------------------------------------


def test_importing_one_namespace_of_two_touches_nothing_else(
    destination_cluster: ClusterUnderTest, destination: Cluster, two_namespaces: TwoNamespaces
) -> None:
    names = two_namespaces
    result, report = import_part(destination_cluster, names.bundle, "-n", names.a)
    assert result.returncode == 0, result.stderr.decode()
    in_a = bundle_objects(names.bundle, names.a)
    assert {f"Deployment/{names.a}/api", f"ConfigMap/{names.a}/unrelated"} <= in_a
    assert set(reported(report)) == in_a | names.cluster_objects
    # created, but the default ServiceAccount the destination's controller made first
    assert {o["action"] for o in report["objects"]} <= {"create", "unchanged"}
    assert reported(report)[f"Deployment/{names.a}/api"]["action"] == "create"
    assert not exists(destination, "v1", "Namespace", names.b)
    assert exists(destination, "v1", "ConfigMap", "unrelated", names.a)
    assert exists(destination, "scheduling.k8s.io/v1", "PriorityClass", names.priority_class)


def test_include_cluster_resources_false_creates_no_cluster_scoped_object(
    destination_cluster: ClusterUnderTest, destination: Cluster, two_namespaces: TwoNamespaces
) -> None:
    names = two_namespaces
    args = ("-n", names.a, "--include-cluster-resources", "false")
    result, report = import_part(destination_cluster, names.bundle, *args)
    assert result.returncode == ExitCode.PARTIAL, result.stderr.decode()
    objects = reported(report)
    assert objects and all(key.split("/")[1] == names.a for key in objects)
    assert {o["action"] for o in objects.values()} == {"fail"}
    assert all(
        f"namespace {names.a} does not exist, and --include-cluster-resources=false" in o["message"]
        for o in objects.values()
    )
    assert not exists(destination, "v1", "Namespace", names.a)
    assert cluster_scoped_absent(destination, names)

    create(destination, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": names.a}})
    eventually(
        lambda: (
            (read(destination, "v1", "Namespace", names.a) or {}).get("status", {}).get("phase")
            == "Active"
        ),
        what="the namespace made by hand to be Active",
    )
    result, report = import_part(destination_cluster, names.bundle, *args)
    assert result.returncode == 0, result.stderr.decode()
    assert set(reported(report)) == bundle_objects(names.bundle, names.a)
    assert cluster_scoped_absent(destination, names)
    assert not exists(destination, "v1", "Namespace", names.b)


def test_one_object_is_imported_with_what_it_depends_on(
    destination_cluster: ClusterUnderTest, destination: Cluster, two_namespaces: TwoNamespaces
) -> None:
    names = two_namespaces
    # "deploy" is a short name only the destination's discovery knows
    result, report = import_part(
        destination_cluster, names.bundle, "--object", "deploy/api", "-n", names.a
    )
    assert result.returncode == 0, result.stderr.decode()
    a = names.a
    assert set(reported(report)) == {
        f"Deployment/{a}/api",
        f"ConfigMap/{a}/api-config",
        f"Secret/{a}/api-secret",
        f"ServiceAccount/{a}/api",
        f"Service/{a}/api",
        *names.cluster_objects,
    }
    assert exists(destination, "apps/v1", "Deployment", "api", a)
    assert not exists(destination, "v1", "ConfigMap", "unrelated", a)
    assert not exists(destination, "v1", "Namespace", names.b)


def test_a_kind_typo_is_refused_before_any_object_is_read_or_sent(
    destination_cluster: ClusterUnderTest, destination: Cluster, two_namespaces: TwoNamespaces
) -> None:
    names = two_namespaces
    result, report = import_part(
        destination_cluster, names.bundle, "-n", names.a, "--include-kinds", "deploymnts"
    )
    assert result.returncode == ExitCode.USAGE
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and "--include-kinds deploymnts: no such kind in context" in lines[0]
    assert report == {}
    assert not exists(destination, "v1", "Namespace", names.a)


def test_render_with_a_selection_writes_only_those_objects(
    sample_bundle: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "rendered"
    result = run_kbundle(
        "render", str(sample_bundle), "-o", str(folder), "-n", "shop-ops",
        "--exclude-kinds", "customresourcedefinitions",
        "--map-namespace", "shop-ops=ops",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    rendered = [
        obj
        for path in sorted(folder.iterdir())
        for obj in yaml.safe_load_all(path.read_text())
        if obj
    ]
    assert rendered
    namespaces = {o["metadata"].get("namespace") for o in rendered}
    assert namespaces <= {"ops", None}
    assert {o["metadata"]["name"] for o in rendered if o["kind"] == "Namespace"} == {"ops"}
    assert not any(o["kind"] == "CustomResourceDefinition" for o in rendered)
    assert not any(o["kind"] == "Deployment" for o in rendered)  # those are all in shop
