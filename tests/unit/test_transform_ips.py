"""``--map-ip`` and ``--map-ip-in-data``: addresses move to the same offset in the new range.

Inputs are the sample app's manifests (``fixtures/sample-app``: Service ``cache`` has the fixed
clusterIP ``10.96.0.50``, Endpoints ``legacy-billing`` point at ``192.168.10.20``) and objects
read from a real 1.20 apiserver (``fixtures/objects``); small additions cover what those do
not hold (EndpointSlices, IPv6, externalIPs, addresses in configuration).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Sequence
from ipaddress import ip_network
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbundle.apply.prepare import clear_cluster_ips
from kbundle.core.errors import UsageError
from kbundle.core.kinds import KEEP_CLUSTER_IPS
from kbundle.core.model import Object, ObjectRef
from kbundle.transforms.base import Rewrite, Transform, TransformContext
from kbundle.transforms.ips import IpMapping, ip_mapping, parse_ip_mappings
from tests.objects import every_object as shared_every_object
from tests.objects import fixture, sample

SERVICES = "10.96.0.0/16=10.112.0.0/16"  # the two test clusters' service ranges
BILLING = "192.168.10.0/24=172.16.5.0/24"  # the network legacy-billing's endpoints live in
BOTH = (SERVICES, BILLING)
KEEP_PATH = f'metadata.annotations["{KEEP_CLUSTER_IPS}"]'
LEFT = " (not in any mapped range)"
MIRRORING_CONTROLLER = "endpointslicemirroring-controller.k8s.io"


# -- inputs ---------------------------------------------------------------------------------


def endpoint_slice(address_type: str, *addresses: str, version: str = "v1") -> Object:
    """An EndpointSlice as the mirroring controller writes it for a selector-less Service."""
    return {
        "apiVersion": f"discovery.k8s.io/{version}",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "legacy-billing-7xk2p",
            "namespace": "shop",
            "labels": {
                "kubernetes.io/service-name": "legacy-billing",
                "endpointslice.kubernetes.io/managed-by": MIRRORING_CONTROLLER,
            },
        },
        "addressType": address_type,
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
        "ports": [{"name": "https", "port": 8443, "protocol": "TCP"}],
    }


def config_map(**data: str) -> Object:
    config = sample("ConfigMap", "shop-config")
    config["data"] = data
    return config


def every_object() -> list[Object]:
    """The sample app, the server fixtures, and objects holding addresses of every rule."""
    service = fixture("service-lb-local")
    service["spec"]["externalIPs"] = ["192.168.10.7", "203.0.113.9"]
    service["spec"]["loadBalancerIP"] = "192.168.10.8"
    extras = [
        service,
        endpoint_slice("IPv4", "192.168.10.20", "10.96.3.4", "198.51.100.1"),
        config_map(REDIS="10.96.0.50:6379", PEERS="192.168.10.20,8.8.8.8"),
    ]
    return shared_every_object() + extras


def run(
    obj: Object, values: Sequence[str] = (SERVICES,), *, in_data: bool = False
) -> tuple[Object, list[Rewrite]]:
    context = TransformContext()
    result = IpMapping(tuple(parse_ip_mappings(values)), in_data=in_data)(obj, context)
    return result, context.rewrites


def changes(
    obj: Object, values: Sequence[str] = (SERVICES,), *, in_data: bool = False
) -> dict[str, tuple[str, str]]:
    """``path -> (before, after)`` of every change (or address left) recorded for ``obj``."""
    return {r.path: (r.before, r.after) for r in run(obj, values, in_data=in_data)[1]}


def at(obj: Any, *path: str | int) -> Any:
    for key in path:
        obj = obj[key]
    return obj


# -- the contract ---------------------------------------------------------------------------


def test_is_a_transform_named_map_ip() -> None:
    transform: Transform = IpMapping(tuple(parse_ip_mappings([SERVICES])))
    assert transform.name == "map-ip"


def test_rewrites_name_the_transform_and_the_object_as_it_was() -> None:
    _, rewrites = run(sample("Service", "cache"))
    assert rewrites
    assert {r.transform for r in rewrites} == {"map-ip"}
    assert {r.ref for r in rewrites} == {ObjectRef("", "Service", "shop", "cache")}


def test_input_is_never_mutated() -> None:
    changed = 0
    for obj in every_object():
        before = copy.deepcopy(obj)
        result, _ = run(obj, BOTH, in_data=True)
        assert obj == before
        assert result is not obj
        changed += result != obj
    assert changed >= 10  # the mappings reach the objects, so the check above means something


def test_empty_mapping_returns_an_equal_copy_and_records_nothing() -> None:
    for obj in every_object():
        result, rewrites = run(obj, (), in_data=True)
        assert result == obj
        assert result is not obj
        assert rewrites == []


def test_mapping_an_already_mapped_object_changes_nothing() -> None:
    """Stable because no DST overlaps a SRC; addresses already moved are only reported."""
    for obj in every_object():
        once, _ = run(obj, BOTH, in_data=True)
        twice, rewrites = run(once, BOTH, in_data=True)
        assert twice == once
        assert all(r.before == r.after and r.path.endswith(LEFT) for r in rewrites)


def test_a_hand_built_mapping_is_validated_like_the_flag() -> None:
    with pytest.raises(UsageError, match=r"10\.112\.0\.0/24 is smaller than 10\.96\.0\.0/16"):
        IpMapping(((ip_network("10.96.0.0/16"), ip_network("10.112.0.0/24")),))


def test_mapping_is_copied_so_later_edits_to_the_list_change_nothing() -> None:
    pairs = parse_ip_mappings([SERVICES])
    transform = IpMapping(pairs)  # type: ignore[arg-type]  # a list, as callers may pass
    pairs[0] = (ip_network("10.96.0.0/16"), ip_network("10.200.0.0/16"))
    assert transform.mapping == tuple(parse_ip_mappings([SERVICES]))


def test_describe_names_the_mapping_and_its_data_switch() -> None:
    transform = IpMapping(tuple(parse_ip_mappings([SERVICES])))
    assert transform.describe() == {
        "name": "map-ip",
        "args": {"mapping": {"10.96.0.0/16": "10.112.0.0/16"}, "inData": False},
    }


@pytest.mark.parametrize("in_data", [False, True])
def test_describe_round_trips_through_the_rules_file_factory(in_data: bool) -> None:
    values = [SERVICES, BILLING, "fd00:10:96::/112=fd00:10:112::/112"]
    transform = IpMapping(tuple(parse_ip_mappings(values)), in_data=in_data)
    described = transform.describe()
    assert described["name"] == transform.name
    assert ip_mapping(described["args"]) == transform


def test_rules_file_arguments_default_to_structured_fields_only() -> None:
    transform = ip_mapping({"mapping": {"10.96.0.0/16": "10.112.0.0/16"}})
    assert transform == IpMapping(tuple(parse_ip_mappings([SERVICES])), in_data=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "map-ip: 'mapping' must map SRC_CIDR to DST_CIDR"),
        ({"mapping": {}}, "map-ip: 'mapping' must map SRC_CIDR to DST_CIDR"),
        ({"mapping": [SERVICES]}, "map-ip: 'mapping' must map SRC_CIDR to DST_CIDR"),
        (
            {"mapping": {"10.96.0.0/16": "10.112.0.0/16"}, "inData": "yes"},
            "map-ip: 'inData' must be true or false, not 'yes'",
        ),
        (
            {"mapping": {"10.96.0.0/16": "10.112.0.0/16"}, "in_data": True},
            "map-ip: unknown argument 'in_data'",
        ),
        (
            {"mapping": {"10.96.0.0/16": 10}},
            "map-ip 10.96.0.0/16=10: SRC_CIDR and DST_CIDR must be strings",
        ),
        (
            {"mapping": {"10.96.0.0/16": "10.112.0.0/24"}},
            "map-ip 10.96.0.0/16=10.112.0.0/24: 10.112.0.0/24 is smaller than "
            "10.96.0.0/16: the end of 10.96.0.0/16 would have nowhere to go",
        ),
        (
            {"mapping": {"10.96.0.0/16": "10.112.0.0/16", "10.96.1.0/24": "10.200.0.0/24"}},
            "map-ip 10.96.1.0/24=10.200.0.0/24: 10.96.1.0/24 overlaps 10.96.0.0/16, "
            "already mapped to 10.112.0.0/16",
        ),
    ],
)
def test_bad_rules_file_arguments_are_refused_in_one_line(
    args: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        ip_mapping(args)
    assert raised.value.message == message
    assert raised.value.hint


# Field names the rules look for, so that generated objects reach them with wrong types.
FIELD_NAMES = [
    "clusterIP",
    "clusterIPs",
    "externalIPs",
    "loadBalancerIP",
    "subsets",
    "addresses",
    "notReadyAddresses",
    "ip",
    "endpoints",
    "addressType",
    "data",
    "spec",
    "template",
    "containers",
    "env",
    "value",
    "annotations",
]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["10.96.0.50", "None", "", "IPv4", "x 10.96.1.1:80"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=4)
    ),
    max_leaves=12,
)
KINDS = st.sampled_from(
    [
        ("v1", "Service"),
        ("v1", "Endpoints"),
        ("discovery.k8s.io/v1", "EndpointSlice"),
        ("v1", "ConfigMap"),
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "CronJob"),
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=KINDS,
    metadata=st.fixed_dictionaries({"name": st.just("x")}, optional={"annotations": JSON}),
    fields=st.dictionaries(st.sampled_from(FIELD_NAMES), JSON, max_size=4),
)
def test_malformed_objects_are_copied_without_error(
    kind: tuple[str, str], metadata: dict[str, Any], fields: dict[str, Any]
) -> None:
    """Past verification, only ``metadata.name`` is known to be well formed: any other field
    of an unexpected type is left as it is."""
    obj = {"apiVersion": kind[0], "kind": kind[1], "metadata": metadata, **fields}
    before = copy.deepcopy(obj)
    run(obj, BOTH, in_data=True)
    assert obj == before


# -- Services: cluster IPs ------------------------------------------------------------------


def test_fixed_cluster_ip_keeps_its_offset_in_the_destination_range() -> None:
    """The sample app's ``cache`` Service: 10.96.0.50 is offset 50 of 10.96.0.0/16."""
    cache = sample("Service", "cache")
    result, _ = run(cache)
    assert result["spec"]["clusterIP"] == "10.112.0.50"
    assert changes(cache) == {
        "spec.clusterIP": ("10.96.0.50", "10.112.0.50"),
        KEEP_PATH: ("", "true"),
    }


