"""Preflight's pure parts: findings and their rendering, quota arithmetic, webhook rule
matching, service ranges, access severities, references, and the server's refusals read as
findings; and that preflight, like import, sends nothing for a bundle whose Secrets are sealed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from ipaddress import ip_network
from pathlib import Path
from typing import Any, cast

import pytest

from kbundle.apply.engine import LevelObjects
from kbundle.apply.options import ApplyOptions
from kbundle.bundle.trust import TrustPolicy, accept_bundle
from kbundle.cluster import ApiError, ApiResource, Cluster, open_cluster
from kbundle.core.errors import ExitCode, UsageError
from kbundle.core.model import ObjectRef
from kbundle.core.spool import ObjectSpool
from kbundle.preflight.access import severity_of
from kbundle.preflight.addresses import fixed_ips, node_ports, widest_service_range
from kbundle.preflight.conflicts import classify
from kbundle.preflight.gate import PreflightBlocked, check_before_import
from kbundle.preflight.grants import grants_not_served
from kbundle.preflight.mode import PreflightMode
from kbundle.preflight.model import (
    Code,
    Finding,
    PreflightReport,
    Severity,
    named,
)
from kbundle.preflight.quotas import charges, exceeded, quantity
from kbundle.preflight.references import references_of
from kbundle.preflight.runner import run_preflight
from kbundle.preflight.scene import Bundled, KindInfo, kinds_of
from kbundle.preflight.webhooks import Write, rule_matches, webhook_matches
from kbundle.verbs.preflight import PreflightResult
from tests.bundle_samples import write_encrypted_bundle
from tests.listener import ConnectionCounter, write_counting_kubeconfig

WEB = ObjectRef("apps", "Deployment", "shop", "web")
WEB_OBJECT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
}
DATA = ObjectRef("", "PersistentVolumeClaim", "shop", "data")


# -- findings --------------------------------------------------------------------------------


def test_a_finding_is_one_line_naming_the_culprit_then_the_way_out() -> None:
    finding = Finding(
        Code.STORAGE_CLASS_MISSING,
        Severity.BLOCKER,
        "StorageClass fast is in neither the destination nor the bundle",
        (DATA,),
        "--map-storage-class fast=NAME",
    )
    assert finding.text() == (
        "blocker: StorageClass fast is in neither the destination nor the bundle; "
        "--map-storage-class fast=NAME"
    )
    assert "\n" not in finding.text()
    assert finding.to_dict() == {
        "code": "storage-class-missing",
        "severity": "blocker",
        "message": "StorageClass fast is in neither the destination nor the bundle",
        "wayOut": "--map-storage-class fast=NAME",
        "objects": [
            {"group": "", "kind": "PersistentVolumeClaim", "namespace": "shop", "name": "data"}
        ],
    }


def test_a_report_puts_blockers_first_what_was_not_checked_last_and_each_finding_once() -> None:
    unchecked = Finding(Code.NOT_CHECKED, Severity.WARNING, "webhooks not checked: 403")
    warning = Finding(Code.REFERENCE_MISSING, Severity.WARNING, "Secret shop/a is missing")
    blocker = Finding(Code.QUOTA_EXCEEDED, Severity.BLOCKER, "ResourceQuota shop/q", (WEB,))
    report = PreflightReport.of([unchecked, warning, blocker, warning], thorough=False)
    assert report.findings == (blocker, warning, unchecked)
    assert report.blockers == [blocker] and not report.ok
    assert report.lines()[0].startswith("blocker: ResourceQuota shop/q")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["totals"] == {"blocker": 1, "warning": 2} and data["thorough"] is False
    assert [f["code"] for f in data["findings"]] == [
        "quota-exceeded",
        "reference-missing",
        "not-checked",
    ]


def test_exit_code_is_one_with_blockers_and_zero_without() -> None:
    warning = Finding(Code.SCHEDULER_UNKNOWN, Severity.WARNING, "scheduler x")
    blocker = Finding(Code.ACCESS_DENIED, Severity.BLOCKER, "may not create")
    assert PreflightResult(PreflightReport.of([warning], thorough=True), "c").exit_code == 0
    failed = PreflightResult(PreflightReport.of([warning, blocker], thorough=True), "c")
    assert failed.exit_code == ExitCode.FAILED and int(failed.exit_code) == 1


def test_messages_name_three_objects_then_how_many_more() -> None:
    refs = [ObjectRef("", "ConfigMap", "shop", f"c{n}") for n in range(5)]
    assert named(refs) == ("ConfigMap shop/c0, ConfigMap shop/c1, ConfigMap shop/c2 and 2 more")
    assert named(refs[:1]) == "ConfigMap shop/c0"


def test_strict_mode_stops_with_the_first_blocker_in_one_line() -> None:
    blockers = [
        Finding(Code.ACCESS_DENIED, Severity.BLOCKER, "the current user may not patch X", (WEB,)),
        Finding(Code.QUOTA_EXCEEDED, Severity.BLOCKER, "ResourceQuota shop/q: over", (DATA,)),
    ]
    error = PreflightBlocked(PreflightReport.of(blockers, thorough=False))
    assert error.message == (
        "preflight: the current user may not patch X (and 1 more blockers); nothing was applied"
    )
    assert error.exit_code == ExitCode.FAILED
    assert len(error.report.blockers) == 2


def test_preflight_off_sends_nothing() -> None:
    cluster = cast(Cluster, object())  # any request would fail on this
    assert check_before_import(cluster, [], ApplyOptions(), PreflightMode.OFF) is None


# -- quotas ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", Fraction(3)),
        ("500m", Fraction(1, 2)),
        ("1Gi", Fraction(2**30)),
        ("1.5k", Fraction(1500)),
        ("2e3", Fraction(2000)),
        ("1E", Fraction(10**18)),
        (7, Fraction(7)),
    ],
)
def test_quantities_read_as_kubernetes_writes_them(text: object, value: Fraction) -> None:
    assert quantity(text) == value


@pytest.mark.parametrize("text", ["", "ten", "1Zi", "1e3k"])
def test_a_malformed_quantity_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        quantity(text)


def kind(group: str, kind_name: str, plural: str) -> KindInfo:
    return KindInfo(group, "v1", kind_name, plural, True, None)


def test_a_new_object_charges_its_counts_node_ports_and_storage() -> None:
    assert charges({"kind": "ConfigMap"}, kind("", "ConfigMap", "configmaps")) == {
        "count/configmaps": 1,
        "configmaps": 1,
    }
    assert charges({}, kind("apps", "Deployment", "deployments")) == {"count/deployments.apps": 1}
    service = {"spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}}
    assert charges(service, kind("", "Service", "services")) == {
        "count/services": 1,
        "services": 1,
        "services.nodeports": 2,
        "services.loadbalancers": 1,
    }
    claim = {"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "2Gi"}}}}
    assert charges(claim, kind("", "PersistentVolumeClaim", "persistentvolumeclaims")) == {
        "count/persistentvolumeclaims": 1,
        "persistentvolumeclaims": 1,
        "requests.storage": 2 * 2**30,
        "fast.storageclass.storage.k8s.io/requests.storage": 2 * 2**30,
        "fast.storageclass.storage.k8s.io/persistentvolumeclaims": 1,
    }


def test_a_quota_is_exceeded_only_past_its_hard_limit() -> None:
    hard = {"count/configmaps": "3", "requests.storage": "10Gi"}
    used = {"count/configmaps": "1", "requests.storage": "9Gi"}
    assert exceeded(hard, used, {"count/configmaps": Fraction(2)}) == []
    [excess] = exceeded(hard, used, {"count/configmaps": Fraction(3), "secrets": Fraction(9)})
    assert excess.describe() == (
        "count/configmaps would reach 4, over its hard limit 3 (1 used + 3 from the bundle)"
    )
    [storage] = exceeded(hard, used, {"requests.storage": Fraction(2 * 2**30)})
    assert storage.resource == "requests.storage"
    assert exceeded(hard, {}, {"count/configmaps": Fraction(3)}) == []  # nothing used yet


# -- webhooks --------------------------------------------------------------------------------


def write(**changes: Any) -> Write:
    values: dict[str, Any] = {
        "group": "",
        "version": "v1",
        "plural": "configmaps",
        "namespaced": True,
        "operations": ("CREATE",),
        "labels": {},
        "namespace_labels": {"team": "shop"},
    }
    values.update(changes)
    return Write(**values)


RULE = {
    "operations": ["CREATE", "UPDATE"],
    "apiGroups": [""],
    "apiVersions": ["v1"],
    "resources": ["configmaps"],
}


@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        (RULE, True),
        ({**RULE, "operations": ["DELETE"]}, False),
        ({**RULE, "operations": ["*"]}, True),
        ({**RULE, "apiGroups": ["apps"]}, False),
        ({**RULE, "apiGroups": ["*"]}, True),
        ({**RULE, "resources": ["secrets"]}, False),
        ({**RULE, "resources": ["*"]}, True),
        ({**RULE, "resources": ["*/*"]}, True),
        ({**RULE, "resources": ["configmaps/status"]}, False),
        ({**RULE, "scope": "Cluster"}, False),
        ({**RULE, "scope": "Namespaced"}, True),
    ],
)
def test_a_rule_covers_a_write_as_the_apiserver_decides(
    rule: dict[str, Any], matches: bool
) -> None:
    assert rule_matches(rule, write()) is matches


def test_versions_decide_only_under_the_exact_match_policy() -> None:
    other = {**RULE, "apiVersions": ["v2"]}
    assert rule_matches(other, write(), equivalent=True)
    assert not rule_matches(other, write(), equivalent=False)


def test_a_write_whose_existence_is_unknown_may_be_either_operation() -> None:
    updates = {**RULE, "operations": ["UPDATE"]}
    assert not rule_matches(updates, write(operations=("CREATE",)))
    assert rule_matches(updates, write(operations=("CREATE", "UPDATE")))


def test_selectors_decide_with_the_namespace_labels_the_objects_will_meet() -> None:
    webhook = {"rules": [RULE], "namespaceSelector": {"matchLabels": {"team": "shop"}}}
    assert webhook_matches(webhook, write()) is True
    assert webhook_matches(webhook, write(namespace_labels={"team": "ops"})) is False
    assert webhook_matches(webhook, write(namespace_labels=None)) is None  # unknown: maybe
    assert webhook_matches({"rules": [RULE]}, write(namespace_labels=None)) is True
    objects = {"rules": [RULE], "objectSelector": {"matchLabels": {"audited": "yes"}}}
    assert webhook_matches(objects, write()) is False
    assert webhook_matches(objects, write(labels={"audited": "yes"})) is True


def test_a_namespace_selector_applies_to_a_namespace_through_its_own_labels() -> None:
    webhook = {
        "rules": [{**RULE, "resources": ["namespaces"]}],
        "namespaceSelector": {"matchExpressions": [{"key": "guarded", "operator": "Exists"}]},
    }
    namespace = write(plural="namespaces", namespaced=False, namespace_labels={"guarded": "1"})
    assert webhook_matches(webhook, namespace) is True
    assert webhook_matches(webhook, write(plural="namespaces", namespaced=False)) is False
    cluster_wide = {
        "rules": [{**RULE, "resources": ["*"]}],
        "namespaceSelector": {"matchLabels": {"x": "y"}},
    }
    storage = write(group="", plural="persistentvolumes", namespaced=False, namespace_labels=None)
    assert webhook_matches(cluster_wide, storage) is True  # not namespaced: selector ignored


# -- addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "widest"),
    [
        ("10.112.0.1", "10.112.0.0/12"),
        ("10.96.0.1", "10.96.0.0/12"),
        ("192.168.5.1", "192.168.5.0/24"),
        ("10.0.0.1", "10.0.0.0/12"),
        ("fd00:10:96::1", "fd00:10:96::/108"),
    ],
)
def test_the_widest_service_range_follows_from_the_apiservers_own_address(
    first: str, widest: str
) -> None:
    """The apiserver's Service has the range's first address, and a range has at most 2^20
    addresses: an IP outside this network cannot be in the range."""
    assert widest_service_range(first) == ip_network(widest)


def test_only_kept_cluster_ips_and_node_ports_of_node_port_services_count() -> None:
    headless = {"spec": {"clusterIP": "None", "ports": [{"nodePort": 30001}]}}
    assert fixed_ips(headless) == [] and node_ports(headless) == []
    kept = {
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.200.0.5",
            "clusterIPs": ["10.200.0.5", "fd00::5"],
            "ports": [{"nodePort": 30001}, {"port": 80}],
        }
    }
    assert fixed_ips(kept) == ["10.200.0.5", "fd00::5"] and node_ports(kept) == [30001]


# -- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("denied", "asked", "severity"),
    [
        (set(), {"get", "list", "patch"}, None),
        ({"patch"}, {"get", "list", "patch"}, Severity.BLOCKER),
        ({"create"}, {"get", "list", "create", "patch"}, Severity.BLOCKER),
        ({"get", "list"}, {"get", "list"}, Severity.BLOCKER),
        ({"list"}, {"get", "list"}, Severity.WARNING),  # import reads each object instead
        ({"get"}, {"get", "patch"}, Severity.BLOCKER),  # a Namespace is read by get only
    ],
)
def test_denied_writes_or_every_denied_read_block_and_a_denied_list_warns(
    denied: set[str], asked: set[str], severity: Severity | None
) -> None:
    assert severity_of(frozenset(denied), frozenset(asked)) is severity


# -- references ------------------------------------------------------------------------------


def pod_template(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": spec}},
    }


def test_references_leave_out_optional_ones_and_what_every_namespace_gets() -> None:
    deployment = pod_template(
        {
            "priorityClassName": "urgent",
            "containers": [
                {
                    "name": "c",
                    "image": "i",
                    "envFrom": [
                        {"configMapRef": {"name": "kube-root-ca.crt"}},
                        {"secretRef": {"name": "maybe", "optional": True}},
                        {"configMapRef": {"name": "twice", "optional": True}},
                    ],
                    "env": [
                        {
                            "name": "A",
                            "valueFrom": {"configMapKeyRef": {"name": "twice", "key": "a"}},
                        }
                    ],
                }
            ],
        }
    )
    assert references_of(deployment) == {
        ObjectRef("scheduling.k8s.io", "PriorityClass", "", "urgent"),
        ObjectRef("", "ConfigMap", "shop", "twice"),  # also named without optional
    }


def test_a_claim_bound_to_a_named_volume_needs_no_storage_class_object() -> None:
    claim: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "shop"},
        "spec": {"storageClassName": "fast"},
    }
    fast = ObjectRef("storage.k8s.io", "StorageClass", "", "fast")
    assert references_of(claim) == {fast}
    claim["spec"]["volumeName"] = "pv-1"
    assert fast not in references_of(claim)


def test_the_bundles_objects_are_numbered_across_levels_in_order() -> None:
    """A position stands for an object in the preflight's tables of the whole bundle."""
    config = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n}"}} for n in range(3)
    ]
    apps = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]
    bundled = Bundled(
        [LevelObjects(6, "configuration", ObjectSpool(config)), LevelObjects(9, "workloads", apps)]
    )
    refs = [ObjectRef.of(o) for o in config + apps]
    assert [p.ref for p in bundled] == refs
    assert [p.position for p in bundled] == [0, 1, 2, 3]
    assert [bundled[n].position for n in range(4)] == [0, 1, 2, 3]
    assert [bundled.ref_at(n) for n in range(4)] == refs
    assert bundled[-1].ref == refs[-1] and bundled[-1].position == 3
    with pytest.raises(IndexError):
        bundled.ref_at(4)


