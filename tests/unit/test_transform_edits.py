"""Hand-named edits: set and remove labels and annotations, remove fields.

Inputs are the sample app's manifests (``fixtures/sample-app``) and objects read from a real
1.20 apiserver (``fixtures/objects``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbundle.core.errors import UsageError
from kbundle.core.fieldpath import PointerToken, Wildcard, render_path
from kbundle.core.model import LAST_APPLIED, Object, ObjectRef
from kbundle.transforms import registry
from kbundle.transforms.base import (
    ABSENT,
    SECRET_VALUE,
    Rewrite,
    Transform,
    TransformContext,
    describe,
)
from kbundle.transforms.fields import (
    PROTECTED,
    RemoveFields,
    parse_field_path,
    parse_field_paths,
    remove_fields,
)
from kbundle.transforms.metadata import (
    RemoveAnnotations,
    RemoveLabels,
    SetAnnotations,
    SetLabels,
    parse_annotation_keys,
    parse_annotations,
    parse_label_keys,
    parse_labels,
    remove_annotations,
    remove_labels,
    set_annotations,
    set_labels,
)
from tests.objects import every_object, fixture, sample

Edit = SetLabels | RemoveLabels | SetAnnotations | RemoveAnnotations | RemoveFields


# -- inputs ---------------------------------------------------------------------------------


def run(transform: Edit, obj: Object) -> tuple[Object, list[Rewrite]]:
    context = TransformContext()
    result = transform(obj, context)
    return result, context.rewrites


def changes(transform: Edit, obj: Object) -> dict[str, tuple[str, str]]:
    """``path -> (before, after)`` of every change recorded for ``obj``."""
    return {r.path: (r.before, r.after) for r in run(transform, obj)[1]}


def secret_with_last_applied() -> Object:
    """A Secret applied with ``kubectl apply``: its data is in the annotation, in clear."""
    secret = fixture("secret-db-credentials")
    applied = {"apiVersion": "v1", "kind": "Secret", "stringData": {"password": "s3cr3t"}}
    secret["metadata"]["annotations"] = {
        LAST_APPLIED: json.dumps(applied),
        "example.com/owner": "shop",
    }
    secret["stringData"] = {"token": "s3cr3t"}
    return secret


EXAMPLES: list[Edit] = [
    SetLabels({"team": "shop", "app": "api"}),
    RemoveLabels(["app", "tier"]),
    SetAnnotations({"example.com/owner": "shop"}),
    RemoveAnnotations(["deployment.kubernetes.io/revision", LAST_APPLIED]),
    RemoveFields(
        [
            "spec.replicas",
            'metadata.annotations["deployment.kubernetes.io/revision"]',
            "spec.template.spec.containers[*].resources",
            "/spec/tolerations",
            "data",
        ]
    ),
]
FACTORIES: dict[str, Callable[[dict[str, Any]], Transform]] = {
    "set-labels": set_labels,
    "remove-labels": remove_labels,
    "set-annotations": set_annotations,
    "remove-annotations": remove_annotations,
    "remove-fields": remove_fields,
}
EXAMPLE_IDS = [e.name for e in EXAMPLES]


# -- the contract ---------------------------------------------------------------------------


@pytest.mark.parametrize("transform", EXAMPLES, ids=EXAMPLE_IDS)
def test_input_is_never_mutated(transform: Edit) -> None:
    for obj in [*every_object(), secret_with_last_applied()]:
        before = copy.deepcopy(obj)
        result, _ = run(transform, obj)
        assert obj == before
        assert result is not obj


@pytest.mark.parametrize("transform", EXAMPLES, ids=EXAMPLE_IDS)
def test_applying_twice_changes_nothing_more(transform: Edit) -> None:
    for obj in [*every_object(), secret_with_last_applied()]:
        once, _ = run(transform, obj)
        twice, rewrites = run(transform, once)
        assert twice == once
        assert rewrites == []


@pytest.mark.parametrize(
    "transform",
    [SetLabels({}), RemoveLabels([]), SetAnnotations({}), RemoveAnnotations([]), RemoveFields([])],
    ids=EXAMPLE_IDS,
)
def test_nothing_to_do_returns_an_equal_copy_and_records_nothing(transform: Edit) -> None:
    for obj in every_object():
        result, rewrites = run(transform, obj)
        assert result == obj
        assert result is not obj
        assert rewrites == []


@pytest.mark.parametrize("transform", EXAMPLES, ids=EXAMPLE_IDS)
def test_describe_round_trips_through_the_factory(transform: Edit) -> None:
    described = describe(transform)
    assert described["name"] == transform.name
    json.dumps(described)  # plain data, fit for a manifest
    rebuilt = FACTORIES[transform.name](described["args"])
    assert rebuilt == transform
    assert describe(rebuilt) == described


@pytest.mark.parametrize("transform", EXAMPLES, ids=EXAMPLE_IDS)
def test_factory_is_registered_under_the_transforms_name(
    transform: Edit,
) -> None:
    assert registry.builtin(transform.name, describe(transform)["args"]) == transform


def test_describe_args_are_the_documented_shapes() -> None:
    assert [describe(e)["args"] for e in EXAMPLES] == [
        {"labels": {"team": "shop", "app": "api"}},
        {"keys": ["app", "tier"]},
        {"annotations": {"example.com/owner": "shop"}},
        {"keys": ["deployment.kubernetes.io/revision", LAST_APPLIED]},
        {
            "paths": [
                "spec.replicas",
                'metadata.annotations["deployment.kubernetes.io/revision"]',
                "spec.template.spec.containers[*].resources",
                "/spec/tolerations",
                "data",
            ]
        },
    ]


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("set-labels", {}, "set-labels: 'labels' must map strings to strings"),
        ("set-labels", {"labels": {"a": 1}}, "set-labels: 'labels' must map strings to strings"),
        ("set-labels", {"labels": {}, "x": 1}, "set-labels: unknown argument 'x'"),
        (
            "set-labels",
            {"labels": {"a": "b c"}},
            "--set-label a=b c: 'b c' is not a valid label value",
        ),
        ("remove-labels", {"keys": "app"}, "remove-labels: 'keys' must be a list of strings"),
        ("remove-labels", {"keys": [1]}, "remove-labels: 'keys' must be a list of strings"),
        (
            "set-annotations",
            {"annotations": ["a=b"]},
            "set-annotations: 'annotations' must map strings to strings",
        ),
        (
            "remove-annotations",
            {"keys": ["a"], "labels": {}},
            "remove-annotations: unknown argument 'labels'",
        ),
        ("remove-fields", {}, "remove-fields: 'paths' must be a list of strings"),
        (
            "remove-fields",
            {"paths": ["metadata.name"]},
            "--remove-field metadata.name: cannot remove metadata.name: every object needs it",
        ),
    ],
)
def test_bad_factory_args_are_refused_in_one_line(
    name: str, args: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        FACTORIES[name](args)
    assert raised.value.message == message


def test_values_are_copied_so_later_edits_change_nothing() -> None:
    labels = {"team": "shop"}
    keys = ["app"]
    set_transform, remove_transform = SetLabels(labels), RemoveLabels(keys)
    labels["team"] = "other"
    keys.append("tier")
    assert set_transform.labels == {"team": "shop"}
    assert remove_transform.keys == ("app",)


# -- labels ---------------------------------------------------------------------------------


def test_set_label_adds_a_new_label() -> None:
    deployment = fixture("deployment-api")
    result, rewrites = run(SetLabels({"team": "shop"}), deployment)
    assert result["metadata"]["labels"] == {"app": "api", "tier": "backend", "team": "shop"}
    assert rewrites == [
        Rewrite(
            "set-labels",
            ObjectRef("apps", "Deployment", "shop", "api"),
            "metadata.labels.team",
            ABSENT,
            "shop",
        )
    ]


def test_set_label_replaces_an_existing_value() -> None:
    deployment = fixture("deployment-api")
    transform = SetLabels({"tier": "edge", "app.kubernetes.io/part-of": "shop"})
    result, _ = run(transform, deployment)
    assert result["metadata"]["labels"]["tier"] == "edge"
    assert changes(transform, deployment) == {
        "metadata.labels.tier": ("backend", "edge"),
        'metadata.labels["app.kubernetes.io/part-of"]': (ABSENT, "shop"),
    }


def test_set_label_to_the_value_it_has_records_nothing() -> None:
    deployment = fixture("deployment-api")
    result, rewrites = run(SetLabels({"app": "api"}), deployment)
    assert result == deployment
    assert rewrites == []


def test_set_label_makes_the_map_on_an_object_without_labels() -> None:
    cron_job = fixture("cronjob-nightly-report")
    assert "labels" not in cron_job["metadata"]
    result, _ = run(SetLabels({"team": "shop", "empty": ""}), cron_job)
    assert result["metadata"]["labels"] == {"team": "shop", "empty": ""}


def test_labels_are_set_on_the_object_only_not_on_its_pod_template() -> None:
    deployment = fixture("deployment-api")
    result, rewrites = run(SetLabels({"team": "shop"}), deployment)
    assert result["spec"] == deployment["spec"]
    assert [r.path for r in rewrites] == ["metadata.labels.team"]
    result, rewrites = run(RemoveLabels(["app"]), deployment)
    assert result["spec"] == deployment["spec"]
    assert [r.path for r in rewrites] == ["metadata.labels.app"]


def test_remove_label_removes_it_and_records_its_value() -> None:
    deployment = fixture("deployment-api")
    result, _ = run(RemoveLabels(["tier"]), deployment)
    assert result["metadata"]["labels"] == {"app": "api"}
    assert changes(RemoveLabels(["tier"]), deployment) == {
        "metadata.labels.tier": ("backend", ABSENT)
    }


def test_removing_an_absent_label_changes_nothing_and_records_nothing() -> None:
    for obj in (fixture("deployment-api"), fixture("cronjob-nightly-report")):
        result, rewrites = run(RemoveLabels(["team"]), obj)
        assert result == obj
        assert rewrites == []


def test_removing_the_last_label_removes_the_map() -> None:
    deployment = fixture("deployment-api")
    result, _ = run(RemoveLabels(["app", "tier"]), deployment)
    assert "labels" not in result["metadata"]


def test_an_empty_map_that_was_there_stays_when_nothing_was_removed() -> None:
    deployment = fixture("deployment-api")
    deployment["metadata"]["labels"] = {}
    result, _ = run(RemoveLabels(["app"]), deployment)
    assert result["metadata"]["labels"] == {}


def test_malformed_label_maps_are_left_alone() -> None:
    deployment = fixture("deployment-api")
    deployment["metadata"]["labels"] = ["app=api"]
    for transform in (SetLabels({"a": "b"}), RemoveLabels(["app"])):
        result, rewrites = run(transform, deployment)
        assert result == deployment
        assert rewrites == []


# -- annotations ----------------------------------------------------------------------------


def test_set_annotation_adds_and_replaces() -> None:
    pod = fixture("pod-api-replica")
    limit_ranger = pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"]
    transform = SetAnnotations(
        {"example.com/owner": "shop\nteam", "kubernetes.io/limit-ranger": "none"}
    )
    result, _ = run(transform, pod)
    assert result["metadata"]["annotations"] == {
        "kubernetes.io/limit-ranger": "none",
        "example.com/owner": "shop\nteam",
    }
    assert changes(transform, pod) == {
        'metadata.annotations["example.com/owner"]': (ABSENT, "shop\nteam"),
        'metadata.annotations["kubernetes.io/limit-ranger"]': (limit_ranger, "none"),
    }


def test_set_annotation_makes_the_map_on_an_object_without_annotations() -> None:
    cron_job = fixture("cronjob-nightly-report")
    result, _ = run(SetAnnotations({"example.com/owner": ""}), cron_job)
    assert result["metadata"]["annotations"] == {"example.com/owner": ""}


def test_annotations_are_set_on_the_object_only_not_on_its_pod_template() -> None:
    cron_job = fixture("cronjob-nightly-report")
    result, _ = run(SetAnnotations({"example.com/owner": "shop"}), cron_job)
    assert result["spec"] == cron_job["spec"]


def test_remove_annotation_removes_it_and_the_emptied_map() -> None:
    deployment = fixture("deployment-api")
    transform = RemoveAnnotations(["deployment.kubernetes.io/revision", "example.com/absent"])
    result, _ = run(transform, deployment)
    assert "annotations" not in result["metadata"]
    assert changes(transform, deployment) == {
        'metadata.annotations["deployment.kubernetes.io/revision"]': ("1", ABSENT)
    }


def test_removing_an_absent_annotation_changes_nothing_and_records_nothing() -> None:
    deployment = fixture("deployment-api")
    result, rewrites = run(RemoveAnnotations(["example.com/absent"]), deployment)
    assert result == deployment
    assert rewrites == []


def test_secret_annotations_are_recorded_but_its_data_never_touched() -> None:
    secret = secret_with_last_applied()
    for transform in (
        SetAnnotations({"example.com/owner": "ops", LAST_APPLIED: "{}"}),
        RemoveAnnotations(["example.com/owner", LAST_APPLIED]),
        SetLabels({"team": "shop"}),
    ):
        result, rewrites = run(transform, secret)
        assert result["data"] == secret["data"]
        assert result["stringData"] == secret["stringData"]
        recorded = {r.path: (r.before, r.after) for r in rewrites}
        if transform.name != "set-labels":
            assert recorded['metadata.annotations["example.com/owner"]'][0] == "shop"
        assert "s3cr3t" not in json.dumps(recorded)
        assert "cmVkYWN0ZWQ=" not in json.dumps(recorded)


def test_a_secrets_last_applied_annotation_is_recorded_as_a_secret_value() -> None:
    """``kubectl apply`` keeps a Secret's whole manifest, data included, in it."""
    secret = secret_with_last_applied()
    path = f'metadata.annotations["{LAST_APPLIED}"]'
    assert changes(RemoveAnnotations([LAST_APPLIED]), secret)[path] == (SECRET_VALUE, ABSENT)
    assert changes(SetAnnotations({LAST_APPLIED: "{}"}), secret)[path] == (
        SECRET_VALUE,
        SECRET_VALUE,
    )
    deployment = fixture("deployment-web-applied")  # not a Secret: shown as it is
    before = deployment["metadata"]["annotations"][LAST_APPLIED]
    assert changes(RemoveAnnotations([LAST_APPLIED]), deployment)[path] == (before, ABSENT)


