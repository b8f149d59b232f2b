"""``--report``: one JSON document for ``.json`` (what ``to_dict`` says, entry by entry), JSON
Lines for ``.jsonl`` (a summary line, then a line per object and per rewrite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kbundle.apply.options import DryRunMode
from kbundle.apply.outcome import Action, ImportReport, Outcome
from kbundle.core.model import ObjectRef, Rewrite


def _report(objects: int, rewrites: int) -> ImportReport:
    return ImportReport(
        outcomes=tuple(
            Outcome(6, ObjectRef("", "ConfigMap", "shop", f"c{i}"), "v1", Action.CREATE, "")
            for i in range(objects)
        ),
        rewrites=tuple(
            Rewrite(
                "map-namespace", ObjectRef("", "ConfigMap", "shop", f"c{i}"), "data.A", "a", "b"
            )
            for i in range(rewrites)
        ),
        level_names={6: "configuration"},
        dry_run=DryRunMode.SERVER,
        aborted="the destination did not answer",
    )


@pytest.mark.parametrize(("objects", "rewrites"), [(0, 0), (1, 0), (0, 2), (3, 2)])
def test_a_json_report_is_the_reports_dictionary(
    tmp_path: Path, objects: int, rewrites: int
) -> None:
    report = _report(objects, rewrites)
    path = tmp_path / "report.json"
    report.write_json(path)
    assert json.loads(path.read_text()) == report.to_dict()


def test_a_jsonl_report_has_a_summary_then_a_line_per_object_and_rewrite(tmp_path: Path) -> None:
    report = _report(3, 2)
    path = tmp_path / "report.jsonl"
    report.write_json(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines] == ["summary"] + ["object"] * 3 + ["rewrite"] * 2
    assert lines[0] == {"type": "summary", **report.summary()}
    assert lines[0]["totals"]["create"] == 3 and lines[0]["dryRun"] == "server"
    assert [line["name"] for line in lines[1:4]] == ["c0", "c1", "c2"]
    assert lines[4]["path"] == "data.A" and lines[4]["after"] == "b"
