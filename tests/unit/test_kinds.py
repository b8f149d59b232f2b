"""Every entry of the kind tables (``kbundle.core.kinds``) and every name rule
(``kbundle.core.names``), proved through the stages that read them: cleaning, selection,
the transforms, verification and import's preparation.

The tables are walked, not sampled: an entry added there is tested here without a new line.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kbundle.apply.prepare import clear_cluster_ips
from kbundle.bundle.verify import verify_bundle
from kbundle.clean import CleanContext, clean_object
from kbundle.core.errors import BundleFormatError, UsageError
from kbundle.core.fieldpath import MISSING, render_path, value_at
from kbundle.core.kinds import (
    CLUSTER_IP,
    CLUSTER_IPS,
    CONTAINER_LISTS,
    CUSTOM_POD_LOCATIONS,
    ENDPOINT_ADDRESS_LISTS,
    EXTERNAL_IPS,
    HEADLESS,
    IP_ADDRESS_TYPES,
    KEEP_CLUSTER_IPS,
    LOAD_BALANCER_IP,
    POD_LOCATIONS,
    PodLocation,
)
from kbundle.core.model import Object, ObjectRef
from kbundle.core.names import (
    DNS_SUBDOMAIN_MAX,
    NAME_RULES,
    is_dns_label,
    is_dns_subdomain,
    is_label_value,
    object_name_problem,
    path_segment_problem,
    qualified_name_problem,
)
from kbundle.core.selectors import parse_selector
from kbundle.select.facts import facts_of
from kbundle.transforms.base import Transform, TransformContext
from kbundle.transforms.images import RegistryMapping
from kbundle.transforms.ips import IpMapping, parse_ip_mappings
from kbundle.transforms.metadata import parse_labels
from kbundle.transforms.namespaces import NamespaceMapping, parse_namespace_mappings
from kbundle.transforms.storage import parse_storage_class_mappings
from tests.bundle_samples import write_bundle

# -- objects at the places the tables name --------------------------------------------------

# A version each group of the pod table is served at; a group missing here fails loudly.
VERSIONS = {"": "v1", "apps": "v1", "extensions": "v1beta1", "batch": "v1"}
IMAGE = "registry.shop.example/shop/api:1.4"
ADDRESS = "10.96.0.50"
SERVICE_URL = "http://api.shop.svc:8080/orders"
LABELS = {"app": "api"}


def api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


POD_KINDS = [
    pytest.param(api_version(group, VERSIONS[group]), kind, place, id=f"{kind}.{group or 'core'}")
    for (group, kind), place in POD_LOCATIONS.items()
] + [  # keyed by group: every version of a kind is the same entry
    pytest.param(
        "batch/v1beta1", "CronJob", POD_LOCATIONS["batch", "CronJob"], id="CronJob@v1beta1"
    )
]


def container() -> dict[str, Any]:
    """A container naming an image, an address, a service DNS name, a Secret and a ConfigMap."""
    return {
        "name": "api",
        "image": IMAGE,
        "env": [
            {"name": "DB_HOST", "value": ADDRESS},
            {"name": "ORDERS_URL", "value": SERVICE_URL},
            {
                "name": "DB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}},
            },
        ],
        "envFrom": [{"configMapRef": {"name": "shop-config"}}],
    }


def put(obj: Object, keys: tuple[str, ...], value: dict[str, Any]) -> None:
    """``value``'s entries at ``keys`` under ``obj``, making mappings on the way."""
    node = obj
    for key in keys:
        node = node.setdefault(key, {})
    node.update(value)


def running(version: str, kind: str, place: PodLocation, list_name: str = "containers") -> Object:
    """A minimal object of ``kind`` with one container in ``list_name`` where ``place`` says,
    its templates stamped ``creationTimestamp: null`` as the apiserver serialises them."""
    obj: Object = {"apiVersion": version, "kind": kind, "metadata": {"name": "api"}}
    put(obj, ("metadata",), {"namespace": "shop"})
    spec: dict[str, Any] = {
        "containers": [],
        "volumes": [{"name": "v", "configMap": {"name": "static"}}],
    }
    spec[list_name] = [container()]
    put(obj, place.spec, spec)
    put(obj, place.metadata, {"labels": dict(LABELS)})
    for template in place.templates:
        put(obj, (*template, "metadata"), {"creationTimestamp": None})
    return obj


