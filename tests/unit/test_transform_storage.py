"""``--map-storage-class``: claims, claim templates and volumes name the destination's class.

Inputs are the sample app's manifests (``fixtures/sample-app``) and objects read from a real
1.20 apiserver (``fixtures/objects``), which all use the class ``shop-local``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbundle.core.errors import UsageError
from kbundle.core.model import Object, ObjectRef
from kbundle.transforms import registry
from kbundle.transforms.base import Rewrite, Transform, TransformContext, describe
from kbundle.transforms.storage import (
    CLASS_ANNOTATION,
    StorageClassMapping,
    parse_storage_class_mappings,
    storage_class_mapping,
)
from tests.objects import every_object, fixture, sample, sample_app

MAPPING = {"shop-local": "fast-ssd"}


# -- inputs ---------------------------------------------------------------------------------


def run(obj: Object, mapping: dict[str, str] | None = None) -> tuple[Object, list[Rewrite]]:
    context = TransformContext()
    result = StorageClassMapping(MAPPING if mapping is None else mapping)(obj, context)
    return result, context.rewrites


def changes(obj: Object, mapping: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """``path -> (before, after)`` of every change recorded for ``obj``."""
    return {r.path: (r.before, r.after) for r in run(obj, mapping)[1]}


ANNOTATION_PATH = f'metadata.annotations["{CLASS_ANNOTATION}"]'


def with_legacy_annotation(claim: Object, value: str = "shop-local") -> Object:
    """A claim as written before ``storageClassName`` existed: the class in an annotation."""
    del claim["spec"]["storageClassName"]
    claim["metadata"].setdefault("annotations", {})[CLASS_ANNOTATION] = value
    return claim


# -- the contract ---------------------------------------------------------------------------


def test_is_a_transform_named_map_storage_class() -> None:
    transform: Transform = StorageClassMapping(MAPPING)
    assert transform.name == "map-storage-class"


def test_rewrites_name_the_transform_and_the_object_as_it_was() -> None:
    _, rewrites = run(fixture("persistentvolumeclaim-uploads"))
    assert rewrites == [
        Rewrite(
            "map-storage-class",
            ObjectRef("", "PersistentVolumeClaim", "shop", "uploads"),
            "spec.storageClassName",
            "shop-local",
            "fast-ssd",
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
    "mapping", [MAPPING, {"shop-local": "a", "standard": "a", "gp2": "gp3.ebs.example.com"}]
)
def test_applying_twice_changes_nothing_more(mapping: dict[str, str]) -> None:
    for obj in every_object():
        once, _ = run(obj, mapping)
        twice, rewrites = run(once, mapping)
        assert twice == once
        assert rewrites == []


def test_whole_sample_app_keeps_no_claim_on_the_old_class_but_the_class_itself() -> None:
    left = []
    for obj in sample_app():
        result, _ = run(obj)
        if "shop-local" in json.dumps(result):
            left.append(f"{obj['kind']}/{obj['metadata']['name']}")
    assert left == ["StorageClass/shop-local"]


def test_mapping_is_copied_so_later_edits_to_the_dict_change_nothing() -> None:
    mapping = dict(MAPPING)
    transform = StorageClassMapping(mapping)
    mapping["shop-local"] = "elsewhere"
    result = transform(fixture("persistentvolumeclaim-uploads"), TransformContext())
    assert result["spec"]["storageClassName"] == "fast-ssd"


def test_a_hand_built_mapping_is_validated_like_the_flag() -> None:
    with pytest.raises(UsageError, match="--map-storage-class a=B: 'B' is not a valid"):
        StorageClassMapping({"a": "B"})


def test_describe_round_trips_through_the_factory() -> None:
    transform = StorageClassMapping({"shop-local": "fast-ssd", "gp2": "fast-ssd"})
    described = describe(transform)
    assert described == {
        "name": "map-storage-class",
        "args": {"mapping": {"shop-local": "fast-ssd", "gp2": "fast-ssd"}},
    }
    json.dumps(described)  # plain data, fit for a manifest
    rebuilt = storage_class_mapping(described["args"])
    assert rebuilt == transform
    assert describe(rebuilt) == described


def test_factory_is_registered_under_the_transforms_name() -> None:
    built = registry.builtin("map-storage-class", {"mapping": MAPPING})
    assert built == StorageClassMapping(MAPPING)


BAD_MAPPING = "map-storage-class: 'mapping' must map OLD strings to NEW strings"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, BAD_MAPPING),
        ({"mapping": "a=b"}, BAD_MAPPING),
        ({"mapping": {"a": None}}, BAD_MAPPING),
        ({"mapping": MAPPING, "classes": {}}, "map-storage-class: unknown argument 'classes'"),
        ({"mapping": {"a": "a"}}, "--map-storage-class a=a: maps 'a' to itself"),
    ],
)
def test_bad_factory_args_are_refused_in_one_line(args: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        storage_class_mapping(args)
    assert raised.value.message == message


# -- the rules ------------------------------------------------------------------------------


def test_claim_storage_class_name_is_mapped() -> None:
    claim = fixture("persistentvolumeclaim-data-db-0")
    result, _ = run(claim)
    assert result["spec"]["storageClassName"] == "fast-ssd"
    assert changes(claim) == {"spec.storageClassName": ("shop-local", "fast-ssd")}


def test_claims_legacy_class_annotation_is_mapped() -> None:
    claim = with_legacy_annotation(fixture("persistentvolumeclaim-uploads"))
    result, _ = run(claim)
    assert result["metadata"]["annotations"][CLASS_ANNOTATION] == "fast-ssd"
    assert "storageClassName" not in result["spec"]
    assert changes(claim) == {ANNOTATION_PATH: ("shop-local", "fast-ssd")}


def test_claim_with_both_the_field_and_the_annotation_keeps_them_agreeing() -> None:
    claim = sample("PersistentVolumeClaim", "uploads")
    claim["metadata"]["annotations"] = {CLASS_ANNOTATION: "shop-local"}
    assert changes(claim) == {
        "spec.storageClassName": ("shop-local", "fast-ssd"),
        ANNOTATION_PATH: ("shop-local", "fast-ssd"),
    }


def test_statefulset_claim_templates_are_mapped() -> None:
    statefulset = fixture("statefulset-db")
    second = copy.deepcopy(statefulset["spec"]["volumeClaimTemplates"][0])
    second["metadata"] = {"name": "wal", "annotations": {CLASS_ANNOTATION: "shop-local"}}
    del second["spec"]["storageClassName"]
    statefulset["spec"]["volumeClaimTemplates"].append(second)
    result, _ = run(statefulset)
    templates = result["spec"]["volumeClaimTemplates"]
    assert templates[0]["spec"]["storageClassName"] == "fast-ssd"
    assert templates[1]["metadata"]["annotations"][CLASS_ANNOTATION] == "fast-ssd"
    assert changes(statefulset) == {
        "spec.volumeClaimTemplates[0].spec.storageClassName": ("shop-local", "fast-ssd"),
        f"spec.volumeClaimTemplates[1].{ANNOTATION_PATH}": ("shop-local", "fast-ssd"),
    }


def test_statefulset_in_the_sample_app_is_mapped() -> None:
    statefulset = sample("StatefulSet", "db")
    assert changes(statefulset) == {
        "spec.volumeClaimTemplates[0].spec.storageClassName": ("shop-local", "fast-ssd")
    }


def test_persistent_volume_class_is_mapped_so_its_bound_claim_still_matches() -> None:
    volume = fixture("persistentvolume-shop-uploads")
    claim = fixture("persistentvolumeclaim-uploads")
    assert volume["spec"]["claimRef"]["name"] == claim["metadata"]["name"]
    volume_after, _ = run(volume)
    claim_after, _ = run(claim)
    assert volume_after["spec"]["storageClassName"] == "fast-ssd"
    assert volume_after["spec"]["storageClassName"] == claim_after["spec"]["storageClassName"]
    assert changes(volume) == {"spec.storageClassName": ("shop-local", "fast-ssd")}


def test_persistent_volumes_legacy_class_annotation_is_mapped() -> None:
    volume = with_legacy_annotation(fixture("persistentvolume-shop-uploads"))
    assert changes(volume) == {ANNOTATION_PATH: ("shop-local", "fast-ssd")}


def test_objects_naming_no_class_keep_asking_for_the_default() -> None:
    claim = fixture("persistentvolumeclaim-uploads")
    del claim["spec"]["storageClassName"]
    statefulset = fixture("statefulset-db")
    del statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"]
    explicit_none = fixture("persistentvolumeclaim-data-db-0")
    explicit_none["spec"]["storageClassName"] = ""  # no class at all: binds a classless PV
    for obj in (claim, statefulset, explicit_none):
        result, rewrites = run(obj, {"shop-local": "fast-ssd", "standard": "fast-ssd"})
        assert result == obj
        assert rewrites == []


def test_classes_not_in_the_mapping_are_left_alone() -> None:
    claim = fixture("persistentvolumeclaim-uploads")
    result, rewrites = run(claim, {"gp2": "standard"})
    assert result == claim
    assert rewrites == []


def test_storage_class_objects_are_not_renamed() -> None:
    storage_class = sample("StorageClass", "shop-local")
    result, rewrites = run(storage_class)
    assert result == storage_class
    assert rewrites == []


def test_other_kinds_naming_a_class_are_left_alone() -> None:
    widget = fixture("widget-storefront")
    widget["spec"]["storageClassName"] = "shop-local"
    deployment = fixture("deployment-api")
    deployment["metadata"]["annotations"][CLASS_ANNOTATION] = "shop-local"
    for obj in (widget, deployment):
        result, rewrites = run(obj)
        assert result == obj
        assert rewrites == []


def test_merging_classes_is_allowed() -> None:
    mapping = {"shop-local": "standard", "gp2": "standard"}
    claim = fixture("persistentvolumeclaim-uploads")
    other = fixture("persistentvolumeclaim-data-db-0")
    other["spec"]["storageClassName"] = "gp2"
    assert run(claim, mapping)[0]["spec"]["storageClassName"] == "standard"
    assert run(other, mapping)[0]["spec"]["storageClassName"] == "standard"


def test_malformed_fields_are_left_alone() -> None:
    claim = fixture("persistentvolumeclaim-uploads")
    claim["spec"]["storageClassName"] = ["shop-local"]
    claim["metadata"]["annotations"] = "shop-local"
    statefulset = fixture("statefulset-db")
    statefulset["spec"]["volumeClaimTemplates"] += ["shop-local", {"spec": "shop-local"}]
    for obj in (claim, statefulset):
        result, _ = run(obj)
        assert result["metadata"] == obj["metadata"]
    assert run(claim)[0] == claim


# -- parsing --flag values ------------------------------------------------------------------


def test_flag_values_parse_into_a_mapping() -> None:
    assert parse_storage_class_mappings(["shop-local=fast-ssd"]) == MAPPING
    assert parse_storage_class_mappings([]) == {}
    assert parse_storage_class_mappings(["gp2=ebs.csi.aws.com", "a=ebs.csi.aws.com"]) == {
        "gp2": "ebs.csi.aws.com",
        "a": "ebs.csi.aws.com",
    }
    long_name = ".".join(["a" * 63] * 3) + "." + "b" * 61  # 253 characters
    assert parse_storage_class_mappings([f"x={long_name}"]) == {"x": long_name}


CHAINED = "chained mappings depend on their order; map each class to its final name"
TOO_LONG = ".".join(["a" * 63] * 4)  # 255 characters


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["shop-local"], "--map-storage-class shop-local: expected OLD=NEW"),
        ([""], "--map-storage-class '': expected OLD=NEW"),
        (["=x"], "--map-storage-class =x: '' is not a valid storage class name"),
        (["x="], "--map-storage-class x=: '' is not a valid storage class name"),
        (["Fast=x"], "--map-storage-class Fast=x: 'Fast' is not a valid storage class name"),
        (
            ["x=fast_ssd"],
            "--map-storage-class x=fast_ssd: 'fast_ssd' is not a valid storage class name",
        ),
        (["-x=y"], "--map-storage-class -x=y: '-x' is not a valid storage class name"),
        (["x.=y"], "--map-storage-class x.=y: 'x.' is not a valid storage class name"),
        (["x..y=z"], "--map-storage-class x..y=z: 'x..y' is not a valid storage class name"),
        (["x=y=z"], "--map-storage-class x=y=z: 'y=z' is not a valid storage class name"),
        (
            [f"x={TOO_LONG}"],
            f"--map-storage-class x={TOO_LONG}: '{TOO_LONG}' is not a valid storage class name",
        ),
        (["a=a"], "--map-storage-class a=a: maps 'a' to itself"),
        (["a=x", "a=y"], "--map-storage-class a=y: 'a' is already mapped to 'x'"),
        (["a=b", "b=c"], f"--map-storage-class b=c: 'a' is already mapped to 'b': {CHAINED}"),
        (["b=c", "a=b"], f"--map-storage-class a=b: 'b' is itself mapped to 'c': {CHAINED}"),
        (["a=b", "b=a"], f"--map-storage-class b=a: 'a' is itself mapped to 'b': {CHAINED}"),
        (["a\nb=c"], "--map-storage-class 'a\\nb=c': 'a\\nb' is not a valid storage class name"),
    ],
)
def test_bad_flag_values_are_refused_in_one_line_naming_the_value(
    values: list[str], message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        parse_storage_class_mappings(values)
    assert raised.value.message == message
    assert raised.value.hint


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=3))
def test_any_flag_value_parses_or_is_refused_in_one_line(values: list[str]) -> None:
    try:
        mapping = parse_storage_class_mappings(values)
    except UsageError as error:
        assert len(error.message.splitlines()) == 1
        assert error.message.startswith("--map-storage-class ")
    else:
        assert len(mapping) == len(values)


CLASSES = st.sampled_from(["shop-local", "a", "b", "c", "standard"])


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(CLASSES, CLASSES), min_size=1, max_size=4), claimed=CLASSES)
def test_any_accepted_mapping_changes_nothing_more_when_applied_again(
    pairs: list[tuple[str, str]], claimed: str
) -> None:
    try:
        mapping = parse_storage_class_mappings([f"{old}={new}" for old, new in pairs])
    except UsageError:
        return
    claim = fixture("persistentvolumeclaim-uploads")
    claim["spec"]["storageClassName"] = claimed
    once, _ = run(claim, mapping)
    assert once["spec"]["storageClassName"] == mapping.get(claimed, claimed)
    twice, rewrites = run(once, mapping)
    assert twice == once and rewrites == []
