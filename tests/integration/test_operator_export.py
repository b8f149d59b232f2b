"""An operator exported by namespace brings its CRDs, and the manifest says why.

The operator is the shape of most public installs: CRDs, a ServiceAccount, a ClusterRole
naming the CRDs' group and resources, a ClusterRoleBinding and a Deployment running as the
account; no custom resource exists yet, so nothing but the role points at the CRDs. Every
cluster-scoped name is unique and deleted at the end in both clusters: they are shared.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from kbundle.cluster import Cluster, KindNotServed
from testbed import ClusterUnderTest
from tests.cli import export, on, run_kbundle
from tests.kube import create, eventually, list_of, read, resource, unique_name
from tests.oracles import Object

RBAC = "rbac.authorization.k8s.io/v1"
CRD_API = "apiextensions.k8s.io/v1"
KINDS = {"gizmos": "Gizmo", "sprockets": "Sprocket"}


@dataclass(frozen=True)
class Operator:
    namespace: str
    group: str
    role: str
    binding: str

    @property
    def crds(self) -> list[str]:
        return [f"{plural}.{self.group}" for plural in KINDS]


def crd(group: str, plural: str, kind: str) -> Object:
    return {
        "apiVersion": CRD_API,
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def served(cluster: Cluster, api_version: str, kind: str) -> bool:
    return cluster.discovery(refresh=True).find(api_version, kind) is not None


def established(cluster: Cluster, name: str) -> bool:
    found = read(cluster, CRD_API, "CustomResourceDefinition", name) or {}
    conditions = (found.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def settled(cluster: Cluster, namespace: str) -> bool:
    """The Deployment has its Pod and every account its token: nothing left to change."""
    pods = list_of(cluster, "v1", "Pod", namespace)
    accounts = list_of(cluster, "v1", "ServiceAccount", namespace)
    return bool(pods) and len(accounts) == 2 and all(a.get("secrets") for a in accounts)


def install(source: Cluster, found: Operator) -> None:
    """CRDs, account, ClusterRole, binding, Deployment: and not one custom resource."""
    namespace = found.namespace
    for plural, kind in KINDS.items():
        create(source, crd(found.group, plural, kind))
    for kind in KINDS.values():
        eventually(partial(served, source, f"{found.group}/v1", kind), what=f"{kind} served")
    account = {"name": "operator", "namespace": namespace}
    create(source, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": account})
    verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]
    rules: list[dict[str, Any]] = [
        {"apiGroups": [found.group], "resources": ["gizmos", "gizmos/status"], "verbs": verbs},
        {"apiGroups": [found.group], "resources": ["sprockets/finalizers"], "verbs": verbs},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": verbs},  # built in
        {"apiGroups": [""], "resources": ["pods", "events", "configmaps"], "verbs": verbs},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": verbs},
    ]
    create(
        source,
        {
            "apiVersion": RBAC,
            "kind": "ClusterRole",
            "metadata": {"name": found.role},
            "rules": rules,
        },
    )
    create(
        source,
        {
            "apiVersion": RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": found.binding},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": found.role,
            },
            "subjects": [{"kind": "ServiceAccount", **account}],
        },
    )
    labels = {"app": "operator"}
    create(
        source,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "operator", "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "operator",
                        "containers": [{"name": "manager", "image": "example.com/operator:1"}],
                    },
                },
            },
        },
    )


def remove(cluster: Cluster, api_version: str, kind: str, name: str) -> None:
    with contextlib.suppress(KindNotServed):
        cluster.delete(resource(cluster, {"apiVersion": api_version, "kind": kind}), name)


def remove_operator(cluster: Cluster, operator: Operator, namespaces: list[str]) -> None:
    """Whatever of the operator is in ``cluster``, cluster-scoped objects and namespaces."""
    remove(cluster, RBAC, "ClusterRoleBinding", operator.binding)
    remove(cluster, RBAC, "ClusterRole", operator.role)
    for name in operator.crds:
        remove(cluster, CRD_API, "CustomResourceDefinition", name)
    for namespace in namespaces:
        remove(cluster, "v1", "Namespace", namespace)


@pytest.fixture()
def operator(
    source: Cluster, destination: Cluster, source_namespace: str
) -> Iterator[tuple[Operator, str]]:
    """The operator installed in the source; the namespace it is imported under. Removed from
    both clusters afterwards."""
    unique = unique_name("op")
    installed = Operator(
        source_namespace, f"{unique}.example.com", f"{unique}-manager", f"{unique}-binding"
    )
    target = unique_name("operator-copy")
    try:
        install(source, installed)
        yield installed, target
    finally:
        remove_operator(source, installed, [source_namespace])
        remove_operator(destination, installed, [target])


def test_an_operator_exported_by_namespace_brings_its_crds_and_says_why(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    operator: tuple[Operator, str],
    tmp_path: Path,
) -> None:
    installed, target = operator
    namespace = installed.namespace
    eventually(partial(settled, source, namespace), what="the operator's controllers to settle")
    epoch = {"SOURCE_DATE_EPOCH": "1767225600"}
    bundle = export(source_cluster, tmp_path / "operator.kbundle", "-n", namespace, env=epoch)
    export(source_cluster, tmp_path / "again.kbundle", "-n", namespace, env=epoch)
    assert (tmp_path / "operator.kbundle").read_bytes() == (tmp_path / "again.kbundle").read_bytes()

    crds = {
        o["metadata"]["name"] for o in bundle.objects() if o["kind"] == "CustomResourceDefinition"
    }
    assert crds == set(installed.crds)
    granted = (
        f"named by ClusterRole {installed.role}, bound to ServiceAccount {namespace}/operator "
        f"by ClusterRoleBinding {installed.binding}"
    )
    assert bundle.manifest["formatVersion"] == "1.2.0"
    assert bundle.manifest["clusterScoped"] == sorted(
        [
            {
                "kind": "CustomResourceDefinition.apiextensions.k8s.io",
                "name": name,
                "reason": granted,
            }
            for name in installed.crds
        ]
        + [
            {
                "kind": "ClusterRole.rbac.authorization.k8s.io",
                "name": installed.role,
                "reason": f"granted by ClusterRoleBinding {installed.binding}",
            },
            {
                "kind": "ClusterRoleBinding.rbac.authorization.k8s.io",
                "name": installed.binding,
                "reason": f"binding of ServiceAccount {namespace}/operator",
            },
            {"kind": "Namespace", "name": namespace, "reason": "namespace of the selection"},
        ],
        key=lambda e: (e["kind"], e["name"]),
    )
    # deployments.apps, leases.coordination.k8s.io... are named too, and are no CRD: no noise.
    assert [w for w in bundle.manifest["warnings"] if w["code"] == "missing-dependency"] == []

    inspected = run_kbundle("inspect", str(tmp_path / "operator.kbundle"))
    assert inspected.returncode == 0, inspected.stderr.decode()
    shown = " ".join(inspected.stdout.decode().split())  # rich wraps long lines
    assert f"CustomResourceDefinition.apiextensions.k8s.io {installed.crds[0]}: {granted}" in shown

    imported = run_kbundle(
        "import",
        str(tmp_path / "operator.kbundle"),
        *on(destination_cluster),
        "--map-namespace",
        f"{namespace}={target}",
    )
    assert imported.returncode == 0, imported.stderr.decode() + imported.stdout.decode()
    for name in installed.crds:
        eventually(
            partial(established, destination, name),
            what=f"CRD {name} to be established in the destination",
        )
    # The destination serves the kinds the operator watches, in the renamed namespace too.
    create(
        destination,
        {
            "apiVersion": f"{installed.group}/v1",
            "kind": "Gizmo",
            "metadata": {"name": "first", "namespace": target},
            "spec": {"size": 1},
        },
    )
    binding = read(destination, RBAC, "ClusterRoleBinding", installed.binding) or {}
    assert [(s["name"], s["namespace"]) for s in binding["subjects"]] == [("operator", target)]
    assert read(destination, "apps/v1", "Deployment", "operator", target) is not None