def test_a_pass_over_some_kinds_gets_their_objects_with_the_positions_of_the_whole_bundle() -> None:
    config = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n}", "namespace": "a"}}
        for n in range(3)
    ]
    services = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": ns}}
        for ns in ("a", "b")
    ]
    bundled = Bundled(
        [
            LevelObjects(6, "configuration", ObjectSpool(config[:2])),
            LevelObjects(8, "services", [services[0], config[2], services[1]]),
        ]
    )
    everything = list(bundled)
    picked = list(bundled.of_kind("", "Service"))
    assert [(p.ref, p.position, p.level) for p in picked] == [
        (p.ref, p.position, p.level) for p in everything if p.ref.kind == "Service"
    ]
    assert [p.obj["metadata"] for p in picked] == [s["metadata"] for s in services]
    in_b = list(bundled.where(lambda _, __, ___, namespace: namespace == "b"))
    assert [p.ref for p in in_b] == [ObjectRef.of(services[1])]
    assert list(bundled.refs()) == [p.ref for p in everything]
    assert bundled.shared() == [
        ("v1", "", "ConfigMap", "a"),
        ("v1", "", "Service", "a"),
        ("v1", "", "Service", "b"),
    ]


def test_a_crd_of_the_bundle_serves_only_the_versions_it_declares() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.org"},
        "spec": {
            "group": "example.org",
            "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets"},
            "versions": [{"name": "v1", "served": True}, {"name": "v0", "served": False}],
        },
    }
    gadgets = [
        {"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "a"}},
        {"apiVersion": "example.org/v0", "kind": "Gadget", "metadata": {"name": "b"}},
    ]
    planned = Bundled([LevelObjects(2, "definitions", [crd]), LevelObjects(11, "custom", gadgets)])
    kinds = kinds_of(planned, lambda api_version, kind_name: None)
    served = kinds[("example.org/v1", "Gadget")]
    assert served is not None and served.plural == "gadgets" and served.resource is None
    assert kinds[("example.org/v0", "Gadget")] is None


# -- the server's refusals -------------------------------------------------------------------


def api_error(status: int, message: str, **details: Any) -> ApiError:
    return ApiError(status, "x", message, method="PATCH", path="/p", details=details)


def test_a_conflict_names_each_other_manager_and_its_fields_with_both_ways_out() -> None:
    error = api_error(
        409,
        "Apply failed with 2 conflicts",
        causes=[
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "other-tool" using apps/v1',
                "field": ".spec.replicas",
            },
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "other-tool" using apps/v1',
                "field": ".spec.paused",
            },
        ],
    )
    finding = classify(WEB, error)
    assert finding.code is Code.FIELD_CONFLICT and finding.severity is Severity.BLOCKER
    assert finding.message == (
        "Deployment.apps shop/web: other field managers own fields the bundle sets: "
        '"other-tool" owns .spec.replicas, .spec.paused'
    )
    assert "--force-conflicts" in finding.way_out and "--existing skip" in finding.way_out