# -- label and annotation flags -------------------------------------------------------------


def test_label_and_annotation_flags_parse() -> None:
    assert parse_labels(["team=shop", "app.kubernetes.io/part-of=shop", "empty="]) == {
        "team": "shop",
        "app.kubernetes.io/part-of": "shop",
        "empty": "",
    }
    assert parse_annotations(["example.com/note=a=b, c d", "x="]) == {
        "example.com/note": "a=b, c d",
        "x": "",
    }
    assert parse_label_keys(["app", "example.com/x"]) == ("app", "example.com/x")
    assert parse_annotation_keys([LAST_APPLIED]) == (LAST_APPLIED,)
    assert parse_labels([f"{'a' * 253}/{'b' * 63}={'c' * 63}"]) == {
        f"{'a' * 253}/{'b' * 63}": "c" * 63
    }


@pytest.mark.parametrize(
    ("parse", "values", "message"),
    [
        (parse_labels, ["team"], "--set-label team: expected KEY=VALUE"),
        (
            parse_labels,
            ["=shop"],
            "--set-label =shop: '' is not a valid key: '' is not a valid name",
        ),
        (parse_labels, ["a=b=c"], "--set-label a=b=c: 'b=c' is not a valid label value"),
        (parse_labels, ["a=-b"], "--set-label a=-b: '-b' is not a valid label value"),
        (parse_labels, ["a=b."], "--set-label a=b.: 'b.' is not a valid label value"),
        (parse_labels, ["a=b c"], "--set-label a=b c: 'b c' is not a valid label value"),
        (
            parse_labels,
            [f"a={'b' * 64}"],
            f"--set-label a={'b' * 64}: '{'b' * 64}' is not a valid label value",
        ),
        (
            parse_labels,
            ["-a=b"],
            "--set-label -a=b: '-a' is not a valid key: '-a' is not a valid name",
        ),
        (
            parse_labels,
            [f"{'a' * 64}=b"],
            f"--set-label {'a' * 64}=b: '{'a' * 64}' is not a valid key: "
            f"'{'a' * 64}' is not a valid name",
        ),
        (
            parse_labels,
            ["Example.com/a=b"],
            "--set-label Example.com/a=b: 'Example.com/a' is not a valid key: "
            "'Example.com' is not a DNS subdomain",
        ),
        (
            parse_labels,
            ["/a=b"],
            "--set-label /a=b: '/a' is not a valid key: '' is not a DNS subdomain",
        ),
        (
            parse_labels,
            ["example.com/=b"],
            "--set-label example.com/=b: 'example.com/' is not a valid key: '' is not a valid name",
        ),
        (
            parse_labels,
            ["a/b/c=d"],
            "--set-label a/b/c=d: 'a/b/c' is not a valid key: more than one '/'",
        ),
        (
            parse_labels,
            [f"{'a' * 254}/b=c"],
            f"--set-label {'a' * 254}/b=c: '{'a' * 254}/b' is not a valid key: "
            f"'{'a' * 254}' is not a DNS subdomain",
        ),
        (parse_labels, ["a=1", "a=2"], "--set-label a=2: 'a' is already set to '1'"),
        (
            parse_labels,
            ["a\nb=c"],
            "--set-label 'a\\nb=c': 'a\\nb' is not a valid key: 'a\\nb' is not a valid name",
        ),
        (parse_labels, [""], "--set-label '': expected KEY=VALUE"),
        (
            parse_label_keys,
            ["a b"],
            "--remove-label a b: 'a b' is not a valid key: 'a b' is not a valid name",
        ),
        (
            parse_label_keys,
            [""],
            "--remove-label '': '' is not a valid key: '' is not a valid name",
        ),
        (parse_label_keys, ["app", "app"], "--remove-label app: 'app' is given twice"),
        (parse_annotations, ["note"], "--set-annotation note: expected KEY=VALUE"),
        (
            parse_annotations,
            ["example.com/a b=c"],
            "--set-annotation example.com/a b=c: 'example.com/a b' is not a valid key: "
            "'a b' is not a valid name",
        ),
        (parse_annotations, ["a=1", "a=1"], "--set-annotation a=1: 'a' is already set to '1'"),
        (
            parse_annotation_keys,
            ["example.com/x/y"],
            "--remove-annotation example.com/x/y: 'example.com/x/y' is not a valid key: "
            "more than one '/'",
        ),
        (parse_annotation_keys, ["x", "x"], "--remove-annotation x: 'x' is given twice"),
    ],
)
def test_bad_label_and_annotation_values_are_refused_in_one_line(
    parse: Callable[[list[str]], object], values: list[str], message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        parse(values)
    assert raised.value.message == message
    assert raised.value.hint


NAME_CHARACTERS = "abcXYZ019-_."
QUALIFIED_NAMES = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", fullmatch=True)
SUBDOMAINS = st.from_regex(
    r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?(\.[a-z0-9]{1,5}){0,3}", fullmatch=True
)


@settings(max_examples=300, deadline=None)
@given(prefix=st.none() | SUBDOMAINS, name=QUALIFIED_NAMES, value=st.just("") | QUALIFIED_NAMES)
def test_every_key_and_value_kubernetes_accepts_is_accepted(
    prefix: str | None, name: str, value: str
) -> None:
    key = name if prefix is None else f"{prefix}/{name}"
    assert parse_labels([f"{key}={value}"]) == {key: value}
    assert parse_annotations([f"{key}={value}\n anything"]) == {key: f"{value}\n anything"}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=NAME_CHARACTERS + "/=. \n", max_size=20), min_size=1, max_size=3))