def test_offset_is_counted_from_each_range_start_into_a_destination_as_large_or_larger() -> None:
    service = fixture("service-api")  # 10.96.149.255
    result, _ = run(service, ["10.96.128.0/17=172.20.0.0/17"])
    assert result["spec"]["clusterIP"] == "172.20.21.255"  # offset 149.255 - 128.0 = 21.255
    result, _ = run(service, ["10.96.0.0/16=172.16.0.0/12"])
    assert result["spec"]["clusterIP"] == "172.16.149.255"


def test_cluster_ips_list_is_mapped_like_cluster_ip() -> None:
    service = fixture("service-api")  # as read from a server: clusterIP and clusterIPs
    result, _ = run(service)
    assert result["spec"]["clusterIPs"] == ["10.112.149.255"]
    assert changes(service)["spec.clusterIPs[0]"] == ("10.96.149.255", "10.112.149.255")


def test_headless_and_external_name_services_are_left_alone_silently() -> None:
    headless = sample("Service", "db")
    headless["spec"]["clusterIPs"] = ["None"]
    for service in (headless, sample("Service", "payments-gateway"), sample("Service", "api")):
        result, rewrites = run(service)
        assert result == service
        assert rewrites == []


def test_empty_cluster_ip_is_left_alone_silently() -> None:
    service = fixture("service-api")
    service["spec"]["clusterIP"] = ""
    service["spec"]["clusterIPs"] = []
    result, rewrites = run(service)
    assert result == service
    assert rewrites == []