def changes(transform: Transform, obj: Object) -> dict[str, tuple[str, str]]:
    """Path -> (before, after) of every change ``transform`` recorded on ``obj``."""
    context = TransformContext()
    transform(obj, context)
    return {r.path: (r.before, r.after) for r in context.rewrites}


MIRROR = RegistryMapping({"registry.shop.example": "mirror.local:5000"})
SERVICE_RANGE = IpMapping(tuple(parse_ip_mappings(["10.96.0.0/16=10.112.0.0/16"])), in_data=True)
PROD = NamespaceMapping(parse_namespace_mappings(["shop=shop-prod"]))
CLEAN = CleanContext(frozenset(), frozenset(), frozenset())


# -- pods, templates and containers -----------------------------------------------------------


# What each transform rewrites in a container: where, the value before, and after.
CONTAINER_REWRITES = [
    pytest.param(MIRROR, ("image",), IMAGE, "mirror.local:5000/shop/api:1.4", id="map-registry"),
    pytest.param(SERVICE_RANGE, ("env", 0, "value"), ADDRESS, "10.112.0.50", id="map-ip-in-data"),
    pytest.param(
        PROD, ("env", 1, "value"), SERVICE_URL, "http://api.shop-prod.svc:8080/orders",
        id="map-namespace",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("transform", "at", "before", "after"), CONTAINER_REWRITES)
@pytest.mark.parametrize("list_name", CONTAINER_LISTS)
@pytest.mark.parametrize(("version", "kind", "place"), POD_KINDS)
def test_transforms_rewrite_containers_in_every_container_list_of_every_pod_kind(
    version: str,
    kind: str,
    place: PodLocation,
    list_name: str,
    transform: Transform,
    at: tuple[str | int, ...],
    before: str,
    after: str,
) -> None:
    obj = running(version, kind, place, list_name)
    path = render_path((*place.spec, list_name, 0, *at))
    assert changes(transform, obj)[path] == (before, after)


@pytest.mark.parametrize(("version", "kind", "place"), POD_KINDS)
def test_cleaning_drops_the_creation_timestamp_of_every_template_of_every_pod_kind(
    version: str, kind: str, place: PodLocation
) -> None:
    obj = running(version, kind, place)
    cleaned, _ = clean_object(obj, CLEAN)
    for template in place.templates:
        assert value_at(obj, (*template, "metadata", "creationTimestamp")) is None
        assert value_at(cleaned, (*template, "metadata", "creationTimestamp")) is MISSING
    assert value_at(cleaned, (*place.metadata, "labels")) == LABELS


def test_every_pod_kind_but_the_pod_itself_carries_templates() -> None:
    assert [kind for kind, place in POD_LOCATIONS.items() if not place.templates] == [("", "Pod")]


@pytest.mark.parametrize("list_name", CONTAINER_LISTS)
@pytest.mark.parametrize(("version", "kind", "place"), POD_KINDS)
def test_selection_follows_config_maps_and_secrets_of_every_container_list_of_every_pod_kind(
    version: str, kind: str, place: PodLocation, list_name: str
) -> None:
    facts = facts_of(running(version, kind, place, list_name))
    assert {
        ObjectRef("", "ConfigMap", "shop", "shop-config"),
        ObjectRef("", "ConfigMap", "shop", "static"),
        ObjectRef("", "Secret", "shop", "db-credentials"),
        ObjectRef("", "ServiceAccount", "shop", "default"),
    } <= facts.references
    assert facts.pod_labels == LABELS


@pytest.mark.parametrize("place", CUSTOM_POD_LOCATIONS, ids=lambda place: render_path(place.pod))
def test_selection_finds_pods_in_custom_resources_shaped_like_workloads(
    place: PodLocation,
) -> None:
    widget = running("example.com/v1", "Widget", place)
    facts = facts_of(widget, crd_name="widgets.example.com")
    # A volume's configMap is found only by reading the template as a pod spec.
    assert ObjectRef("", "ConfigMap", "shop", "static") in facts.references
    assert ObjectRef("", "ServiceAccount", "shop", "default") in facts.references
    assert facts.pod_labels == LABELS


@pytest.mark.parametrize("place", CUSTOM_POD_LOCATIONS, ids=lambda place: render_path(place.pod))
def test_transforms_leave_custom_resources_templates_alone(place: PodLocation) -> None:
    widget = running("example.com/v1", "Widget", place)
    for transform in (MIRROR, SERVICE_RANGE):
        assert changes(transform, widget) == {}


@pytest.mark.parametrize(("group", "kind"), list(POD_LOCATIONS))
def test_a_custom_kind_named_like_a_built_in_is_not_taken_for_it(group: str, kind: str) -> None:
    impostor = running("example.com/v1", kind, POD_LOCATIONS[group, kind])
    assert changes(MIRROR, impostor) == {}
    assert changes(SERVICE_RANGE, impostor) == {}


# -- addresses --------------------------------------------------------------------------------


def service(**spec: Any) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "dns", "namespace": "shop"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        (CLUSTER_IP, ADDRESS, f"spec.{CLUSTER_IP}"),
        (CLUSTER_IPS, [ADDRESS], f"spec.{CLUSTER_IPS}[0]"),
        (EXTERNAL_IPS, [ADDRESS], f"spec.{EXTERNAL_IPS}[0]"),
        (LOAD_BALANCER_IP, ADDRESS, f"spec.{LOAD_BALANCER_IP}"),
    ],
)
def test_map_ip_rewrites_every_address_field_of_a_service(
    field: str, value: Any, path: str
) -> None:
    assert changes(SERVICE_RANGE, service(**{field: value}))[path] == (ADDRESS, "10.112.0.50")


