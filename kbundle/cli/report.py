"""What kbundle shows people: tables and lines for manifests and import reports.

The builders return strings and rich renderables; the ``print_*`` functions put a verb's
result where it belongs (results on stdout, summaries, warnings and failures on stderr).
Loaded only when a command runs: rich is not a start-up cost.
"""

from __future__ import annotations

from rich.table import Table

from kbundle.apply.options import DryRunMode
from kbundle.apply.outcome import ACTIONS, ImportReport
from kbundle.bundle.signing import Signature
from kbundle.cli.console import out, say, show
from kbundle.core.model import FileEntry, Manifest
from kbundle.preflight.model import PreflightReport

MAX_WARNINGS_SHOWN = 10
MAX_FAILURES_SHOWN = 20


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def export_summary(manifest: Manifest, where: str, size: int | None) -> str:
    skipped = sum(s.count for s in manifest.skipped)
    return (
        f"exported {manifest.total_objects} objects of {len(manifest.files)} kinds in "
        f"{len(manifest.levels)} levels to {where}"
        + (f" ({human_size(size)})" if size is not None else "")
        + f"; left out {skipped} derived or built-in objects"
    )


def verified_summary(name: str, manifest: Manifest) -> str:
    return (
        f"{name}: OK, format {manifest.format_version}, {manifest.total_objects} objects in "
        f"{len(manifest.files)} files, {len(manifest.levels)} levels; exported "
        f"{manifest.created_at} from context {manifest.source.context} "
        f"(Kubernetes {manifest.source.server_version})"
    )


def signature_line(signature: Signature | None, *, trusted: bool) -> str:
    """What verify can say about who signed: a key id is only a claim until checked."""
    if signature is None:
        return "signature: none"
    if trusted:
        return f"signature: valid, by trusted key {signature.key_id}"
    return (
        f"signature: present, by key {signature.key_id} (not checked: "
        "give --require-signature PUBKEY)"
    )


def secrets_line(manifest: Manifest) -> str:
    secrets = manifest.secrets
    if secrets is None:
        return "secrets: not recorded (bundle format before 1.1)"
    how = {
        "included": "included in plaintext",
        "excluded": "excluded at export",
        "encrypted": "encrypted with a passphrase",
    }[secrets.mode]
    return f"secrets: {how}, {secrets.objects} Secret objects"


def manifest_header(manifest: Manifest) -> list[str]:
    selection = manifest.selection
    scope = (
        "all namespaces"
        if selection.all_namespaces
        else ("namespaces " + ", ".join(selection.namespaces))
    )
    source = (
        f"source: context {manifest.source.context}, Kubernetes "
        f"{manifest.source.server_version}; {scope}"
    )
    if selection.objects:
        source += f", objects {', '.join(selection.objects)}"
    if selection.label_selector:
        source += f", selector {selection.label_selector}"
    return [
        f"kbundle format {manifest.format_version}, made by kbundle "
        f"{manifest.tool_version} at {manifest.created_at}",
        source,
        secrets_line(manifest),
    ]


def manifest_tables(manifest: Manifest) -> list[Table]:
    """Levels with their kinds and counts; then what was left out, if anything."""
    table = Table("level", "name", "kind", "apiVersion", "objects")
    files_by_level: dict[int, list[FileEntry]] = {}
    for entry in manifest.files:
        files_by_level.setdefault(entry.level, []).append(entry)
    for level in manifest.levels:
        for index, entry in enumerate(files_by_level.get(level.number, [])):
            table.add_row(
                str(level.number) if index == 0 else "",
                level.name if index == 0 else "",
                entry.kind,
                entry.api_version,
                str(entry.objects),
            )
    table.add_row("", "total", f"{len(manifest.files)} kinds", "", str(manifest.total_objects))
    tables = [table]
    if manifest.skipped:
        skipped = Table("left out", "count", "why")
        for skip in manifest.skipped:
            skipped.add_row(skip.kind, str(skip.count), skip.reason)
        tables.append(skipped)
    return tables


def cluster_scoped_lines(manifest: Manifest) -> list[str]:
    """Why each cluster-scoped object came along (format 1.2), one line each: too long for
    a table cell."""
    if not manifest.cluster_scoped:
        return []
    return ["cluster-scoped objects, and why they came along:"] + [
        f"  {held.kind} {held.name}: {held.reason}" for held in manifest.cluster_scoped
    ]


def plan_lines(report: ImportReport) -> list[str]:
    """One line per object: level, action, object, and why (``--dry-run=client``)."""
    return [
        f"{o.level:2d} {o.action:<9} {o.ref}" + (f"  ({o.message})" if o.message else "")
        for o in report.outcomes
    ]


def import_table(report: ImportReport, context: str) -> Table:
    dry = report.dry_run is not DryRunMode.NONE
    title = f"import into {context}" + (f" (dry run: {report.dry_run})" if dry else "")
    table = Table("level", "name", *[str(a) for a in ACTIONS], title=title)
    for level in report.by_level():
        table.add_row(str(level.number), level.name, *[str(level.counts[a]) for a in ACTIONS])
    totals = report.totals()
    table.add_row("", "total", *[str(totals[a]) for a in ACTIONS])
    return table


# -- printing results ------------------------------------------------------------------------


def print_export(manifest: Manifest, where: str, size: int | None) -> None:
    say(export_summary(manifest, where, size))
    for warning in manifest.warnings[:MAX_WARNINGS_SHOWN]:
        say(f"warning: {warning.message}")
    if len(manifest.warnings) > MAX_WARNINGS_SHOWN:
        say(
            f"... and {len(manifest.warnings) - MAX_WARNINGS_SHOWN} more warnings "
            f"(kbundle inspect {where})"
        )


def print_import(report: ImportReport, context: str) -> None:
    if report.dry_run is DryRunMode.CLIENT:
        for line in plan_lines(report):
            show(line)
    out().print(import_table(report, context))
    failed = report.failed
    for outcome in failed[:MAX_FAILURES_SHOWN]:
        say(f"failed: {outcome.ref}: {outcome.message}")
    if len(failed) > MAX_FAILURES_SHOWN:
        say(
            f"... and {len(failed) - MAX_FAILURES_SHOWN} more failures "
            "(--report FILE.json lists every object)"
        )
    if report.aborted:
        say(f"error: {report.aborted}")


def print_manifest(manifest: Manifest) -> None:
    for line in manifest_header(manifest):
        show(line)
    for table in manifest_tables(manifest):
        out().print(table)
    for line in cluster_scoped_lines(manifest):
        show(line)
    for warning in manifest.warnings:
        show(f"warning [{warning.code}]: {warning.message}")


def print_preflight(report: PreflightReport, *, before_import: bool) -> None:
    """Each finding on one line, blockers first, then the counts: the result of
    ``preflight`` on stdout; before an import on stderr, and only when there are findings
    (the import's own results go to stdout)."""
    if before_import and not report.findings:
        return
    write = say if before_import else show
    for line in report.lines():
        write(line)
    write(report.summary())