def test_mapped_cluster_ip_marks_the_service_so_import_keeps_it() -> None:
    result, _ = run(sample("Service", "cache"))
    assert result["metadata"]["annotations"] == {KEEP_CLUSTER_IPS: "true"}
    applied = clear_cluster_ips(result)
    assert applied["spec"]["clusterIP"] == "10.112.0.50"
    assert "annotations" not in applied["metadata"]


def test_the_mark_is_added_beside_existing_annotations() -> None:
    service = fixture("service-nodeport-applied")  # carries kubectl's last-applied annotation
    result, _ = run(service)
    annotations = result["metadata"]["annotations"]
    assert annotations[KEEP_CLUSTER_IPS] == "true"
    assert set(annotations) == {*service["metadata"]["annotations"], KEEP_CLUSTER_IPS}


def test_cluster_ip_outside_every_range_is_left_unmarked_and_reported() -> None:
    service = fixture("service-api")  # 10.96.149.255, in neither range below
    values = ["10.97.0.0/16=10.112.0.0/16", "10.96.0.0/17=10.113.0.0/17"]
    result, _ = run(service, values)
    assert result == service
    assert changes(service, values) == {
        f"spec.clusterIP{LEFT}": ("10.96.149.255", "10.96.149.255"),
        f"spec.clusterIPs[0]{LEFT}": ("10.96.149.255", "10.96.149.255"),
    }
    assert "clusterIP" not in clear_cluster_ips(result)["spec"]  # the destination allocates


def test_external_ips_alone_do_not_mark_the_service() -> None:
    """The mark is about cluster IPs only: a mapped external IP says nothing about them."""
    service = fixture("service-lb-local")
    service["spec"]["externalIPs"] = ["192.168.10.7"]
    result, _ = run(service, [BILLING])
    assert result["spec"]["externalIPs"] == ["172.16.5.7"]
    assert "annotations" not in result["metadata"]