def test_refusals_are_read_as_what_they_are_in_the_servers_own_words() -> None:
    taken = classify(
        WEB, api_error(422, "spec.ports[0].nodePort: provided port is already allocated")
    )
    assert taken.code is Code.NODE_PORT_TAKEN
    assert "provided port is already allocated" in taken.message
    immutable = classify(WEB, api_error(422, "spec.selector: field is immutable"))
    assert immutable.code is Code.SERVER_REFUSED and "--existing recreate" in immutable.way_out
    other = classify(WEB, api_error(400, "something else"))
    assert other.code is Code.SERVER_REFUSED and "something else" in other.message


# -- nothing sent ----------------------------------------------------------------------------


@pytest.fixture()
def counter() -> Iterator[ConnectionCounter]:
    with ConnectionCounter() as listening:
        yield listening


def test_preflight_refuses_sealed_secrets_before_any_request(
    counter: ConnectionCounter, tmp_path: Path
) -> None:
    write_encrypted_bundle(tmp_path / "sealed.kbundle", b"a passphrase")
    ready = accept_bundle(tmp_path / "sealed.kbundle", tmp_path / "work", TrustPolicy())
    sealed = [
        document
        for entry in ready.bundle.entries
        if entry.kind == "Secret"
        for document in ready.bundle.documents(entry)
    ]
    kubeconfig = write_counting_kubeconfig(tmp_path / "kubeconfig", counter.port)
    cluster = open_cluster(str(kubeconfig), "counted")
    with pytest.raises(UsageError, match="is still encrypted"):
        run_preflight(cluster, [LevelObjects(6, "configuration", sealed)], thorough=False)
    assert counter.settled() == 0


