"""``--map-registry``: container images are pulled from mirrors, tag and digest kept.

Inputs are the sample app's manifests (``fixtures/sample-app``) and objects read from a real
1.20 apiserver (``fixtures/objects``), whose images all live on ``registry.shop.example``.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbundle.core.errors import UsageError
from kbundle.core.model import Object, ObjectRef
from kbundle.transforms import registry
from kbundle.transforms.base import Rewrite, Transform, TransformContext, describe
from kbundle.transforms.images import (
    RegistryMapping,
    UnmappableImage,
    parse_image,
    parse_registry_mappings,
    registry_mapping,
)
from tests.objects import every_object, fixture, sample, sample_app

MIRROR = {"registry.shop.example": "mirror.local:5000"}
DIGEST = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"


# -- inputs ---------------------------------------------------------------------------------


def run(obj: Object, mapping: dict[str, str] | None = None) -> tuple[Object, list[Rewrite]]:
    context = TransformContext()
    result = RegistryMapping(MIRROR if mapping is None else mapping)(obj, context)
    return result, context.rewrites


def changes(obj: Object, mapping: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """``path -> (before, after)`` of every change recorded for ``obj``."""
    return {r.path: (r.before, r.after) for r in run(obj, mapping)[1]}


def mapped(image: str, mapping: dict[str, str]) -> str:
    return RegistryMapping(mapping).map_image(image)


# -- the contract ---------------------------------------------------------------------------


def test_is_a_transform_named_map_registry() -> None:
    transform: Transform = RegistryMapping(MIRROR)
    assert transform.name == "map-registry"


def test_rewrites_name_the_transform_and_the_object_as_it_was() -> None:
    pod = fixture("pod-debug-shell")
    _, rewrites = run(pod)
    assert rewrites == [
        Rewrite(
            "map-registry",
            ObjectRef("", "Pod", "shop", "debug-shell"),
            "spec.containers[0].image",
            "registry.shop.example/library/busybox:1.36",
            "mirror.local:5000/library/busybox:1.36",
        )
    ]


def test_input_is_never_mutated() -> None:
    for obj in every_object():
        before = copy.deepcopy(obj)
        result, _ = run(obj)
        assert obj == before
        assert result is not obj


def test_empty_mapping_returns_an_equal_copy_and_records_nothing() -> None:
    for obj in every_object():
        result, rewrites = run(obj, {})
        assert result == obj
        assert result is not obj
        assert rewrites == []


@pytest.mark.parametrize(
    "mapping",
    [
        MIRROR,
        {"registry.shop.example/shop": "mirror.local/shop", "docker.io": "mirror.local/hub"},
        {"registry.shop.example": "docker.io/shopmirror"},
    ],
)
def test_applying_twice_changes_nothing_more(mapping: dict[str, str]) -> None:
    for obj in every_object():
        once, _ = run(obj, mapping)
        twice, rewrites = run(once, mapping)
        assert twice == once
        assert rewrites == []


def _images(node: Any) -> list[str]:
    """Every ``image`` string anywhere in ``node``."""
    if isinstance(node, dict):
        found = [node["image"]] if isinstance(node.get("image"), str) else []
        return found + [i for value in node.values() for i in _images(value)]
    if isinstance(node, list):
        return [i for value in node for i in _images(value)]
    return []


def test_every_image_of_the_sample_app_moves_to_the_mirror() -> None:
    recorded: list[str] = []
    for obj in sample_app():
        result, rewrites = run(obj)
        recorded += [r.after for r in rewrites]
        assert all(image.startswith("mirror.local:5000/") for image in _images(result))
    assert len(recorded) == 8  # 7 workloads, the api Deployment with an init container


def test_mapping_is_copied_so_later_edits_to_the_dict_change_nothing() -> None:
    mapping = dict(MIRROR)
    transform = RegistryMapping(mapping)
    mapping["registry.shop.example"] = "elsewhere.example"
    assert transform.map_image("registry.shop.example/x:1") == "mirror.local:5000/x:1"


def test_a_hand_built_mapping_is_validated_like_the_flag() -> None:
    with pytest.raises(UsageError, match=r"--map-registry a\.io=https://b\.io: 'https://b\.io'"):
        RegistryMapping({"a.io": "https://b.io"})


def test_describe_round_trips_through_the_factory() -> None:
    transform = RegistryMapping({"docker.io": "mirror.local/hub", **MIRROR})
    described = describe(transform)
    assert described == {
        "name": "map-registry",
        "args": {"mapping": {"docker.io": "mirror.local/hub", **MIRROR}},
    }
    json.dumps(described)  # plain data, fit for a manifest
    rebuilt = registry_mapping(described["args"])
    assert rebuilt == transform
    assert describe(rebuilt) == described


def test_factory_is_registered_under_the_transforms_name() -> None:
    assert registry.builtin("map-registry", {"mapping": MIRROR}) == RegistryMapping(MIRROR)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "map-registry: 'mapping' must map OLD strings to NEW strings"),
        ({"mapping": ["a.io=b.io"]}, "map-registry: 'mapping' must map OLD strings to NEW strings"),
        ({"mapping": {"a.io": 1}}, "map-registry: 'mapping' must map OLD strings to NEW strings"),
        ({"mapping": MIRROR, "registries": {}}, "map-registry: unknown argument 'registries'"),
        ({"mapping": {"a.io": "a.io"}}, "--map-registry a.io=a.io: maps 'a.io' to itself"),
    ],
)
def test_bad_factory_args_are_refused_in_one_line(args: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        registry_mapping(args)
    assert raised.value.message == message


# -- where images are -----------------------------------------------------------------------


def test_pod_containers_are_mapped() -> None:
    pod = fixture("pod-debug-shell")
    result, _ = run(pod)
    assert result["spec"]["containers"][0]["image"] == "mirror.local:5000/library/busybox:1.36"


def test_init_containers_are_mapped() -> None:
    deployment = fixture("deployment-api")
    assert changes(deployment) == {
        "spec.template.spec.containers[0].image": (
            f"registry.shop.example/shop/api@{DIGEST}",
            f"mirror.local:5000/shop/api@{DIGEST}",
        ),
        "spec.template.spec.initContainers[0].image": (
            "registry.shop.example/library/busybox:1.36",
            "mirror.local:5000/library/busybox:1.36",
        ),
    }


def test_ephemeral_containers_are_mapped() -> None:
    pod = fixture("pod-api-replica")
    pod["spec"]["ephemeralContainers"] = [
        {"name": "debugger", "image": "registry.shop.example/library/busybox:1.36"}
    ]
    assert changes(pod)["spec.ephemeralContainers[0].image"] == (
        "registry.shop.example/library/busybox:1.36",
        "mirror.local:5000/library/busybox:1.36",
    )


def _replication_controller() -> Object:
    deployment = sample("Deployment", "frontend")
    deployment.update(apiVersion="v1", kind="ReplicationController")
    return deployment


def _pod_template() -> Object:
    deployment = sample("Deployment", "frontend")
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "frontend", "namespace": "shop"},
        "template": deployment["spec"]["template"],
    }


def _extensions_deployment() -> Object:
    deployment = fixture("deployment-api")
    deployment["apiVersion"] = "extensions/v1beta1"
    return deployment


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        (fixture("pod-db-0"), "spec.containers[0].image"),
        (sample("Pod", "debug-shell"), "spec.containers[0].image"),
        (sample("Deployment", "frontend"), "spec.template.spec.containers[0].image"),
        (_extensions_deployment(), "spec.template.spec.containers[0].image"),
        (fixture("replicaset-api"), "spec.template.spec.containers[0].image"),
        (fixture("statefulset-db"), "spec.template.spec.containers[0].image"),
        (fixture("daemonset-log-agent"), "spec.template.spec.containers[0].image"),
        (fixture("job-migrate-schema"), "spec.template.spec.containers[0].image"),
        (_replication_controller(), "spec.template.spec.containers[0].image"),
        (_pod_template(), "template.spec.containers[0].image"),
        (
            fixture("cronjob-nightly-report"),  # batch/v1beta1, as 1.20 serves it
            "spec.jobTemplate.spec.template.spec.containers[0].image",
        ),
    ],
    ids=lambda v: v["kind"] + "@" + v["apiVersion"] if isinstance(v, dict) else v,
)
def test_each_kinds_pod_spec_is_found_in_any_version(obj: Object, path: str) -> None:
    before, after = changes(obj)[path]
    assert after == before.replace("registry.shop.example/", "mirror.local:5000/")


def test_other_kinds_are_left_alone_even_with_a_pod_template_shape() -> None:
    widget = fixture("widget-storefront")
    widget["spec"]["template"] = {
        "spec": {"containers": [{"name": "x", "image": "registry.shop.example/shop/x:1"}]}
    }
    config_map = sample("ConfigMap", "feature-flags")
    config_map["data"] = {"image": "registry.shop.example/shop/x:1"}
    for obj in (widget, config_map):
        result, rewrites = run(obj)
        assert result == obj
        assert rewrites == []


def test_malformed_containers_are_skipped() -> None:
    pod = fixture("pod-debug-shell")
    pod["spec"]["containers"] += ["not a container", {"name": "x", "image": 7}, {"name": "y"}]
    pod["spec"]["initContainers"] = {"not": "a list"}
    result, _ = run(pod)
    assert result["spec"]["containers"][1:] == pod["spec"]["containers"][1:]
    assert result["spec"]["initContainers"] == {"not": "a list"}


# -- what an image becomes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("registry.shop.example/shop/api:1.4", "mirror.local:5000/shop/api:1.4"),
        (f"registry.shop.example/shop/api@{DIGEST}", f"mirror.local:5000/shop/api@{DIGEST}"),
        (
            f"registry.shop.example/shop/api:1.4@{DIGEST}",
            f"mirror.local:5000/shop/api:1.4@{DIGEST}",
        ),
        ("registry.shop.example/shop/api", "mirror.local:5000/shop/api"),
        ("registry.shop.example/a/b/c/d:v1.2.3-rc.1_x", "mirror.local:5000/a/b/c/d:v1.2.3-rc.1_x"),
    ],
)
def test_tag_and_digest_are_kept(image: str, expected: str) -> None:
    assert mapped(image, MIRROR) == expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("registry.shop.example/shop/api:1.4", "mirror.local/shop-mirror/api:1.4"),
        ("registry.shop.example/shop/x/y", "mirror.local/shop-mirror/x/y"),
        ("registry.shop.example/shop:1", "mirror.local/shop-mirror:1"),
        ("registry.shop.example/shopping/x", "registry.shop.example/shopping/x"),
        ("registry.shop.example/shop-x/api", "registry.shop.example/shop-x/api"),
        ("registry.shop.example/ops/shop/api", "registry.shop.example/ops/shop/api"),
        ("registry.shop.example.org/shop/api", "registry.shop.example.org/shop/api"),
        ("other.example/registry.shop.example/shop", "other.example/registry.shop.example/shop"),
    ],
)
def test_a_path_prefix_matches_whole_path_components(image: str, expected: str) -> None:
    assert mapped(image, {"registry.shop.example/shop": "mirror.local/shop-mirror"}) == expected


def test_the_longest_matching_old_wins() -> None:
    mapping = {
        "registry.shop.example": "mirror.local/all",
        "registry.shop.example/shop": "mirror.local/shop",
        "registry.shop.example/shop/api": "mirror.local/api-only",
    }
    assert mapped("registry.shop.example/ops/x:1", mapping) == "mirror.local/all/ops/x:1"
    assert mapped("registry.shop.example/shop/web:1", mapping) == "mirror.local/shop/web:1"
    assert mapped("registry.shop.example/shop/api:1", mapping) == "mirror.local/api-only:1"
    assert mapped("registry.shop.example/shop/api/x", mapping) == "mirror.local/api-only/x"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx:1.25", "mirror.local/library/nginx:1.25"),
        ("nginx", "mirror.local/library/nginx"),
        ("library/nginx", "mirror.local/library/nginx"),
        ("bitnami/redis:7", "mirror.local/bitnami/redis:7"),
        ("docker.io/nginx:1.25", "mirror.local/library/nginx:1.25"),
        ("docker.io/library/nginx", "mirror.local/library/nginx"),
        ("index.docker.io/nginx", "mirror.local/library/nginx"),
        ("registry-1.docker.io/bitnami/redis:7", "mirror.local/bitnami/redis:7"),
        (f"nginx@{DIGEST}", f"mirror.local/library/nginx@{DIGEST}"),
        ("a/b/c:1", "mirror.local/a/b/c:1"),
        ("registry.shop.example/nginx", "registry.shop.example/nginx"),
        ("localhost/nginx", "localhost/nginx"),  # localhost is a host
        ("localhost:5000/nginx", "localhost:5000/nginx"),
        ("my-registry:5000/nginx", "my-registry:5000/nginx"),  # ':' makes a host
        ("Registry/nginx", "Registry/nginx"),  # upper case makes a host
        ("docker.io.evil.example/nginx", "docker.io.evil.example/nginx"),
    ],
)
def test_docker_hub_names_are_read_as_docker_reads_them(image: str, expected: str) -> None:
    assert mapped(image, {"docker.io": "mirror.local"}) == expected


@pytest.mark.parametrize(
    ("image", "mapping", "expected"),
    [
        ("localhost/shop/api:1", {"localhost": "mirror.local"}, "mirror.local/shop/api:1"),
        ("reg:5000/api:1", {"reg:5000": "mirror.local"}, "mirror.local/api:1"),
        ("Registry/api:1", {"Registry": "mirror.local"}, "mirror.local/api:1"),
        ("[::1]:5000/api:1", {"[::1]:5000": "mirror.local"}, "mirror.local/api:1"),
    ],
)
def test_hosts_without_a_dot_are_hosts_as_docker_reads_them(
    image: str, mapping: dict[str, str], expected: str
) -> None:
    assert mapped(image, mapping) == expected


@pytest.mark.parametrize("old", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_every_spelling_of_docker_hub_is_docker_hub(old: str) -> None:
    assert mapped("nginx:1.25", {old: "mirror.local"}) == "mirror.local/library/nginx:1.25"


def test_a_docker_hub_path_prefix_matches_official_images_under_library() -> None:
    mapping = {"docker.io/library": "mirror.local/official"}
    assert mapped("nginx:1.25", mapping) == "mirror.local/official/nginx:1.25"
    assert mapped("bitnami/redis:7", mapping) == "bitnami/redis:7"
    # An OLD is a prefix, never expanded: docker.io/nginx is not the official image.
    assert mapped("nginx:1.25", {"docker.io/nginx": "mirror.local/nginx"}) == "nginx:1.25"


@pytest.mark.parametrize(
    "image",
    [
        "",
        "$(IMAGE)",
        "{{ .Values.image }}",
        "registry.shop.example/Shop/api:1",  # upper case in a path
        "registry.shop.example/shop/api:",  # empty tag
        "registry.shop.example/shop/api@sha256:short",
        "registry.shop.example//api",
        "registry.shop.example/shop/api:1 ",
    ],
)
def test_text_that_is_not_an_image_reference_is_left_alone(image: str) -> None:
    assert parse_image(image) is None
    assert mapped(image, MIRROR) == image
    assert mapped(image, {"docker.io": "mirror.local"}) == image


def test_images_of_other_registries_are_left_alone_and_not_recorded() -> None:
    deployment = fixture("deployment-web-applied")  # registry.shop.example/library/nginx
    result, rewrites = run(deployment, {"quay.io": "mirror.local/quay"})
    assert result == deployment
    assert rewrites == []


def test_status_and_the_last_applied_annotation_are_left_alone() -> None:
    deployment = fixture("deployment-web-applied")
    result, _ = run(deployment)
    assert result["metadata"] == deployment["metadata"]
    assert result["status"] == deployment["status"]


# -- generated names ------------------------------------------------------------------------

COMPONENTS = st.sampled_from(["shop", "shopping", "shop-x", "shop_x", "api", "x", "library"])
TAGS = st.sampled_from(["", ":1.4", ":latest", f"@{DIGEST}", f":1.4@{DIGEST}"])


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.lists(COMPONENTS, min_size=1, max_size=2),
    path=st.lists(COMPONENTS, min_size=1, max_size=4),
    suffix=TAGS,
)
def test_a_prefix_matches_exactly_the_images_whose_path_starts_with_its_components(
    prefix: list[str], path: list[str], suffix: str
) -> None:
    old = "/".join(["registry.shop.example", *prefix])
    image = "/".join(["registry.shop.example", *path]) + suffix
    if path[: len(prefix)] == prefix:
        expected = "/".join(["mirror.local/m", *path[len(prefix) :]]) + suffix
    else:
        expected = image
    assert mapped(image, {old: "mirror.local/m"}) == expected


HUB_SPELLINGS = st.sampled_from(["", "docker.io/", "index.docker.io/", "registry-1.docker.io/"])
HUB_COMPONENTS = st.sampled_from(["nginx", "redis", "bitnami", "library", "a-b", "c__d", "e.f"])


@settings(max_examples=300, deadline=None)
@given(
    spelling=HUB_SPELLINGS,
    path=st.lists(HUB_COMPONENTS, min_size=1, max_size=3),
    suffix=TAGS,
)
def test_every_docker_hub_spelling_maps_to_one_mirror_name(
    spelling: str, path: list[str], suffix: str
) -> None:
    """Docker's rule: no host means docker.io; one component means ``library/`` too."""
    if not spelling and len(path) > 1 and "." in path[0]:
        path = ["x", *path]  # e.f/... would name the host e.f
    full = path if len(path) > 1 else ["library", *path]
    expected = "/".join(["mirror.local", *full]) + suffix
    assert mapped(spelling + "/".join(path) + suffix, {"docker.io": "mirror.local"}) == expected