def test_dual_stack_service_with_one_family_mapped_is_marked_and_reports_the_other() -> None:
    """The mapped address is kept; the other stays as it was and is listed, so an import
    that then fails on it names the mapping still missing."""
    service = fixture("service-api")
    service["spec"]["clusterIPs"] = ["10.96.149.255", "fd00:10:96::95ff"]
    result, _ = run(service)
    assert result["spec"]["clusterIPs"] == ["10.112.149.255", "fd00:10:96::95ff"]
    assert result["metadata"]["annotations"] == {KEEP_CLUSTER_IPS: "true"}
    assert changes(service)[f"spec.clusterIPs[1]{LEFT}"] == ("fd00:10:96::95ff",) * 2


# -- Services: external and load-balancer IPs -----------------------------------------------


def test_external_ips_are_mapped_and_others_reported() -> None:
    service = fixture("service-lb-local")
    service["spec"]["externalIPs"] = ["192.168.10.7", "203.0.113.9"]
    result, _ = run(service, BOTH)
    assert result["spec"]["externalIPs"] == ["172.16.5.7", "203.0.113.9"]
    found = changes(service, BOTH)
    assert found["spec.externalIPs[0]"] == ("192.168.10.7", "172.16.5.7")
    assert found[f"spec.externalIPs[1]{LEFT}"] == ("203.0.113.9", "203.0.113.9")


def test_load_balancer_ip_is_mapped() -> None:
    service = fixture("service-lb-local-fixed-health")
    service["spec"]["loadBalancerIP"] = "192.168.10.8"
    result, _ = run(service, BOTH)
    assert result["spec"]["loadBalancerIP"] == "172.16.5.8"
    assert changes(service, BOTH)["spec.loadBalancerIP"] == ("192.168.10.8", "172.16.5.8")


# -- Endpoints and EndpointSlices -----------------------------------------------------------


def test_endpoint_addresses_are_mapped() -> None:
    endpoints = fixture("endpoints-legacy-billing")  # 192.168.10.20, as the server keeps it
    result, _ = run(endpoints, [BILLING])
    assert result["subsets"][0]["addresses"] == [{"ip": "172.16.5.20"}]
    assert changes(endpoints, [BILLING]) == {
        "subsets[0].addresses[0].ip": ("192.168.10.20", "172.16.5.20")
    }


def test_not_ready_endpoint_addresses_are_mapped() -> None:
    endpoints = fixture("endpoints-legacy-billing")
    endpoints["subsets"][0]["notReadyAddresses"] = [{"ip": "192.168.10.21", "hostname": "b"}]
    result, _ = run(endpoints, [BILLING])
    assert result["subsets"][0]["notReadyAddresses"] == [{"ip": "172.16.5.21", "hostname": "b"}]


def test_endpoint_address_outside_every_range_is_left_and_reported() -> None:
    endpoints = sample("Endpoints", "legacy-billing")
    result, _ = run(endpoints, [SERVICES])
    assert result == endpoints
    assert changes(endpoints, [SERVICES]) == {
        f"subsets[0].addresses[0].ip{LEFT}": ("192.168.10.20", "192.168.10.20")
    }


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_endpoint_slice_addresses_are_mapped_at_any_version(version: str) -> None:
    slice_ = endpoint_slice("IPv4", "192.168.10.20", "198.51.100.1", version=version)
    result, _ = run(slice_, BOTH)
    assert [e["addresses"] for e in result["endpoints"]] == [["172.16.5.20"], ["198.51.100.1"]]
    assert changes(slice_, BOTH) == {
        "endpoints[0].addresses[0]": ("192.168.10.20", "172.16.5.20"),
        f"endpoints[1].addresses[0]{LEFT}": ("198.51.100.1", "198.51.100.1"),
    }


def test_fqdn_endpoint_slices_are_left_alone() -> None:
    """Their entries are DNS names, even one spelled like an address in a mapped range."""
    slice_ = endpoint_slice("FQDN", "billing.corp.example", "192.168.10.20")
    result, rewrites = run(slice_, BOTH)
    assert result == slice_
    assert rewrites == []


# -- IPv6 -----------------------------------------------------------------------------------

V6 = "fd00:10:96::/112=fd00:10:112::/112"


