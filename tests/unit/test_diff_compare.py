"""``kbundle.diff``: one object on two sides, compared field by field and as a unified diff;
the report's totals, exit status and JSON form."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kbundle.core.model import Object, ObjectRef
from kbundle.diff.changes import field_changes, render_value
from kbundle.diff.comparable import comparable
from kbundle.diff.compare import compare
from kbundle.diff.model import ChangeKind, DiffReport, DiffStatus, FieldChange, ObjectDiff
from kbundle.diff.unified import unified
from tests.objects import fixture, sample

BEFORE, AFTER = "a.kbundle", "b.kbundle"


def diff(before: Object | None, after: Object | None) -> ObjectDiff:
    shown = after if after is not None else before
    assert shown is not None
    return compare(
        ObjectRef.of(shown),
        shown["apiVersion"],
        before,
        after,
        before_label=BEFORE,
        after_label=AFTER,
    )


def config_map(**data: Any) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app", "namespace": "shop"},
        "data": data,
    }


def paths(result: ObjectDiff) -> dict[str, tuple[str, str | None, str | None]]:
    return {c.path: (str(c.change), c.before, c.after) for c in result.changes}


# -- statuses -------------------------------------------------------------------------------


def test_an_object_only_on_the_after_side_is_created_and_shown_whole_as_added() -> None:
    result = diff(None, config_map(mode="fast"))
    assert result.status is DiffStatus.CREATE
    assert result.changes == ()
    lines = result.text.splitlines()
    assert lines[:2] == [f"--- {BEFORE} ConfigMap shop/app", f"+++ {AFTER} ConfigMap shop/app"]
    assert lines[2].startswith("@@ -0,0 +1,")
    assert all(line.startswith("+") for line in lines[3:])
    assert "+  mode: fast" in lines


def test_an_object_only_on_the_before_side_is_removed_and_shown_whole_as_removed() -> None:
    result = diff(config_map(mode="fast"), None)
    assert result.status is DiffStatus.REMOVE
    assert result.api_version == "v1"
    body = result.text.splitlines()[3:]
    assert body and all(line.startswith("-") for line in body)


def test_equal_objects_are_unchanged_with_no_text() -> None:
    result = diff(sample("Deployment", "api"), sample("Deployment", "api"))
    assert result == ObjectDiff(
        ObjectRef("apps", "Deployment", "shop", "api"), "apps/v1", DiffStatus.UNCHANGED
    )


def test_server_bookkeeping_status_and_empty_label_maps_are_no_difference() -> None:
    live = fixture("deployment-api")
    assert live["metadata"]["managedFields"] and live["status"]
    bare = copy.deepcopy(live)
    for key in ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp"):
        bare["metadata"].pop(key, None)
    del bare["status"]
    bare["metadata"]["annotations"] = {**bare["metadata"].get("annotations", {})}
    live["metadata"]["selfLink"] = "/apis/apps/v1/namespaces/shop/deployments/api"
    live["metadata"]["deletionTimestamp"] = "2026-11-21T07:00:00Z"
    live["metadata"]["deletionGracePeriodSeconds"] = 30
    bare["metadata"].setdefault("labels", {})
    no_maps = config_map(a="1")
    empty_maps = config_map(a="1")
    empty_maps["metadata"].update(labels={}, annotations={})
    assert diff(live, bare).status is DiffStatus.UNCHANGED
    assert diff(empty_maps, no_maps).status is DiffStatus.UNCHANGED


def test_key_order_is_no_difference() -> None:
    obj = sample("Deployment", "api")
    reordered = json.loads(json.dumps(obj, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    assert diff(obj, reordered).status is DiffStatus.UNCHANGED


def test_a_changed_field_is_named_by_its_path_with_both_values_as_json() -> None:
    before = sample("Deployment", "api")
    after = copy.deepcopy(before)
    container = after["spec"]["template"]["spec"]["containers"][0]
    old_image = container["image"]
    container["image"] = "mirror.local/shop/api:2"
    after["spec"]["replicas"] = 5
    result = diff(before, after)
    assert result.status is DiffStatus.CHANGE
    assert paths(result) == {
        "spec.replicas": ("changed", json.dumps(before["spec"]["replicas"]), "5"),
        "spec.template.spec.containers[0].image": (
            "changed",
            render_value(old_image),
            '"mirror.local/shop/api:2"',
        ),
    }
    assert (
        "-        image: " in result.text
        and "+        image: mirror.local/shop/api:2" in result.text
    )


def test_keys_that_are_not_plain_names_are_quoted_in_paths() -> None:
    before = config_map(**{"nginx.conf": "a", "run.sh": "b"})
    after = config_map(**{"nginx.conf": "A", "run.sh": "b"})
    after["metadata"]["annotations"] = {"example.com/owner": "ops"}
    assert paths(diff(before, after)) == {
        'data["nginx.conf"]': ("changed", '"a"', '"A"'),
        'metadata.annotations["example.com/owner"]': ("added", None, '"ops"'),
    }


def test_a_longer_list_adds_each_extra_item_at_its_index() -> None:
    before = {"spec": {"ports": [{"port": 80}]}}
    after = {"spec": {"ports": [{"port": 80}, {"port": 443}, {"port": 8443, "name": "x"}]}}
    assert field_changes(before, after) == (
        FieldChange("spec.ports[1]", ChangeKind.ADDED, None, '{"port":443}'),
        FieldChange("spec.ports[2]", ChangeKind.ADDED, None, '{"name":"x","port":8443}'),
    )


def test_a_shorter_list_removes_each_missing_item_at_its_index_and_compares_the_rest() -> None:
    before = {"args": ["--a", "--b", "--c"]}
    after = {"args": ["--A"]}
    assert field_changes(before, after) == (
        FieldChange("args[0]", ChangeKind.CHANGED, '"--a"', '"--A"'),
        FieldChange("args[1]", ChangeKind.REMOVED, '"--b"', None),
        FieldChange("args[2]", ChangeKind.REMOVED, '"--c"', None),
    )


def test_an_added_or_removed_mapping_is_reported_by_its_leaves() -> None:
    before = {"metadata": {"name": "a"}}
    after = {"metadata": {"name": "a", "labels": {"env": "prod", "team": "shop"}}}
    assert field_changes(before, after) == (
        FieldChange("metadata.labels.env", ChangeKind.ADDED, None, '"prod"'),
        FieldChange("metadata.labels.team", ChangeKind.ADDED, None, '"shop"'),
    )
    assert [c.change for c in field_changes(after, before)] == [ChangeKind.REMOVED] * 2


def test_a_value_that_changes_type_is_one_change_even_when_python_calls_it_equal() -> None:
    assert field_changes({"a": 1, "b": {"c": 1}}, {"a": True, "b": [1]}) == (
        FieldChange("a", ChangeKind.CHANGED, "1", "true"),
        FieldChange("b", ChangeKind.CHANGED, '{"c":1}', "[1]"),
    )
    assert diff(config_map(), {**config_map(), "immutable": 1}).status is DiffStatus.CHANGE
    one = {**config_map(), "immutable": 1}
    assert diff(one, {**config_map(), "immutable": True}).status is DiffStatus.CHANGE
    assert diff(one, {**config_map(), "immutable": 1.0}).status is DiffStatus.CHANGE


def test_values_are_one_line_json_cut_to_80_characters() -> None:
    script = "#!/bin/sh\n" + "echo hello\n" * 20
    (change,) = field_changes({"run": script}, {"run": "é"})
    assert change.before is not None and "\n" not in change.before
    assert len(change.before) == 80 and change.before.endswith("…")
    assert change.before.startswith('"#!/bin/sh\\necho hello')
    assert change.after == '"é"'


def test_another_api_version_of_the_same_object_is_compared_field_by_field() -> None:
    before = sample("CronJob", "nightly-report")
    after = {**copy.deepcopy(before), "apiVersion": "batch/v1"}
    result = diff(before, after)
    assert result.api_version == "batch/v1"
    assert paths(result) == {"apiVersion": ("changed", '"batch/v1beta1"', '"batch/v1"')}


def test_comparing_changes_neither_side() -> None:
    before, after = fixture("deployment-api"), fixture("deployment-api")
    after["spec"]["replicas"] = 9
    kept = copy.deepcopy((before, after))
    diff(before, after)
    cleaned = comparable(before)
    cleaned["metadata"]["name"] = "other"
    assert (before, after) == kept
    assert "managedFields" not in cleaned["metadata"] and "status" not in cleaned


def test_compare_needs_one_side_at_least() -> None:
    with pytest.raises(ValueError, match="nothing to compare"):
        compare(
            ObjectRef("", "ConfigMap", "shop", "a"),
            "v1",
            None,
            None,
            before_label="a",
            after_label="b",
        )


# -- the unified diff -----------------------------------------------------------------------


def test_the_unified_diff_has_three_lines_of_context_in_kbundle_key_order() -> None:
    before = config_map(**{f"k{n:02}": str(n) for n in range(20)})
    after = copy.deepcopy(before)
    after["data"]["k10"] = "ten"
    text = unified(before, after, "old", "new")
    assert text.splitlines() == [
        "--- old",
        "+++ new",
        "@@ -14,7 +14,7 @@",
        "   k07: '7'",
        "   k08: '8'",
        "   k09: '9'",
        "-  k10: '10'",
        "+  k10: ten",
        "   k11: '11'",
        "   k12: '12'",
        "   k13: '13'",
    ]
    head = unified(None, before, "old", "new").splitlines()[3:7]
    assert head == ["+apiVersion: v1", "+kind: ConfigMap", "+metadata:", "+  name: app"]


def test_a_multi_line_string_diffs_line_by_line() -> None:
    before = config_map(**{"run.sh": "#!/bin/sh\nset -e\necho one\n"})
    after = config_map(**{"run.sh": "#!/bin/sh\nset -e\necho two\n"})
    text = diff(before, after).text
    assert "-    echo one\n" in text and "+    echo two\n" in text


def test_unified_is_empty_for_equal_objects() -> None:
    assert unified(config_map(a="1"), config_map(a="1"), "old", "new") == ""


# -- the report -----------------------------------------------------------------------------


def report_of(*statuses: DiffStatus, orphans: tuple[ObjectRef, ...] = ()) -> DiffReport:
    return DiffReport(
        tuple(
            ObjectDiff(ObjectRef("", "ConfigMap", "shop", f"c{n}"), "v1", status)
            for n, status in enumerate(statuses)
        ),
        "live",
        "shop.kbundle",
        orphans,
    )


def test_totals_count_every_status_and_name_the_ones_absent() -> None:
    report = report_of(DiffStatus.CREATE, DiffStatus.CREATE, DiffStatus.FAIL)
    totals = report.totals()
    assert list(totals) == list(DiffStatus)
    assert totals[DiffStatus.CREATE] == 2 and totals[DiffStatus.FAIL] == 1
    assert totals[DiffStatus.UNCHANGED] == 0


@pytest.mark.parametrize("status", [s for s in DiffStatus if s is not DiffStatus.UNCHANGED])
def test_anything_but_unchanged_is_a_difference(status: DiffStatus) -> None:
    assert report_of(DiffStatus.UNCHANGED, status).differs


def test_orphans_alone_are_no_difference() -> None:
    orphan = ObjectRef("", "ConfigMap", "shop", "left-over")
    assert not report_of(DiffStatus.UNCHANGED, orphans=(orphan,)).differs
    assert not report_of().differs


def test_the_json_form_is_stable() -> None:
    before = config_map(mode="slow")
    after = config_map(mode="fast")
    changed = diff(before, after)
    failed = ObjectDiff(
        ObjectRef("apps", "Deployment", "shop", "api"),
        "apps/v1",
        DiffStatus.FAIL,
        message='Deployment.apps "api" is invalid: spec.replicas: must be >= 0',
    )
    report = DiffReport(
        (changed, failed), BEFORE, AFTER, (ObjectRef("", "Service", "shop", "old"),)
    )
    assert list(report.to_dict()) == ["before", "after", "differs", "totals", "objects", "orphans"]
    assert json.loads(json.dumps(report.to_dict())) == {
        "before": BEFORE,
        "after": AFTER,
        "differs": True,
        "totals": {
            "create": 0,
            "change": 1,
            "unchanged": 0,
            "remove": 0,
            "conflict": 0,
            "fail": 1,
            "not-compared": 0,
        },
        "objects": [
            {
                "apiVersion": "v1",
                "group": "",
                "kind": "ConfigMap",
                "namespace": "shop",
                "name": "app",
                "status": "change",
                "message": "",
                "changes": [
                    {
                        "path": "data.mode",
                        "change": "changed",
                        "before": '"slow"',
                        "after": '"fast"',
                    }
                ],
                "diff": (
                    f"--- {BEFORE} ConfigMap shop/app\n"
                    f"+++ {AFTER} ConfigMap shop/app\n"
                    "@@ -4,4 +4,4 @@\n"
                    "   name: app\n"
                    "   namespace: shop\n"
                    " data:\n"
                    "-  mode: slow\n"
                    "+  mode: fast\n"
                ),
            },
            {
                "apiVersion": "apps/v1",
                "group": "apps",
                "kind": "Deployment",
                "namespace": "shop",
                "name": "api",
                "status": "fail",
                "message": 'Deployment.apps "api" is invalid: spec.replicas: must be >= 0',
                "changes": [],
                "diff": "",
            },
        ],
        "orphans": [{"group": "", "kind": "Service", "namespace": "shop", "name": "old"}],
    }