def test_kinds_use_their_resource_names_for_quotas_and_reviews() -> None:
    resource = ApiResource("apps", "v1", "deployments", "Deployment", True, frozenset())
    info = kinds_of(
        Bundled([LevelObjects(9, "workloads", [WEB_OBJECT])]),
        lambda api_version, kind_name: resource,
    )[("apps/v1", "Deployment")]
    assert info is not None and info.group_resource == "deployments.apps"


# -- what an operator's roles grant --------------------------------------------------------


def _operator(*, crd: bool) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "gizmo-manager"},
            "rules": [
                {"apiGroups": ["toys.example.com"], "resources": ["gizmos", "gizmos/status"]},
                {"apiGroups": ["apps"], "resources": ["deployments"]},
                {"apiGroups": ["*"], "resources": ["*"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "gizmo-manager"},
            "roleRef": {"kind": "ClusterRole", "name": "gizmo-manager"},
            "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": "toys"}],
        },
    ]
    if crd:
        objects.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "gizmos.toys.example.com"},
            }
        )
    return objects


def test_a_granted_resource_nobody_serves_or_brings_is_a_warning_with_the_way_out() -> None:
    findings = grants_not_served(_operator(crd=False), {("apps", "deployments")})
    assert [(f.code, f.severity) for f in findings] == [(Code.GRANT_NOT_SERVED, Severity.WARNING)]
    assert findings[0].objects == (ObjectRef("", "ServiceAccount", "toys", "operator"),)
    assert "gizmos.toys.example.com" in findings[0].message
    assert "--include-cluster-resources=auto" in findings[0].way_out


def test_a_granted_resource_the_bundle_brings_or_the_destination_serves_is_fine() -> None:
    assert grants_not_served(_operator(crd=True), {("apps", "deployments")}) == []
    served = {("apps", "deployments"), ("toys.example.com", "gizmos")}
    assert grants_not_served(_operator(crd=False), served) == []