def test_ipv6_addresses_map_by_offset() -> None:
    service = sample("Service", "cache")
    service["spec"]["clusterIP"] = "fd00:10:96::32"
    service["spec"]["clusterIPs"] = ["fd00:10:96::32"]
    slice_ = endpoint_slice("IPv6", "fd00:10:96::ff02")
    result, _ = run(service, [SERVICES, V6])
    assert result["spec"]["clusterIPs"] == ["fd00:10:112::32"]
    assert result["metadata"]["annotations"] == {KEEP_CLUSTER_IPS: "true"}
    result, _ = run(slice_, [V6])
    assert result["endpoints"][0]["addresses"] == ["fd00:10:112::ff02"]


def test_ipv6_addresses_in_data_map_by_offset() -> None:
    config = config_map(REDIS="[fd00:10:96::a]:6379", NET="fd00:10:96::/112", OTHER="fd00::1")
    result, _ = run(config, [V6], in_data=True)
    assert result["data"] == {
        "REDIS": "[fd00:10:112::a]:6379",
        "NET": "fd00:10:112::/112",
        "OTHER": "fd00::1",
    }


# -- addresses in data (--map-ip-in-data) ---------------------------------------------------


def test_without_in_data_configuration_text_is_left_alone() -> None:
    config = config_map(REDIS="10.96.0.50:6379")
    deployment = sample("Deployment", "api")
    deployment["spec"]["template"]["spec"]["containers"][0]["env"][2]["value"] = "10.96.0.50"
    for obj in (config, deployment):
        result, rewrites = run(obj)
        assert result == obj
        assert rewrites == []


def test_config_map_data_addresses_are_mapped_and_others_left_unreported() -> None:
    config = config_map(
        REDIS="redis://10.96.0.50:6379/0",
        PEERS="192.168.10.20,192.168.11.20",
        DNS="8.8.8.8",
        LOG_LEVEL="info",
    )
    result, _ = run(config, BOTH, in_data=True)
    assert result["data"] == {
        "REDIS": "redis://10.112.0.50:6379/0",
        "PEERS": "172.16.5.20,192.168.11.20",
        "DNS": "8.8.8.8",
        "LOG_LEVEL": "info",
    }
    assert changes(config, BOTH, in_data=True) == {
        "data.REDIS": ("redis://10.96.0.50:6379/0", "redis://10.112.0.50:6379/0"),
        "data.PEERS": ("192.168.10.20,192.168.11.20", "172.16.5.20,192.168.11.20"),
    }


def test_config_map_file_contents_are_mapped_under_a_quoted_key() -> None:
    nginx = sample("ConfigMap", "frontend-nginx")
    nginx["data"]["nginx.conf"] += "upstream cache { server 10.96.0.50:6379; }\n"
    result, _ = run(nginx, in_data=True)
    assert "server 10.112.0.50:6379;" in result["data"]["nginx.conf"]
    assert list(changes(nginx, in_data=True)) == ['data["nginx.conf"]']


def test_config_map_binary_data_is_left_alone() -> None:
    config = config_map()
    config["binaryData"] = {"addr": base64.b64encode(b"10.96.0.50").decode(), "raw": "10.96.0.50"}
    result, rewrites = run(config, in_data=True)
    assert result == config
    assert rewrites == []


def _replication_controller() -> Object:
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "api-rc", "namespace": "shop"},
        "spec": {
            "selector": {"app": "api"},
            "template": fixture("replicaset-api")["spec"]["template"],
        },
    }


def _pod_template() -> Object:
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "api", "namespace": "shop"},
        "template": fixture("replicaset-api")["spec"]["template"],
    }


def _cron_job_v1() -> Object:
    cron_job = fixture("cronjob-nightly-report")
    cron_job["apiVersion"] = "batch/v1"
    return cron_job


TEMPLATE = ("spec", "template", "spec")
POD_CARRIERS: list[tuple[str, Callable[[], Object], tuple[str, ...]]] = [
    ("Pod", lambda: sample("Pod", "debug-shell"), ("spec",)),
    ("Pod from a server", lambda: fixture("pod-db-0"), ("spec",)),
    ("Deployment", lambda: sample("Deployment", "api"), TEMPLATE),
    ("StatefulSet", lambda: fixture("statefulset-db"), TEMPLATE),
    ("DaemonSet", lambda: fixture("daemonset-log-agent"), TEMPLATE),
    ("ReplicaSet", lambda: fixture("replicaset-api"), TEMPLATE),
    ("Job", lambda: fixture("job-migrate-schema"), TEMPLATE),
    (
        "CronJob v1beta1",
        lambda: fixture("cronjob-nightly-report"),
        ("spec", "jobTemplate", *TEMPLATE),
    ),
    ("CronJob v1", _cron_job_v1, ("spec", "jobTemplate", *TEMPLATE)),
    ("ReplicationController", _replication_controller, TEMPLATE),
    ("PodTemplate", _pod_template, ("template", "spec")),
]
CARRIER_IDS = [name for name, _, _ in POD_CARRIERS]


