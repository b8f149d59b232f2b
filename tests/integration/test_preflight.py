"""`kbundle preflight` on the real destination: one prepared problem per test, each proven
by its finding (code, severity, objects, way out) and by a clean case without it. Everything
cluster-wide a test creates has a unique name, is scoped to the test's own namespaces and is
deleted at the end; preflight itself is proven to write nothing.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest

from kbundle.apply.options import ApplyOptions
from kbundle.bundle.trust import TrustPolicy
from kbundle.cluster import ApiError, Cluster
from kbundle.core.errors import ExitCode
from kbundle.core.model import Object, ObjectRef
from kbundle.core.scratch import scratch_folder
from kbundle.preflight.addresses import widest_service_range
from kbundle.preflight.gate import PreflightBlocked, check_before_import
from kbundle.preflight.mode import PreflightMode
from kbundle.preflight.model import Code, Finding, PreflightReport, Severity
from kbundle.transforms.base import TransformContext
from kbundle.transforms.spec import TransformSpec
from kbundle.verbs.common import ClusterTarget, ready_bundle
from kbundle.verbs.importing import transformed_levels
from kbundle.verbs.preflight import PreflightOptions, preflight
from testbed import ClusterUnderTest
from testbed.clusters import service_cidr
from tests.cli import export, on, run_kbundle
from tests.integration.test_faults import service_account_kubeconfig
from tests.kube import create, eventually, list_of, meta, read, resource, unique_name
from tests.oracles import open_bundle

ADMISSION = "admissionregistration.k8s.io/v1"
CANARY = "hunter2-preflight-never-shows-this"
CRDS = "apiextensions.k8s.io/v1"


# -- helpers ---------------------------------------------------------------------------------


def run_preflight(
    cluster: ClusterUnderTest,
    bundle: Path,
    *transforms: TransformSpec,
    connection: tuple[str, str] | None = None,
) -> PreflightReport:
    """`kbundle preflight` through the Python API; its exit code follows the blockers."""
    kubeconfig, context = connection or (str(cluster.kubeconfig), cluster.context)
    result = preflight(
        PreflightOptions(
            bundle=bundle,
            cluster=ClusterTarget(kubeconfig, context),
            transforms=transforms,
        )
    )
    expected = ExitCode.FAILED if result.report.blockers else ExitCode.OK
    assert result.exit_code == expected
    return result.report


def found(report: PreflightReport, code: Code) -> list[Finding]:
    return [f for f in report.findings if f.code is code]


def renamed(old: str, new: str) -> TransformSpec:
    return TransformSpec("map-namespace", {"mapping": {old: new}})


def namespace(cluster: Cluster, labels: dict[str, str] | None = None) -> str:
    name = unique_name("pf")
    create(
        cluster,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, labels=labels or {})},
    )
    return name


def config_map(name: str, namespace: str, **data: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(name, namespace),
        "data": data,
    }


def deployment(name: str, namespace: str, pod: dict[str, Any], replicas: int = 1) -> Object:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, namespace),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def ref(kind: str, namespace: str, name: str, group: str = "") -> ObjectRef:
    return ObjectRef(group, kind, namespace, name)


@contextmanager
def deleted_afterwards(cluster: Cluster, obj: Object) -> Iterator[Object]:
    """A cluster-scoped object that exists for one test only."""
    stored = create(cluster, obj)
    try:
        yield stored
    finally:
        cluster.delete(resource(cluster, obj), obj["metadata"]["name"])


def versions_of(cluster: Cluster, namespace: str) -> dict[str, str]:
    """Every object in ``namespace`` of the kinds the tests use, with its resourceVersion, or
    its generation where it has one (controllers write a workload's status meanwhile).
    What the namespace's own controllers make (the root CA ConfigMap, token Secrets) arrives
    on their schedule, possibly mid-test, and is left out."""
    found_versions = {}
    for api_version, kind in (
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Service"),
        ("v1", "PersistentVolumeClaim"),
        ("apps/v1", "Deployment"),
        ("v1", "ResourceQuota"),
    ):
        for obj in list_of(cluster, api_version, kind, namespace):
            if obj["metadata"]["name"] == "kube-root-ca.crt" or (
                obj.get("type") == "kubernetes.io/service-account-token"
            ):
                continue
            key = f"{kind}/{obj['metadata']['name']}"
            meta = obj["metadata"]
            found_versions[key] = str(meta.get("generation") or meta["resourceVersion"])
    return found_versions


def secret(name: str, namespace: str, password: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta(name, namespace),
        "stringData": {"password": password},
    }


def claim(name: str, namespace: str, storage_class: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(name, namespace),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }


def node_port_service(name: str, namespace: str, port: int) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, namespace),
        "spec": {
            "type": "NodePort",
            "selector": {"app": name},
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": port}],
        },
    }


def free_node_port(cluster: Cluster, name: str, namespace: str) -> Object:
    """A NodePort Service on a port no one holds (others share these clusters)."""
    for _ in range(20):
        try:
            return create(cluster, node_port_service(name, namespace, random.randint(30000, 32767)))
        except ApiError as error:
            if "already allocated" not in error.server_message:
                raise
    raise AssertionError("no free nodePort after 20 tries")


# -- classes ---------------------------------------------------------------------------------


def test_a_claim_naming_a_storage_class_neither_side_has_is_a_blocker_unless_the_bundle_has_it(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    storage_class = unique_name("fancy")
    create(source, claim("data", source_namespace, storage_class))
    without = tmp_path / "without.kbundle"
    export(source_cluster, without, "-n", source_namespace)

    report = run_preflight(destination_cluster, without)
    [finding] = found(report, Code.STORAGE_CLASS_MISSING)
    assert finding.severity is Severity.BLOCKER
    assert finding.objects == (ref("PersistentVolumeClaim", source_namespace, "data"),)
    assert f"StorageClass {storage_class} is in neither the destination nor the bundle" in (
        finding.message
    )
    assert f"--map-storage-class {storage_class}=NAME" in finding.way_out

    with deleted_afterwards(
        source,
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": meta(storage_class),
            "provisioner": "kubernetes.io/no-provisioner",
        },
    ):
        carried = tmp_path / "with.kbundle"
        export(source_cluster, carried, "-n", source_namespace)
    assert found(run_preflight(destination_cluster, carried), Code.STORAGE_CLASS_MISSING) == []


# -- kinds -----------------------------------------------------------------------------------


def gadget_crd(group: str, version: str) -> Object:
    return {
        "apiVersion": CRDS,
        "kind": "CustomResourceDefinition",
        "metadata": meta(f"gadgets.{group}"),
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {
                    "name": version,
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


def test_a_kind_the_destination_does_not_serve_is_a_blocker_naming_what_it_serves_instead(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    group = f"{unique_name('g')}.example.org"
    gadget = ref("Gadget", source_namespace, "g1", group)
    with deleted_afterwards(source, gadget_crd(group, "v1")):
        eventually(
            lambda: source.discovery(refresh=True).find(f"{group}/v1", "Gadget"),
            what="the CRD to be served",
        )
        create(
            source,
            {
                "apiVersion": f"{group}/v1",
                "kind": "Gadget",
                "metadata": meta("g1", source_namespace),
                "spec": {"a": 1},
            },
        )
        bare = tmp_path / "bare.kbundle"
        export(source_cluster, bare, "-n", source_namespace, "--include-cluster-resources=false")
        carried = tmp_path / "carried.kbundle"
        export(source_cluster, carried, "-n", source_namespace)

    [finding] = found(run_preflight(destination_cluster, bare), Code.KIND_NOT_SERVED)
    assert finding.severity is Severity.BLOCKER
    assert finding.objects == (gadget,)
    assert f"Gadget {group}/v1 is not served: the destination does not serve group {group}" in (
        finding.message
    )
    assert "install the CRD that serves Gadget." in finding.way_out

    with deleted_afterwards(destination, gadget_crd(group, "v2")):
        eventually(
            lambda: destination.discovery(refresh=True).find(f"{group}/v2", "Gadget"),
            what="the destination's CRD to be served",
        )
        [finding] = found(run_preflight(destination_cluster, bare), Code.KIND_NOT_SERVED)
        assert f"the destination serves Gadget.{group} at v2 only" in finding.message

    assert found(run_preflight(destination_cluster, carried), Code.KIND_NOT_SERVED) == []


# -- references ------------------------------------------------------------------------------


def test_config_maps_secrets_and_service_accounts_neither_side_has_are_warnings(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    """Warnings, not blockers: every object is still accepted, the pods wait until what they
    name exists, and it is often made after a restore by its own tool."""
    create(source, config_map("carried", source_namespace, a="1"))
    pod = {
        "serviceAccountName": "robot",
        "containers": [
            {
                "name": "app",
                "image": "registry.example/app:1",
                "envFrom": [
                    {"configMapRef": {"name": "carried"}},
                    {"configMapRef": {"name": "made-there"}},
                    {"secretRef": {"name": "maybe", "optional": True}},
                ],
                "env": [
                    {
                        "name": "PASSWORD",
                        "valueFrom": {"secretKeyRef": {"name": "credentials", "key": "pw"}},
                    }
                ],
            }
        ],
    }
    create(source, deployment("api", source_namespace, pod))
    bundle = tmp_path / "refs.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    target = namespace(destination)
    create(destination, config_map("made-there", target, b="2"))

    report = run_preflight(destination_cluster, bundle, renamed(source_namespace, target))
    missing = {
        f.message.split(" is in neither")[0]: f for f in found(report, Code.REFERENCE_MISSING)
    }
    assert set(missing) == {f"Secret {target}/credentials", f"ServiceAccount {target}/robot"}
    api = ref("Deployment", target, "api", "apps")
    for finding in missing.values():
        assert finding.severity is Severity.WARNING
        assert finding.objects == (api,)
        assert f"in namespace {target} before the pods start" in finding.way_out
    assert not report.blockers


# -- webhooks --------------------------------------------------------------------------------


def test_a_fail_closed_webhook_without_endpoints_blocks_the_writes_it_matches(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    for name in ("one", "two"):
        create(source, config_map(name, source_namespace, a=name))
    bundle = tmp_path / "webhooked.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    marker = unique_name("guarded")
    guarded = namespace(destination, {"kbundle-preflight": marker})
    create(
        destination,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("nobody", guarded),
            "spec": {"ports": [{"port": 443, "protocol": "TCP"}]},
        },
    )
    name = unique_name("deny")
    webhook = {
        "apiVersion": ADMISSION,
        "kind": "ValidatingWebhookConfiguration",
        "metadata": meta(name),
        "webhooks": [
            {
                "name": f"{name}.preflight.example.org",
                "clientConfig": {"service": {"namespace": guarded, "name": "nobody", "port": 443}},
                "rules": [
                    {
                        "operations": ["CREATE", "UPDATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["configmaps"],
                    }
                ],
                "namespaceSelector": {"matchLabels": {"kbundle-preflight": marker}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 5,
            }
        ],
    }

    def refused() -> str | None:
        try:
            create(destination, config_map(unique_name("probe"), guarded))
        except ApiError as error:
            return error.server_message
        return None

    with deleted_afterwards(destination, webhook):
        refusal = eventually(refused, timeout=30, what="the webhook to refuse writes")
        assert "failed calling webhook" in refusal  # the trap is real
        report = run_preflight(destination_cluster, bundle, renamed(source_namespace, guarded))
        [finding] = found(report, Code.WEBHOOK_UNAVAILABLE)
        elsewhere = run_preflight(
            destination_cluster, bundle, renamed(source_namespace, unique_name("free"))
        )

    assert finding.severity is Severity.BLOCKER
    assert finding.objects == (
        ref("ConfigMap", guarded, "one"),
        ref("ConfigMap", guarded, "two"),
    )
    assert f"validating webhook {name}.preflight.example.org" in finding.message
    assert f"its Service {guarded}/nobody has no ready endpoints" in finding.message
    assert f"ValidatingWebhookConfiguration {name}" in finding.way_out
    assert found(elsewhere, Code.WEBHOOK_UNAVAILABLE) == []


# -- quotas ----------------------------------------------------------------------------------


def test_a_quota_the_bundle_would_exceed_is_a_blocker(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    names = ["c1", "c2", "c3"]
    for name in names:
        create(source, config_map(name, source_namespace))
    bundle = tmp_path / "three.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    target = namespace(destination)
    quota: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": meta("counts", target),
        "spec": {"hard": {"count/configmaps": "100"}},
    }
    create(destination, quota)

    def there() -> int | None:
        """The ConfigMaps the namespace has before the import (its kube-root-ca.crt): what
        the quota counts, by its controller or, until that has counted, by preflight."""
        return len(list_of(destination, "v1", "ConfigMap", target)) or None

    already = int(eventually(there, what="the namespace's kube-root-ca.crt"))
    quotas = resource(destination, quota)

    def limit(hard: int) -> PreflightReport:
        quota["spec"]["hard"]["count/configmaps"] = str(hard)
        destination.apply(quotas, quota, field_manager="kbundle-tests", force=True)
        return run_preflight(destination_cluster, bundle, renamed(source_namespace, target))

    [finding] = found(limit(already + 2), Code.QUOTA_EXCEEDED)
    assert finding.severity is Severity.BLOCKER
    assert finding.objects == tuple(ref("ConfigMap", target, n) for n in names)
    assert (
        f"ResourceQuota {target}/counts: count/configmaps would reach {already + 3}, over its "
        f"hard limit {already + 2} ({already} used + 3 from the bundle)"
    ) in finding.message
    assert f"raise count/configmaps of ResourceQuota {target}/counts" in finding.way_out
    assert found(limit(already + 3), Code.QUOTA_EXCEEDED) == []


# -- access ----------------------------------------------------------------------------------


def test_a_user_limited_to_one_namespace_gets_each_denied_verb_per_kind_and_namespace(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    tmp_path: Path,
) -> None:
    sources = [namespace(source), namespace(source)]
    for name in sources:
        create(source, config_map("settings", name, a="1"))
    bundle = tmp_path / "two.kbundle"
    export(source_cluster, bundle, "-n", sources[0], "-n", sources[1])
    allowed, forbidden = namespace(destination), namespace(destination)
    user = service_account_kubeconfig(
        destination,
        destination_cluster,
        tmp_path / "one-namespace.kubeconfig",
        allowed,
        cluster_role="admin",
        everywhere=False,
    )

    report = run_preflight(
        destination_cluster,
        bundle,
        renamed(sources[0], allowed),
        renamed(sources[1], forbidden),
        connection=(user[1], user[3]),
    )
    denied = {f.objects: f for f in found(report, Code.ACCESS_DENIED)}
    kinds: dict[str, list[ObjectRef]] = {}  # each kind the bundle brings to the forbidden one
    for obj in open_bundle(bundle).objects():
        if obj["metadata"].get("namespace") == sources[1]:
            kinds.setdefault(obj["kind"], []).append(
                ref(obj["kind"], forbidden, obj["metadata"]["name"])
            )
    assert {"ConfigMap", "ServiceAccount"} <= set(kinds)
    namespaces = (ref("Namespace", "", forbidden),)
    assert set(denied) == {tuple(sorted(refs)) for refs in kinds.values()} | {namespaces}
    for kind, refs in kinds.items():
        finding = denied[tuple(sorted(refs))]
        assert finding.message.startswith(
            f"the current user may not get, list, create, patch {kind} in namespace {forbidden}"
        )
        assert f"(a Role and RoleBinding in namespace {forbidden})" in finding.way_out
    assert denied[namespaces].message.startswith(
        f"the current user may not get, create, patch Namespace {forbidden}"
    )
    for finding in denied.values():
        assert finding.severity is Severity.BLOCKER
        assert "or import as a user who has them" in finding.way_out
    assert not any(allowed in str(f.objects) for f in report.blockers)


# -- field managers --------------------------------------------------------------------------


def test_replicas_another_manager_set_are_a_conflict_naming_it_with_both_ways_out(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    create(source, config_map("settings", source_namespace, mode="blue"))
    create(
        source,
        deployment("web", source_namespace, {"containers": [{"name": "w", "image": "w:1"}]}, 2),
    )
    bundle = tmp_path / "web.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    result = run_kbundle("import", str(bundle), *on(destination_cluster))
    assert result.returncode == 0, result.stderr.decode()
    assert found(run_preflight(destination_cluster, bundle), Code.FIELD_CONFLICT) == []

    web = read(destination, "apps/v1", "Deployment", "web", source_namespace)
    assert web is not None
    destination.apply(
        resource(destination, web),
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": source_namespace},
            "spec": {"replicas": 5},
        },
        field_manager="other-tool",
        force=True,
    )
    before = versions_of(destination, source_namespace)
    thorough = run_preflight(destination_cluster, bundle)
    quick = quick_report(destination, bundle)

    web_ref = ref("Deployment", source_namespace, "web", "apps")
    for report in (thorough, quick):
        [finding] = found(report, Code.FIELD_CONFLICT)
        assert finding.severity is Severity.BLOCKER
        assert finding.objects == (web_ref,)
        assert '"other-tool" owns .spec.replicas' in finding.message
        assert "--force-conflicts" in finding.way_out and "--existing skip" in finding.way_out
    assert versions_of(destination, source_namespace) == before  # preflight wrote nothing

    with pytest.raises(PreflightBlocked, match=r'"other-tool" owns \.spec\.replicas'):
        gate(destination, bundle, PreflightMode.STRICT)
    assert gate(destination, bundle, PreflightMode.OFF) is None
    taking_over = gate(
        destination, bundle, PreflightMode.STRICT, ApplyOptions(force_conflicts=True)
    )
    assert taking_over is not None and found(taking_over, Code.FIELD_CONFLICT) == []


def quick_report(cluster: Cluster, bundle: Path) -> PreflightReport:
    report = gate(cluster, bundle, PreflightMode.WARN)
    assert report is not None and not report.thorough
    return report


def gate(
    cluster: Cluster,
    bundle: Path,
    mode: PreflightMode,
    apply: ApplyOptions = ApplyOptions(),
) -> PreflightReport | None:
    """What `import --preflight=MODE` runs before its first write."""
    with scratch_folder("kbundle-test-") as work:
        ready = ready_bundle(bundle, work, TrustPolicy())
        context = TransformContext(manifest=ready.bundle.manifest, discovery=cluster.discovery())
        levels, _ = transformed_levels(ready, (), context)
        return check_before_import(cluster, levels, apply, mode)


def test_a_namespace_moved_back_after_edits_elsewhere_names_the_manager_and_fields(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    """What Knative's migration plugin does: a namespace goes to the destination, is edited
    there, and comes back to the source, which still has the original objects, owned by the
    manager that made them there."""
    create(source, config_map("settings", source_namespace, mode="blue"))
    create(
        source,
        deployment("web", source_namespace, {"containers": [{"name": "w", "image": "w:1"}]}, 2),
    )
    there = tmp_path / "there.kbundle"
    export(source_cluster, there, "-n", source_namespace)
    result = run_kbundle("import", str(there), *on(destination_cluster))
    assert result.returncode == 0, result.stderr.decode()
    deployments = destination.discovery().preferred_for("apps", "Deployment")
    assert deployments is not None
    destination.apply(
        deployments,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": source_namespace},
            "spec": {"replicas": 4},
        },
        field_manager="kubectl-edit",
        force=True,
    )
    back = tmp_path / "back.kbundle"
    export(destination_cluster, back, "-n", source_namespace)

    report = run_preflight(source_cluster, back)
    [finding] = found(report, Code.FIELD_CONFLICT)  # not the ConfigMap: it did not change
    assert finding.severity is Severity.BLOCKER
    assert finding.objects == (ref("Deployment", source_namespace, "web", "apps"),)
    assert '"kbundle-tests" owns .spec.replicas' in finding.message
    assert "--force-conflicts" in finding.way_out and "--existing skip" in finding.way_out


# -- addresses -------------------------------------------------------------------------------


def test_a_node_port_taken_in_the_destination_is_a_blocker_naming_its_holder(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    taken = free_node_port(source, "edge", source_namespace)["spec"]["ports"][0]["nodePort"]
    free = free_node_port(source, "side", source_namespace)["spec"]["ports"][0]["nodePort"]
    bundle = tmp_path / "ports.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    holder_namespace = namespace(destination)
    create(destination, node_port_service("holder", holder_namespace, taken))

    report = run_preflight(destination_cluster, bundle)
    [finding] = found(report, Code.NODE_PORT_TAKEN)
    assert finding.severity is Severity.BLOCKER
    assert finding.objects == (ref("Service", source_namespace, "edge"),)
    assert (
        f"asks for nodePort {taken}, which Service {holder_namespace}/holder already has"
        in finding.message
    )
    assert f"free nodePort {taken} in the destination first" in finding.way_out
    assert "--remove-field spec.ports[*].nodePort" in finding.way_out
    side = ref("Service", source_namespace, "side")
    assert all(side not in f.objects for f in report.blockers), free


def test_a_cluster_ip_kept_outside_the_destination_range_is_a_blocker(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    service = create(
        source,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("db", source_namespace),
            "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432, "protocol": "TCP"}]},
        },
    )
    bundle = tmp_path / "ip.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    source_range = ip_network(service_cidr("source"))
    elsewhere = ip_network(f"10.200.0.0/{source_range.prefixlen}")
    destination_range = ip_network(service_cidr("destination"))
    widest = widest_service_range(str(destination_range.network_address + 1))
    assert not elsewhere.overlaps(widest)

    def mapped(to: str) -> PreflightReport:
        spec = TransformSpec("map-ip", {"mapping": {str(source_range): to}})
        return run_preflight(destination_cluster, bundle, spec)

    [finding] = found(mapped(str(elsewhere)), Code.CLUSTER_IP_OUT_OF_RANGE)
    offset = int(ip_address(service["spec"]["clusterIP"])) - int(source_range.network_address)
    kept = elsewhere.network_address + offset
    assert finding.severity is Severity.BLOCKER
    assert finding.objects == (ref("Service", source_namespace, "db"),)
    assert f"keeps cluster IP {kept}, outside the destination's service range" in finding.message
    assert "--map-ip" in finding.way_out
    assert found(mapped(str(destination_range)), Code.CLUSTER_IP_OUT_OF_RANGE) == []
    assert found(run_preflight(destination_cluster, bundle), Code.CLUSTER_IP_OUT_OF_RANGE) == []


# -- no write --------------------------------------------------------------------------------


def test_preflight_writes_nothing_to_the_destination(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    """New objects, objects that differ, a namespace the import would create: after a
    thorough preflight (a server dry run of each), every resourceVersion is as it was and
    nothing new exists. A Secret in conflict is named, its values never."""
    for name in ("kept", "changed", "new"):
        create(source, config_map(name, source_namespace, mode="blue"))
    create(source, secret("creds", source_namespace, CANARY))
    create(source, claim("data", source_namespace, unique_name("sc")))
    bundle = tmp_path / "mixed.kbundle"
    export(source_cluster, bundle, "-n", source_namespace, "--include-cluster-resources=false")
    existing = namespace(destination)
    create(destination, config_map("kept", existing, mode="blue"))
    create(destination, config_map("changed", existing, mode="red"))
    create(destination, secret("creds", existing, "another-value-also-never-shown"))
    before = versions_of(destination, existing)
    fresh = unique_name("fresh")

    report = run_preflight(destination_cluster, bundle, renamed(source_namespace, existing))
    run_preflight(destination_cluster, bundle, renamed(source_namespace, fresh))

    assert versions_of(destination, existing) == before
    assert read(destination, "v1", "ConfigMap", "new", existing) is None
    assert read(destination, "v1", "Namespace", fresh) is None
    conflicts = {f.objects: f for f in found(report, Code.FIELD_CONFLICT)}  # a dry run ran
    changed, creds = (ref("ConfigMap", existing, "changed"),), (ref("Secret", existing, "creds"),)
    assert set(conflicts) == {changed, creds}
    assert '"kbundle-tests" owns .data.mode' in conflicts[changed].message
    assert '"kbundle-tests" owns .data.password' in conflicts[creds].message
    shown = json.dumps(report.to_dict()) + "\n".join(report.lines())
    for value in (CANARY, base64.b64encode(CANARY.encode()).decode(), "another-value"):
        assert value not in shown