def test_any_label_flag_parses_or_is_refused_in_one_line(values: list[str]) -> None:
    try:
        labels = parse_labels(values)
    except UsageError as error:
        assert len(error.message.splitlines()) == 1
        assert error.message.startswith("--set-label ")
    else:
        assert all(len(v) <= 63 for v in labels.values())


# -- removing fields ------------------------------------------------------------------------


def test_remove_field_by_dotted_path() -> None:
    deployment = fixture("deployment-api")
    transform = RemoveFields(["spec.replicas"])
    result, rewrites = run(transform, deployment)
    assert "replicas" not in result["spec"]
    assert rewrites == [
        Rewrite(
            "remove-fields",
            ObjectRef("apps", "Deployment", "shop", "api"),
            "spec.replicas",
            "2",
            ABSENT,
        )
    ]


def test_remove_field_by_quoted_key() -> None:
    deployment = fixture("deployment-api")
    transform = RemoveFields(['metadata.annotations["deployment.kubernetes.io/revision"]'])
    result, _ = run(transform, deployment)
    assert result["metadata"]["annotations"] == {}  # emptied parents are kept
    assert changes(transform, deployment) == {
        'metadata.annotations["deployment.kubernetes.io/revision"]': ('"1"', ABSENT)
    }


def test_remove_field_by_list_index() -> None:
    deployment = fixture("deployment-api")
    transform = RemoveFields(["spec.template.spec.initContainers[0]"])
    result, _ = run(transform, deployment)
    assert result["spec"]["template"]["spec"]["initContainers"] == []
    assert list(changes(transform, deployment)) == ["spec.template.spec.initContainers[0]"]


