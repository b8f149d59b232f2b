"""How a diff is shown: unified diffs (coloured on a terminal), then what could not be
compared and why, then a summary table; or the JSON form. Loaded when diff runs."""

from __future__ import annotations

import json

from rich.table import Table
from rich.text import Text

from kbundle.cli.console import out, show
from kbundle.diff.model import DiffReport, DiffStatus

STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))
EXPLAINED = (DiffStatus.CONFLICT, DiffStatus.FAIL, DiffStatus.NOT_COMPARED)


def print_report(report: DiffReport, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    console = out()
    for diff in report.objects:
        if not diff.text:
            continue
        if console.is_terminal:
            for line in diff.text.splitlines():
                style = next((s for prefix, s in STYLES if line.startswith(prefix)), "")
                console.print(Text(line, style=style), soft_wrap=True)
        else:
            print(diff.text, end="" if diff.text.endswith("\n") else "\n")
    notes: dict[str, int] = {}
    for diff in report.objects:
        if diff.status in EXPLAINED:
            show(f"{diff.status}: {diff.ref}: {diff.message}")
        elif diff.message:
            notes[diff.message] = notes.get(diff.message, 0) + 1
    for message, count in notes.items():
        show(f"note: {count} object{'s' if count > 1 else ''} {message}")
    for ref in report.orphans:
        show(f"orphan: {ref} (only in {report.before_label}; left as it is)")
    console.print(summary_table(report))


def summary_table(report: DiffReport) -> Table:
    """One row of counts: create, change, unchanged always; other statuses when they occur."""
    totals = report.totals()
    shown = [status for status in DiffStatus if totals[status] or status in _ALWAYS]
    columns = [str(status) for status in shown]
    values = [str(totals[status]) for status in shown]
    if report.orphans:
        columns.append("orphans")
        values.append(str(len(report.orphans)))
    table = Table(*columns, title=f"{report.before_label} -> {report.after_label}")
    table.add_row(*values)
    return table


_ALWAYS = (DiffStatus.CREATE, DiffStatus.CHANGE, DiffStatus.UNCHANGED)