@pytest.mark.parametrize("field", [CLUSTER_IP, CLUSTER_IPS])
def test_import_clears_cluster_ips_unless_mapped(field: str) -> None:
    obj = service(**{field: ADDRESS if field == CLUSTER_IP else [ADDRESS]})
    assert field not in clear_cluster_ips(obj)["spec"]
    mapped = SERVICE_RANGE(copy.deepcopy(obj), TransformContext())
    assert isinstance(mapped, dict)
    assert KEEP_CLUSTER_IPS in mapped["metadata"]["annotations"]
    kept = clear_cluster_ips(mapped)
    assert field in kept["spec"]
    assert "annotations" not in kept["metadata"]


def test_import_keeps_a_headless_services_cluster_ip() -> None:
    obj = service(**{CLUSTER_IP: HEADLESS, CLUSTER_IPS: [HEADLESS]})
    assert clear_cluster_ips(obj)["spec"] == obj["spec"]
    assert changes(SERVICE_RANGE, obj) == {}


@pytest.mark.parametrize("list_name", ENDPOINT_ADDRESS_LISTS)
def test_map_ip_rewrites_every_address_list_of_hand_written_endpoints(list_name: str) -> None:
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "legacy", "namespace": "shop"},
        "subsets": [{list_name: [{"ip": ADDRESS}]}],
    }
    path = f"subsets[0].{list_name}[0].ip"
    assert changes(SERVICE_RANGE, endpoints) == {path: (ADDRESS, "10.112.0.50")}


ADDRESSES_BY_TYPE = {"IPv4": ("10.96.0.50", "10.112.0.50"), "IPv6": ("fd00::50", "fd01::50")}


@pytest.mark.parametrize("address_type", [*IP_ADDRESS_TYPES, "FQDN"])
def test_map_ip_rewrites_endpoint_slices_of_every_ip_address_type(address_type: str) -> None:
    before, after = ADDRESSES_BY_TYPE.get(address_type, (ADDRESS, ADDRESS))
    mapping = IpMapping(
        tuple(parse_ip_mappings(["10.96.0.0/16=10.112.0.0/16", "fd00::/112=fd01::/112"]))
    )
    endpoint_slice = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "legacy-1", "namespace": "shop"},
        "addressType": address_type,
        "endpoints": [{"addresses": [before]}],
    }
    expected = {} if before == after else {"endpoints[0].addresses[0]": (before, after)}
    assert changes(mapping, endpoint_slice) == expected