PREFIXES = st.sampled_from(
    [
        "docker.io",
        "index.docker.io",
        "docker.io/library",
        "docker.io/nginx",
        "docker.io/library/nginx",
        "a.io",
        "a.io/x",
        "a.io/x/y",
        "b.io",
        "b.io/x",
        "localhost:5000",
        "localhost:5000/a.io",
    ]
)
IMAGES = [
    "nginx:1.25",
    "library/nginx",
    "nginx/x",
    "x/y:1",
    "a.io/x:1",
    "a.io/x/y/z",
    "a.io/z",
    "b.io/x/y",
    "localhost:5000/a.io/x",
    "localhost:5000/y",
    f"docker.io/nginx@{DIGEST}",
]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(PREFIXES, PREFIXES), min_size=1, max_size=3))
def test_any_accepted_mapping_changes_nothing_more_when_applied_again(
    pairs: list[tuple[str, str]],
) -> None:
    try:
        mapping = parse_registry_mappings([f"{old}={new}" for old, new in pairs])
    except UsageError:
        return
    transform = RegistryMapping(mapping)
    for image in IMAGES:
        try:
            once = transform.map_image(image)
        except UnmappableImage:
            continue
        assert transform.map_image(once) == once, (mapping, image)


def test_a_whole_repository_mapped_to_a_bare_host_fails_for_that_object() -> None:
    """``mirror.local:1.36`` would be read as the Docker Hub image ``mirror.local``."""
    pod = fixture("pod-debug-shell")
    transform = RegistryMapping({"registry.shop.example/library/busybox": "mirror.local"})
    with pytest.raises(
        UnmappableImage, match=re.escape("'registry.shop.example/library/busybox:1.36'")
    ):
        transform(pod, TransformContext())
    assert (
        RegistryMapping({"registry.shop.example/library": "mirror.local"}).map_image(
            "registry.shop.example/library/busybox:1.36"
        )
        == "mirror.local/busybox:1.36"
    )