def test_a_path_ending_in_an_index_removes_the_next_item_when_applied_again() -> None:
    """Not idempotent by nature: each application removes whatever is then at the index."""
    pod = fixture("pod-debug-shell")
    transform = RemoveFields(["spec.tolerations[0]"])
    once, _ = run(transform, pod)
    twice, _ = run(transform, once)
    assert [t["key"] for t in once["spec"]["tolerations"]] == ["node.kubernetes.io/unreachable"]
    assert twice["spec"]["tolerations"] == []


def test_remove_field_in_every_list_item() -> None:
    pod = fixture("pod-api-replica")
    resources = pod["spec"]["containers"][0]["resources"]
    transform = RemoveFields(["spec.containers[*].resources", "spec.initContainers[*].resources"])
    result, _ = run(transform, pod)
    assert all("resources" not in c for c in result["spec"]["containers"])
    assert all("resources" not in c for c in result["spec"]["initContainers"])
    assert changes(transform, pod) == {
        "spec.containers[0].resources": (json.dumps(resources, separators=(",", ":")), ABSENT),
        "spec.initContainers[0].resources": (json.dumps(resources, separators=(",", ":")), ABSENT),
    }


def test_remove_every_item_of_a_list_records_each_at_its_original_index() -> None:
    pod = fixture("pod-debug-shell")
    transform = RemoveFields(["spec.tolerations[*]"])
    result, _ = run(transform, pod)
    assert result["spec"]["tolerations"] == []
    assert [path for path in changes(transform, pod)] == [
        "spec.tolerations[0]",
        "spec.tolerations[1]",
    ]
    assert '"node.kubernetes.io/unreachable"' in changes(transform, pod)["spec.tolerations[1]"][0]