@pytest.mark.parametrize(("_", "make", "spec_path"), POD_CARRIERS, ids=CARRIER_IDS)
def test_container_env_values_are_mapped_in_every_pod_spec(
    _: str, make: Callable[[], Object], spec_path: tuple[str, ...]
) -> None:
    obj = make()
    container = at(obj, *spec_path)["containers"][0]
    container["env"] = [*container.get("env", []), {"name": "CACHE", "value": "10.96.0.50:6379"}]
    result, _rewrites = run(obj, in_data=True)
    assert at(result, *spec_path)["containers"][0]["env"][-1]["value"] == "10.112.0.50:6379"
    path = ".".join(spec_path) + f".containers[0].env[{len(container['env']) - 1}].value"
    assert changes(obj, in_data=True) == {path: ("10.96.0.50:6379", "10.112.0.50:6379")}


def test_init_and_ephemeral_container_env_values_are_mapped_with_their_paths() -> None:
    pod = sample("Pod", "debug-shell")
    pod["spec"]["initContainers"] = [
        {"name": "wait", "image": "busybox", "env": [{"name": "DB", "value": "10.96.7.7"}]}
    ]
    pod["spec"]["ephemeralContainers"] = [
        {"name": "debugger", "image": "busybox", "env": [{"name": "T", "value": "192.168.10.9"}]}
    ]
    assert changes(pod, BOTH, in_data=True) == {
        "spec.initContainers[0].env[0].value": ("10.96.7.7", "10.112.7.7"),
        "spec.ephemeralContainers[0].env[0].value": ("192.168.10.9", "172.16.5.9"),
    }


def test_env_value_from_references_are_left_alone() -> None:
    deployment = sample("Deployment", "api")  # DB_PASSWORD comes from a Secret by reference
    result, rewrites = run(deployment, BOTH, in_data=True)
    assert result == deployment
    assert rewrites == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.96.0.50", "10.112.0.50"),
        ("10.96.0.50:6379", "10.112.0.50:6379"),
        ("http://10.96.0.50/x", "http://10.112.0.50/x"),
        ("10.96.0.0/24", "10.112.0.0/24"),
        ("--bind=10.96.0.50", "--bind=10.112.0.50"),
        ("redis.host:10.96.0.50", "redis.host:10.112.0.50"),
        ("a,10.96.1.2;10.96.3.4.", "a,10.112.1.2;10.112.3.4."),
        ("110.96.0.50", "110.96.0.50"),
        ("10.96.0.500", "10.96.0.500"),
        ("10.96.0.50.1", "10.96.0.50.1"),
        ("1.10.96.0.50", "1.10.96.0.50"),
        ("10.96.0.50.nip.io", "10.96.0.50.nip.io"),
        ("x10.96.0.50", "x10.96.0.50"),
        ("10.96.0.50x", "10.96.0.50x"),
        ("10.96.0.050", "10.96.0.050"),  # leading zeros: octal to some parsers, left alone
        ("10.97.0.50", "10.97.0.50"),
        ("::ffff:10.96.0.50", "::ffff:10.96.0.50"),  # an IPv6 address, in no IPv6 range
        ("12:30:45", "12:30:45"),
    ],
)
def test_only_whole_addresses_change(text: str, expected: str) -> None:
    result, _ = run(config_map(value=text), in_data=True)
    assert result["data"]["value"] == expected


OCTET = st.integers(min_value=0, max_value=255)
PREFIX = st.sampled_from(["", "http://", "redis://", "--bind=", "host:", "[", "("])
SUFFIX = st.sampled_from(["", ":6379", "/24", "/x", ".", ",", "]", ":443/y?z=1"])
SEPARATOR = st.text(alphabet=" /\n\t\"',;=@()[]{}<>", min_size=1, max_size=3)
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)


@st.composite
def in_range(draw: st.DrawFn) -> tuple[str, str]:
    """An address in a mapped range, in some context, and what it must become."""
    c, d = draw(OCTET), draw(OCTET)
    prefix, suffix = draw(PREFIX), draw(SUFFIX)
    if draw(st.booleans()):
        return f"{prefix}10.96.{c}.{d}{suffix}", f"{prefix}10.112.{c}.{d}{suffix}"
    return f"{prefix}192.168.10.{d}{suffix}", f"{prefix}172.16.5.{d}{suffix}"


def _outside(octets: tuple[int, int, int, int]) -> bool:
    a, b, c, _ = octets
    return (a, b) != (10, 96) and (a, b, c) != (192, 168, 10)