def test_a_new_under_its_old_is_refused_because_a_second_run_would_map_again() -> None:
    with pytest.raises(UsageError, match="a second run would map the images again"):
        parse_registry_mappings(["registry.shop.example=registry.shop.example/mirror"])


# -- parsing --flag values ------------------------------------------------------------------


def test_flag_values_parse_into_a_mapping() -> None:
    values = ["registry.shop.example=mirror.local:5000", "docker.io=mirror.local:5000/hub"]
    assert parse_registry_mappings(values) == {
        "registry.shop.example": "mirror.local:5000",
        "docker.io": "mirror.local:5000/hub",
    }
    assert parse_registry_mappings([]) == {}
    assert parse_registry_mappings(["a.io=m.io", "b.io=m.io"]) == {"a.io": "m.io", "b.io": "m.io"}
    assert parse_registry_mappings(["[::1]:5000=localhost:5000/v6"]) == {
        "[::1]:5000": "localhost:5000/v6"
    }


HOST = (
    "does not start with a registry host "
    "(one with a '.' or ':', or localhost; Docker Hub is docker.io)"
)
TAGGED = "holds a tag or digest: give a registry or a path prefix"
AGAIN = "a second run would map the images again; choose a NEW outside every OLD"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["mirror.local"], "--map-registry mirror.local: expected OLD=NEW"),
        ([""], "--map-registry '': expected OLD=NEW"),
        (["=mirror.local"], "--map-registry =mirror.local: OLD is empty"),
        (["a.io="], "--map-registry a.io=: NEW is empty"),
        (
            ["https://a.io=b.io"],
            "--map-registry https://a.io=b.io: 'https://a.io' has a scheme: "
            "write the registry as image names do",
        ),
        (
            ["a.io=http://b.io:5000"],
            "--map-registry a.io=http://b.io:5000: 'http://b.io:5000' has a scheme: "
            "write the registry as image names do",
        ),
        (["a.io/shop:1.4=b.io"], f"--map-registry a.io/shop:1.4=b.io: 'a.io/shop:1.4' {TAGGED}"),
        (["nginx:1.25=b.io"], f"--map-registry nginx:1.25=b.io: 'nginx:1.25' {TAGGED}"),
        (["a.io=b.io/x:1"], f"--map-registry a.io=b.io/x:1: 'b.io/x:1' {TAGGED}"),
        (
            [f"a.io/x@{DIGEST}=b.io"],
            f"--map-registry a.io/x@{DIGEST}=b.io: 'a.io/x@{DIGEST}' {TAGGED}",
        ),
        (["shop=b.io"], f"--map-registry shop=b.io: 'shop' {HOST}"),
        (["bitnami/x=b.io"], f"--map-registry bitnami/x=b.io: 'bitnami/x' {HOST}"),
        (["a.io=mirror"], f"--map-registry a.io=mirror: 'mirror' {HOST}"),
        (["a_b.io=b.io"], f"--map-registry a_b.io=b.io: 'a_b.io' {HOST}"),
        (["a.io:x=b.io"], f"--map-registry a.io:x=b.io: 'a.io:x' {TAGGED}"),
        (
            ["a.io/Shop=b.io"],
            "--map-registry a.io/Shop=b.io: 'Shop' is not a valid repository path component",
        ),
        (["a.io/=b.io"], "--map-registry a.io/=b.io: '' is not a valid repository path component"),
        (
            ["a.io//x=b.io"],
            "--map-registry a.io//x=b.io: '' is not a valid repository path component",
        ),
        (["a.io=b.io=c"], f"--map-registry a.io=b.io=c: 'b.io=c' {HOST}"),
        (["a.io=a.io"], "--map-registry a.io=a.io: maps 'a.io' to itself"),
        (
            ["index.docker.io=docker.io"],
            "--map-registry index.docker.io=docker.io: maps 'docker.io' to itself",
        ),
        (
            ["a.io=m.io", "a.io=n.io"],
            "--map-registry a.io=n.io: 'a.io' is already mapped to 'm.io'",
        ),
        (
            ["docker.io=m.io", "index.docker.io=n.io"],
            "--map-registry index.docker.io=n.io: 'docker.io' is already mapped to 'm.io'",
        ),
        (
            ["a.io=a.io/mirror"],
            f"--map-registry a.io=a.io/mirror: NEW 'a.io/mirror' overlaps OLD 'a.io': {AGAIN}",
        ),
        (
            ["a.io/shop=a.io"],
            f"--map-registry a.io/shop=a.io: NEW 'a.io' overlaps OLD 'a.io/shop': {AGAIN}",
        ),
        (
            ["a.io=b.io", "b.io=c.io"],
            f"--map-registry b.io=c.io: NEW 'b.io' overlaps OLD 'b.io': {AGAIN}",
        ),
        (
            ["b.io=c.io", "a.io=b.io"],
            f"--map-registry a.io=b.io: NEW 'b.io' overlaps OLD 'b.io': {AGAIN}",
        ),
        (
            ["a.io=b.io", "b.io/x=c.io"],
            f"--map-registry b.io/x=c.io: NEW 'b.io' overlaps OLD 'b.io/x': {AGAIN}",
        ),
        (
            ["docker.io/library=b.io", "a.io=docker.io/nginx"],
            "--map-registry a.io=docker.io/nginx: NEW 'docker.io/nginx' overlaps "
            f"OLD 'docker.io/library': {AGAIN}",
        ),
        (["a.io\nb=c.io"], f"--map-registry 'a.io\\nb=c.io': 'a.io\\nb' {HOST}"),
    ],
)
def test_bad_flag_values_are_refused_in_one_line_naming_the_value(
    values: list[str], message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        parse_registry_mappings(values)
    assert raised.value.message == message
    assert raised.value.hint


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=16), min_size=1, max_size=3))
def test_any_flag_value_parses_or_is_refused_in_one_line(values: list[str]) -> None:
    try:
        mapping = parse_registry_mappings(values)
    except UsageError as error:
        assert len(error.message.splitlines()) == 1
        assert error.message.startswith("--map-registry ")
    else:
        assert len(mapping) == len(values)