def test_remove_field_through_a_cron_jobs_templates() -> None:
    cron_job = fixture("cronjob-nightly-report")
    path = "spec.jobTemplate.spec.template.spec.containers[*].imagePullPolicy"
    result, _ = run(RemoveFields([path]), cron_job)
    container = result["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert "imagePullPolicy" not in container


@pytest.mark.parametrize(
    ("pointer", "dotted"),
    [
        ("/spec/replicas", "spec.replicas"),
        (
            "/metadata/annotations/deployment.kubernetes.io~1revision",
            'metadata.annotations["deployment.kubernetes.io/revision"]',
        ),
        (
            "/spec/template/spec/containers/0/resources",
            "spec.template.spec.containers[0].resources",
        ),
        ("/spec/template/spec/initContainers/0", "spec.template.spec.initContainers[0]"),
    ],
)
def test_remove_field_by_json_pointer(pointer: str, dotted: str) -> None:
    deployment = fixture("deployment-api")
    by_pointer, pointer_rewrites = run(RemoveFields([pointer]), deployment)
    by_path, path_rewrites = run(RemoveFields([dotted]), deployment)
    assert by_pointer == by_path != deployment
    assert pointer_rewrites == path_rewrites


def test_json_pointer_tokens_are_keys_in_maps_and_indices_in_lists() -> None:
    config_map = sample("ConfigMap", "feature-flags")
    config_map["data"] = {"0": "zero", "a~b": "tilde", "a/b": "slash", "*": "star"}
    transform = RemoveFields(["/data/0", "/data/a~0b", "/data/a~1b", "/data/*"])
    result, _ = run(transform, config_map)
    assert result["data"] == {}
    pod = fixture("pod-debug-shell")
    for absent in ("/spec/tolerations/01", "/spec/tolerations/-", "/spec/tolerations/x"):
        assert run(RemoveFields([absent]), pod)[0] == pod


@pytest.mark.parametrize(
    "path",
    [
        "spec.absent",
        "spec.replicas.deeper",
        "spec.template.spec.containers[5]",
        "spec.template.spec.containers[*].absent",
        "spec.selector[0]",
        "spec.template.spec.containers.name",
        'metadata.annotations["example.com/absent"]',
        "/spec/absent/0",
        "[*]",
    ],
)
def test_removing_a_missing_path_changes_nothing_and_records_nothing(path: str) -> None:
    deployment = fixture("deployment-api")
    result, rewrites = run(RemoveFields([path]), deployment)
    assert result == deployment
    assert rewrites == []


def test_paths_are_removed_in_the_order_given() -> None:
    pod = fixture("pod-debug-shell")
    result, rewrites = run(RemoveFields(["spec.tolerations[0]", "/spec/tolerations/0"]), pod)
    assert result["spec"]["tolerations"] == []
    assert [r.path for r in rewrites] == ["spec.tolerations[0]", "spec.tolerations[0]"]


def test_a_long_removed_value_is_recorded_as_compact_json_cut_to_200_characters() -> None:
    deployment = fixture("deployment-web-applied")
    path = f'metadata.annotations["{LAST_APPLIED}"]'
    full = json.dumps(deployment["metadata"]["annotations"][LAST_APPLIED])
    before, after = changes(RemoveFields([path]), deployment)[path]
    assert len(full) > 200
    assert len(before) == 200
    assert before == full[:199] + "…"
    assert after == ABSENT


@pytest.mark.parametrize(
    "path",
    [
        "data",
        "data.password",
        "/data/username",
        "stringData",
        'stringData["token"]',
        "metadata.annotations",
        f'metadata.annotations["{LAST_APPLIED}"]',
    ],
)
def test_secret_values_are_removed_but_recorded_as_secret_values(path: str) -> None:
    secret = secret_with_last_applied()
    result, rewrites = run(RemoveFields([path]), secret)
    assert result != secret
    assert [r.before for r in rewrites] == [SECRET_VALUE]


def test_other_secret_fields_are_recorded_as_they_are() -> None:
    secret = secret_with_last_applied()
    assert changes(RemoveFields(["type", 'metadata.annotations["example.com/owner"]']), secret) == {
        "type": ('"Opaque"', ABSENT),
        'metadata.annotations["example.com/owner"]': ('"shop"', ABSENT),
    }


def test_data_of_other_kinds_is_recorded_as_it_is() -> None:
    config_map = sample("ConfigMap", "feature-flags")
    before, _ = changes(RemoveFields(["data"]), config_map)["data"]
    assert before == json.dumps(config_map["data"], separators=(",", ":"))


# -- field path syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("spec.replicas", ("spec", "replicas")),
        ('metadata.annotations["example.com/x"]', ("metadata", "annotations", "example.com/x")),
        (
            "spec.template.spec.containers[*].resources",
            ("spec", "template", "spec", "containers", Wildcard.EVERY, "resources"),
        ),
        ("spec.ports[10].nodePort", ("spec", "ports", 10, "nodePort")),
        ('data["a\\"b.c"]', ("data", 'a"b.c')),
        ('data["\\u00e9t\\u00e9"]', ("data", "été")),
        ('["spec"]["replicas"]', ("spec", "replicas")),
        ("x_y-z.0", ("x_y-z", "0")),
        ("a[0][*]", ("a", 0, Wildcard.EVERY)),
        ("/spec/replicas", (PointerToken("spec"), PointerToken("replicas"))),
        (
            "/a~1b/~0/0/*",
            (PointerToken("a/b"), PointerToken("~"), PointerToken("0"), PointerToken("*")),
        ),
        ("/", (PointerToken(""),)),
        ("/metadata/labels", (PointerToken("metadata"), PointerToken("labels"))),
    ],
)
def test_field_paths_parse(text: str, segments: tuple[object, ...]) -> None:
    assert parse_field_path(text) == segments


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty path"),
        (".spec", "malformed path at character 1"),
        ("spec.", "malformed path at character 6"),
        ("spec..replicas", "malformed path at character 6"),
        ("spec replicas", "malformed path at character 5"),
        ("spec[x]", "malformed path at character 5"),
        ("spec[-1]", "malformed path at character 5"),
        ("spec[01]", "malformed path at character 5"),
        ("spec[", "malformed path at character 5"),
        ("spec[0", "malformed path at character 5"),
        ('spec["a', "malformed path at character 6"),
        ('spec["a"', "malformed path at character 9"),
        ('spec["a"]x', "malformed path at character 10"),
        ("spec['a']", "malformed path at character 5"),
        ("spec[0]replicas", "malformed path at character 8"),
        ("/a~2", "malformed path at character 3"),
        ("/a~", "malformed path at character 3"),
        ("apiVersion", "cannot remove apiVersion: every object needs it"),
        ("kind", "cannot remove kind: every object needs it"),
        ("metadata", "cannot remove metadata: every object needs it"),
        ("metadata.name", "cannot remove metadata.name: every object needs it"),
        ('metadata["name"]', "cannot remove metadata.name: every object needs it"),
        ('["kind"]', "cannot remove kind: every object needs it"),
        ("/metadata", "cannot remove metadata: every object needs it"),
        ("/metadata/name", "cannot remove metadata.name: every object needs it"),
        ("/kind", "cannot remove kind: every object needs it"),
        (
            "metadata.namespace",
            "cannot remove metadata.namespace: use --map-namespace to move objects",
        ),
        (
            "/metadata/namespace",
            "cannot remove metadata.namespace: use --map-namespace to move objects",
        ),
    ],
)
def test_bad_field_paths_are_refused_in_one_line_naming_the_path(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_field_paths([text])
    shown = text if text else "''"
    assert raised.value.message == f"--remove-field {shown}: {problem}"
    assert raised.value.hint


def test_a_path_given_twice_is_refused() -> None:
    with pytest.raises(UsageError) as raised:
        parse_field_paths(["spec.replicas", "spec.replicas"])
    assert raised.value.message == "--remove-field spec.replicas: given twice"


def test_a_path_with_a_line_break_is_shown_escaped() -> None:
    with pytest.raises(UsageError) as raised:
        parse_field_paths(["spec\nreplicas"])
    assert raised.value.message == "--remove-field 'spec\\nreplicas': malformed path at character 5"


def test_paths_below_protected_fields_may_be_removed() -> None:
    deployment = fixture("deployment-api")
    transform = RemoveFields(["metadata.labels", "metadata.uid", "/metadata/name/x"])
    result, _ = run(transform, deployment)
    assert "labels" not in result["metadata"] and "uid" not in result["metadata"]
    assert result["metadata"]["name"] == "api"


KEYS = st.text(min_size=0, max_size=8)
PATHS = st.lists(st.one_of(KEYS, st.integers(min_value=0, max_value=99)), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(path=PATHS.filter(lambda p: tuple(p) not in PROTECTED))
def test_every_path_the_report_writes_can_be_given_back_to_remove_field(
    path: list[str | int],
) -> None:
    """A path copied from a report's ``rewrites`` names the same place."""
    assert parse_field_path(render_path(tuple(path))) == tuple(path)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab.[]*0123"/~\\ \n', max_size=16))
def test_any_field_path_parses_or_is_refused_in_one_line(text: str) -> None:
    try:
        parse_field_path(text)
    except UsageError as error:
        assert len(error.message.splitlines()) == 1
        assert error.message.startswith("--remove-field ")