@st.composite
def out_of_range(draw: st.DrawFn) -> tuple[str, str]:
    """A whole address in no mapped range (the destination's ones too): it must not change."""
    octets = draw(st.tuples(OCTET, OCTET, OCTET, OCTET).filter(_outside))
    text = draw(PREFIX) + ".".join(map(str, octets)) + draw(SUFFIX)
    return text, text


@st.composite
def near_misses(draw: st.DrawFn) -> tuple[str, str]:
    """Text that holds an in-range address but is no whole address: it must not change."""
    c, d = draw(OCTET), draw(OCTET)
    address = f"10.96.{c}.{d}"
    letter = draw(st.sampled_from("abcxyz_"))
    text = draw(
        st.sampled_from(
            [
                f"1{address}",  # 110.96.c.d
                f"{address}.{draw(OCTET)}",
                f"{draw(OCTET)}.{address}",
                f"{address}{letter}",
                f"{letter}{address}",
                f"10.96.{c}.{d + 256}",
                f"10.96.{c}.0{d}",
                f"{address}.nip.io",
            ]
        )
    )
    return text, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tokens=st.lists(
        st.one_of(in_range(), out_of_range(), near_misses(), WORD.map(lambda w: (w, w))),
        max_size=8,
    ),
    separators=st.lists(SEPARATOR, min_size=9, max_size=9),
)
def test_addresses_in_text_change_as_whole_addresses_only(
    tokens: list[tuple[str, str]], separators: list[str]
) -> None:
    """The expected text is built token by token, independently of the transform's pattern."""
    text = separators[0] + "".join(t + s for (t, _), s in zip(tokens, separators[1:], strict=False))
    expected = separators[0] + "".join(
        e + s for (_, e), s in zip(tokens, separators[1:], strict=False)
    )
    result, rewrites = run(config_map(value=text), BOTH, in_data=True)
    assert result["data"]["value"] == expected
    assert [(r.path, r.before, r.after) for r in rewrites] == (
        [] if text == expected else [("data.value", text, expected)]
    )


# -- Secrets --------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=10), address=st.sampled_from(["10.96.0.50", "192.168.10.20"]))
def test_secret_values_are_never_rewritten_nor_reported(text: str, address: str) -> None:
    value = f"{text} {address}:6379"
    secret = fixture("secret-db-credentials")
    secret["data"]["url"] = base64.b64encode(value.encode()).decode()
    secret["data"]["plain"] = value  # not base64: would change if anything read Secret data
    secret["stringData"] = {"url": value, "host": address}
    result, rewrites = run(secret, BOTH, in_data=True)
    assert result == secret
    assert rewrites == []


# -- parsing --flag values ------------------------------------------------------------------


def test_flag_values_parse_into_network_pairs() -> None:
    assert parse_ip_mappings([SERVICES, "fd00:10:96::/112=FD00:10:112::/112"]) == [
        (ip_network("10.96.0.0/16"), ip_network("10.112.0.0/16")),
        (ip_network("fd00:10:96::/112"), ip_network("fd00:10:112::/112")),
    ]
    assert parse_ip_mappings([]) == []
    assert parse_ip_mappings(["10.96.0.50/32=10.112.0.9/32"]) == [
        (ip_network("10.96.0.50/32"), ip_network("10.112.0.9/32"))
    ]