# -- names ------------------------------------------------------------------------------------
# Examples from the apiserver's own tests (k8s.io/apimachinery/pkg/util/validation).

DNS_LABELS = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "a" * 63]
NOT_DNS_LABELS = [
    "", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a",
    "a_b", ".", "a.", ".a", "a.b", " ", "a ", " a", "a b", "a" * 64,
]  # fmt: skip
DNS_SUBDOMAINS = ["a", "ab", "a.b", "a-1.b-2", "0.a", "1.2.3", "a" * 253, "a." * 126 + "a"]
NOT_DNS_SUBDOMAINS = [
    "", "A", "a..b", "-a.b", "a.b-", "a.-b", "a_b", ".a", "a.", "a b", "a" * 254, "a." * 127,
]  # fmt: skip
QUALIFIED_NAMES = [
    "simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple",
    "now-with-dashes/simple", "now.with.dots/now-with-dashes",
    "now-with.dashes-and.dots/now_with_underscores", "Now_with_underscores",
    "a/" + "a" * 63, "a" * 253 + "/" + "b" * 63,
]  # fmt: skip
NOT_QUALIFIED_NAMES = [
    "", "*", "nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-",
    "only/one/slash", "Example.com/abc", "example_com/abc", "/simple", "a" * 64,
    "a" * 254 + "/abc", "example.com/",
]  # fmt: skip
LABEL_VALUES = [
    "", "simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "a" * 63,
]  # fmt: skip
NOT_LABEL_VALUES = [
    "nospecialchars%^=@", "Tama-nui-te-rā", '"quotes"', "no spaces", "-dashstart", "dashend-",
    ".dotstart", "_underscore", "a" * 64,
]  # fmt: skip
PATH_SEGMENTS = ["a", "Shop", "foo.bar", "system:node", "A_b", "a" * DNS_SUBDOMAIN_MAX]
NOT_PATH_SEGMENTS = [".", "..", "a/b", "../etc", "a%2f", "", "a" * 254, "a\x00b", "a\x07b"]


# The rule, the flag whose names follow it, and the names the apiserver accepts and refuses.
DNS_NAMES = [
    ("namespace-label", is_dns_label, parse_namespace_mappings, DNS_LABELS, NOT_DNS_LABELS),
    (
        "storage-class-subdomain",
        is_dns_subdomain,
        parse_storage_class_mappings,
        DNS_SUBDOMAINS,
        NOT_DNS_SUBDOMAINS,
    ),
]


@pytest.mark.parametrize(
    ("rule", "parse", "name", "accepted"),
    [
        pytest.param(rule, parse, name, accepted, id=f"{label}-{accepted}-{index}")
        for label, rule, parse, good, bad in DNS_NAMES
        for accepted, names in ((True, good), (False, bad))
        for index, name in enumerate(names)
    ],
)
def test_dns_names_are_accepted_by_flags_exactly_as_the_apiserver_accepts_them(
    rule: Callable[[str], bool],
    parse: Callable[[list[str]], dict[str, str]],
    name: str,
    accepted: bool,
) -> None:
    assert rule(name) is accepted
    if accepted:
        assert parse([f"zz-old={name}"]) == {"zz-old": name}
    else:
        with pytest.raises(UsageError, match="is not a valid"):
            parse([f"zz-old={name}"])


@pytest.mark.parametrize("key", QUALIFIED_NAMES)
def test_a_label_key_the_apiserver_accepts_is_accepted_by_flags_and_selectors(key: str) -> None:
    assert qualified_name_problem(key) is None
    assert parse_labels([f"{key}=x"]) == {key: "x"}
    assert parse_selector(f"{key}=x").requirements[0].key == key


@pytest.mark.parametrize("key", NOT_QUALIFIED_NAMES)
def test_a_label_key_the_apiserver_refuses_is_refused_by_flags_and_selectors(key: str) -> None:
    problem = qualified_name_problem(key)
    assert problem is not None
    assert problem.startswith(f"{key!r} is not a valid key: ")
    with pytest.raises(UsageError, match="is not a valid key"):
        parse_labels([f"{key}=x"])
    with pytest.raises(UsageError, match="invalid label selector"):
        parse_selector(f"{key}=x")