def test_a_larger_destination_chains_and_swaps_are_accepted() -> None:
    """Every address is looked up once, in the source's ranges, so order cannot matter."""
    swap = ["10.96.0.0/16=10.112.0.0/16", "10.112.0.0/16=10.96.0.0/16"]
    service = fixture("service-api")
    service["spec"]["externalIPs"] = ["10.112.0.7"]
    result, _ = run(service, swap)
    assert result["spec"]["clusterIP"] == "10.112.149.255"
    assert result["spec"]["externalIPs"] == ["10.96.0.7"]
    assert len(parse_ip_mappings(["10.96.0.0/16=10.0.0.0/8"])) == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["10.96.0.0/16"], "--map-ip 10.96.0.0/16: expected SRC_CIDR=DST_CIDR"),
        (["10.96.0.0/16=x"], "--map-ip 10.96.0.0/16=x: 'x' is not a CIDR"),
        (["=10.112.0.0/16"], "--map-ip =10.112.0.0/16: '' is not a CIDR"),
        (["10.96.0.0/16="], "--map-ip 10.96.0.0/16=: '' is not a CIDR"),
        (
            ["10.96.0.0/33=10.112.0.0/16"],
            "--map-ip 10.96.0.0/33=10.112.0.0/16: '10.96.0.0/33' is not a CIDR",
        ),
        (
            ["10.96.0.0/16=10.112.0.0/16=x"],
            "--map-ip 10.96.0.0/16=10.112.0.0/16=x: '10.112.0.0/16=x' is not a CIDR",
        ),
        (
            [" 10.96.0.0/16=10.112.0.0/16"],
            "--map-ip  10.96.0.0/16=10.112.0.0/16: ' 10.96.0.0/16' is not a CIDR",
        ),
        (
            ["10.96.0.1/16=10.112.0.0/16"],
            "--map-ip 10.96.0.1/16=10.112.0.0/16: "
            "'10.96.0.1/16' has host bits set (the network is 10.96.0.0/16)",
        ),
        (
            ["10.96.0.0/16=10.112.5.0/16"],
            "--map-ip 10.96.0.0/16=10.112.5.0/16: "
            "'10.112.5.0/16' has host bits set (the network is 10.112.0.0/16)",
        ),
        (
            ["10.96.0.50=10.112.0.50"],
            "--map-ip 10.96.0.50=10.112.0.50: "
            "'10.96.0.50' has no prefix length (for one address write 10.96.0.50/32)",
        ),
        (
            ["fd00::1/128=fd01::1"],
            "--map-ip fd00::1/128=fd01::1: "
            "'fd01::1' has no prefix length (for one address write fd01::1/128)",
        ),
        (
            ["fe80::%eth0/64=fe81::/64"],
            "--map-ip fe80::%eth0/64=fe81::/64: "
            "'fe80::%eth0/64' has a zone index: it names an interface",
        ),
        (
            ["10.96.0.0/16=10.112.0.0/24"],
            "--map-ip 10.96.0.0/16=10.112.0.0/24: 10.112.0.0/24 is smaller than "
            "10.96.0.0/16: the end of 10.96.0.0/16 would have nowhere to go",
        ),
        (
            ["10.96.0.0/16=fd00::/16"],
            "--map-ip 10.96.0.0/16=fd00::/16: 10.96.0.0/16 is IPv4 but fd00::/16 is IPv6",
        ),
        (
            ["fd00::/112=10.112.0.0/16"],
            "--map-ip fd00::/112=10.112.0.0/16: fd00::/112 is IPv6 but 10.112.0.0/16 is IPv4",
        ),
        (
            [SERVICES, "10.96.128.0/17=10.200.0.0/17"],
            "--map-ip 10.96.128.0/17=10.200.0.0/17: "
            "10.96.128.0/17 overlaps 10.96.0.0/16, already mapped to 10.112.0.0/16",
        ),
        (
            ["10.96.128.0/17=10.200.0.0/17", SERVICES],
            "--map-ip 10.96.0.0/16=10.112.0.0/16: "
            "10.96.0.0/16 overlaps 10.96.128.0/17, already mapped to 10.200.0.0/17",
        ),
        (
            [SERVICES, "10.96.0.0/16=10.113.0.0/16"],
            "--map-ip 10.96.0.0/16=10.113.0.0/16: "
            "10.96.0.0/16 overlaps 10.96.0.0/16, already mapped to 10.112.0.0/16",
        ),
        (
            [SERVICES, "10.97.0.0/16=10.112.0.0/16"],
            "--map-ip 10.97.0.0/16=10.112.0.0/16: "
            "10.112.0.0/16 overlaps 10.112.0.0/16, where 10.96.0.0/16 is already mapped",
        ),
        (
            ["10.96.0.0/16\n=10.112.0.0/16"],
            "--map-ip '10.96.0.0/16\\n=10.112.0.0/16': '10.96.0.0/16\\n' is not a CIDR",
        ),
    ],
)
def test_bad_flag_values_are_refused_in_one_line_naming_the_value(
    values: list[str], message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        parse_ip_mappings(values)
    assert raised.value.message == message
    assert raised.value.hint


CIDR_TEXT = st.one_of(
    st.text(alphabet="0123456789abcdef.:/%=x \n", max_size=24),
    st.builds(lambda a, b, c, p: f"{a}.{b}.{c}.0/{p}", OCTET, OCTET, OCTET, st.integers(0, 33)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.builds(lambda s, d: f"{s}={d}", CIDR_TEXT, CIDR_TEXT), min_size=1, max_size=3))
def test_any_flag_value_parses_or_is_refused_in_one_line(values: list[str]) -> None:
    try:
        pairs = parse_ip_mappings(values)
    except UsageError as error:
        assert len(error.message.splitlines()) == 1
        assert error.message.startswith("--map-ip ")
        assert any(v in error.message or repr(v) in error.message for v in values)
    else:
        assert len(pairs) == len(values)
        for src, dst in pairs:
            assert src.version == dst.version
            assert dst.num_addresses >= src.num_addresses