@pytest.mark.parametrize("value", LABEL_VALUES)
def test_a_label_value_the_apiserver_accepts_is_accepted_by_flags_and_selectors(
    value: str,
) -> None:
    assert is_label_value(value)
    assert parse_labels([f"app={value}"]) == {"app": value}
    assert parse_selector(f"app in ({value or 'x'})").matches({"app": value or "x"})


@pytest.mark.parametrize("value", NOT_LABEL_VALUES)
def test_a_label_value_the_apiserver_refuses_is_refused_by_flags_and_selectors(value: str) -> None:
    assert not is_label_value(value)
    with pytest.raises(UsageError, match="is not a valid label value"):
        parse_labels([f"app={value}"])
    with pytest.raises(UsageError, match="invalid label selector"):
        parse_selector(f"app in ({value})")


@pytest.mark.parametrize("name", PATH_SEGMENTS)
def test_any_kind_may_have_a_name_usable_as_a_path_segment(name: str) -> None:
    assert path_segment_problem(name) is None
    assert object_name_problem(("", "ConfigMap"), name) is None


@pytest.mark.parametrize("name", NOT_PATH_SEGMENTS)
def test_no_kind_may_have_a_name_unusable_as_a_path_segment(name: str) -> None:
    assert path_segment_problem(name) is not None
    for kind in [("", "ConfigMap"), ("rbac.authorization.k8s.io", "ClusterRole"), *NAME_RULES]:
        assert object_name_problem(kind, name) is not None


# What each kind's rule refuses that a path segment allows, and the flag that names the kind.
KIND_NAME_CASES = {
    ("", "Namespace"): ("Shop_1", "shop-1", parse_namespace_mappings),
    ("storage.k8s.io", "StorageClass"): ("Fast_SSD", "fast.ssd", parse_storage_class_mappings),
}


def test_every_kind_with_a_name_rule_is_tested() -> None:
    assert set(KIND_NAME_CASES) == set(NAME_RULES)


@pytest.mark.parametrize(("group", "kind"), list(NAME_RULES))
def test_a_kinds_name_rule_is_applied_to_that_kind_only(group: str, kind: str) -> None:
    refused, accepted, _ = KIND_NAME_CASES[group, kind]
    noun = NAME_RULES[group, kind].noun
    assert object_name_problem((group, kind), refused) == f"is not a valid {noun} name"
    assert object_name_problem((group, kind), accepted) is None
    assert object_name_problem(("example.com", kind), refused) is None
    assert object_name_problem(("", "ConfigMap"), refused) is None


@pytest.mark.parametrize(("group", "kind"), list(NAME_RULES))
def test_a_mapping_flag_refuses_a_name_its_kind_cannot_have(group: str, kind: str) -> None:
    refused, accepted, parse = KIND_NAME_CASES[group, kind]
    noun = NAME_RULES[group, kind].noun
    with pytest.raises(UsageError, match=f"'{refused}' is not a valid {noun} name"):
        parse([f"{accepted}={refused}"])
    assert parse([f"{accepted}=x"]) == {accepted: "x"}


@pytest.mark.parametrize(("group", "kind"), list(NAME_RULES))
def test_verify_refuses_a_bundle_naming_an_object_against_its_kinds_rule(
    tmp_path: Path, group: str, kind: str
) -> None:
    refused, accepted, _ = KIND_NAME_CASES[group, kind]
    version = api_version(group, "v1")
    objects = [
        {"apiVersion": version, "kind": kind, "metadata": {"name": n}} for n in (accepted, refused)
    ]
    write_bundle(tmp_path / "bad.kbundle", [(1, "cluster", objects)])
    (tmp_path / "work").mkdir()
    with pytest.raises(BundleFormatError) as error:
        verify_bundle(tmp_path / "bad.kbundle", tmp_path / "work")
    noun = NAME_RULES[group, kind].noun
    assert error.value.message.endswith(
        f"document 2: metadata.name {refused} is not a valid {noun} name"
    )
