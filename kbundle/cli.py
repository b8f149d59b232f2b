"""The ``kbundle`` command line (also ``kubectl bundle``): parse flags, call the library, render.

This is the only module that prints results or chooses exit codes. Library errors are
``KbundleError``s; they become one ``error:`` line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, BinaryIO, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kbundle import __version__
from kbundle.bundle.reader import read_manifest
from kbundle.clean import CleanOptions
from kbundle.cluster import open_cluster
from kbundle.errors import KbundleError, UsageError
from kbundle.export import ExportRequest, creation_time, export_bundle
from kbundle.model import FileEntry, Manifest
from kbundle.select.flags import SelectionFlags, resolve_selection
from kbundle.verify import parse_manifest, verify_bundle

app = typer.Typer(
    name="kbundle",
    help="Move Kubernetes objects between clusters that never see each other, through one "
    "verifiable bundle file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")
MAX_WARNINGS_SHOWN = 10


def _print_version(value: bool) -> None:
    if value:
        print(f"kbundle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """kbundle: export a cluster to one file, carry it anywhere, import it elsewhere.

    Example: kbundle export -n shop -o shop.kbundle
    """


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn kbundle's errors into one line on stderr and an exit code."""
    try:
        yield
    except KbundleError as error:
        hint = f" ({error.hint})" if error.hint else ""
        err.print(f"error: {error.message}{hint}", markup=False)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted: nothing was written", markup=False)
        raise typer.Exit(130) from None


def _with_progress(
    run: Callable[[Callable[[int, int, str], None] | None], T], description: str
) -> T:
    """Run ``run`` with a progress bar on a terminal, silently otherwise."""
    if not err.is_terminal:
        return run(None)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None, what="")

        def advance(done: int, total: int, what: str) -> None:
            progress.update(task, completed=done, total=total, what=what)

        return run(advance)


KubeconfigOption = Annotated[
    str | None,
    typer.Option("--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config)."),
]
ContextOption = Annotated[
    str | None, typer.Option("--context", help="Kubeconfig context (default: current).")
]


@app.command()
def export(
    output: Annotated[
        str, typer.Option("-o", "--output", help="Bundle file to write ('-' for stdout).")
    ],
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option(
            "-n", "--namespace", help="Namespace to export (repeatable; default: the context's)."
        ),
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("-A", "--all-namespaces", help="Export every namespace.")
    ] = False,
    selector: Annotated[
        str | None,
        typer.Option("-l", "--selector", help="Label selector, e.g. 'app=shop,tier!=cache'."),
    ] = None,
    include_kinds: Annotated[
        list[str] | None,
        typer.Option(
            "--include-kinds",
            help="Only these kinds (kubectl names, comma-separated, "
            "repeatable), dependencies included.",
        ),
    ] = None,
    exclude_kinds: Annotated[
        list[str] | None,
        typer.Option("--exclude-kinds", help="Never these kinds, e.g. secrets,events."),
    ] = None,
    objects: Annotated[
        list[str] | None,
        typer.Option(
            "--object", help="KIND/NAME: that object and everything it depends on (repeatable)."
        ),
    ] = None,
    include_cluster_resources: Annotated[
        str,
        typer.Option(
            "--include-cluster-resources",
            help="auto: cluster-scoped objects the selection "
            "depends on; true: all of them; false: none.",
        ),
    ] = "auto",
    include_owned: Annotated[
        bool,
        typer.Option(
            "--include-owned",
            help="Keep objects an exported controller recreates (ReplicaSets, Pods...).",
        ),
    ] = False,
    keep_status: Annotated[
        bool, typer.Option("--keep-status", help="Keep the status of objects.")
    ] = False,
    keep_last_applied: Annotated[
        bool,
        typer.Option(
            "--keep-last-applied", help="Keep kubectl's last-applied-configuration annotation."
        ),
    ] = False,
    compression_level: Annotated[
        int, typer.Option("--compression-level", min=1, max=22, help="zstd level.")
    ] = 10,
) -> None:
    """Export objects from a cluster into one verifiable bundle file.

    Example: kbundle export -n shop -o shop.kbundle
    """
    with _user_errors():
        flags = SelectionFlags(
            namespaces=tuple(namespace or ()),
            all_namespaces=all_namespaces,
            selector=selector,
            include_kinds=tuple(include_kinds or ()),
            exclude_kinds=tuple(exclude_kinds or ()),
            objects=tuple(objects or ()),
            include_cluster_resources=include_cluster_resources,
            include_owned=include_owned,
            keep_status=keep_status,
            keep_last_applied=keep_last_applied,
        )
        target = _output_target(output)
        cluster = open_cluster(kubeconfig, context)
        request, info = resolve_selection(
            flags, cluster.discovery(), cluster.target.namespace, cluster.target.context
        )
        export_request = ExportRequest(
            selection=request,
            info=info,
            clean=CleanOptions(keep_status=keep_status, keep_last_applied=keep_last_applied),
            created_at=creation_time(),
            compression_level=compression_level,
        )
        manifest = _with_progress(
            lambda progress: export_bundle(cluster, export_request, target, progress=progress),
            "reading",
        )
        _report_export(manifest, output)


def _output_target(output: str) -> Path | BinaryIO:
    if output != "-":
        path = Path(output)
        if path.is_dir():
            raise UsageError(f"-o {output}: is a folder; name the bundle file")
        if not path.parent.is_dir():
            raise UsageError(f"-o {output}: folder {path.parent} does not exist")
        return path
    if sys.stdout.isatty():
        raise UsageError(
            "refusing to write a binary bundle to a terminal", hint="redirect stdout or use -o FILE"
        )
    return sys.stdout.buffer


def _report_export(manifest: Manifest, output: str) -> None:
    where = "stdout" if output == "-" else output
    size = Path(output).stat().st_size if output != "-" else None
    skipped = sum(s.count for s in manifest.skipped)
    err.print(
        f"exported {manifest.total_objects} objects of {len(manifest.files)} kinds in "
        f"{len(manifest.levels)} levels to {where}"
        + (f" ({_human(size)})" if size is not None else "")
        + f"; left out {skipped} derived or built-in objects",
        markup=False,
    )
    for warning in manifest.warnings[:MAX_WARNINGS_SHOWN]:
        err.print(f"warning: {warning.message}", markup=False)
    if len(manifest.warnings) > MAX_WARNINGS_SHOWN:
        err.print(
            f"... and {len(manifest.warnings) - MAX_WARNINGS_SHOWN} more warnings "
            f"(kbundle inspect {where})",
            markup=False,
        )


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


BundleArgument = Annotated[str, typer.Argument(help="Bundle file ('-' for stdin).")]


def _bundle_source(bundle: str) -> Path | BinaryIO:
    if bundle == "-":
        return sys.stdin.buffer
    path = Path(bundle)
    if not path.is_file():
        raise UsageError(f"{bundle}: no such bundle file")
    return path


@app.command()
def verify(bundle: BundleArgument) -> None:
    """Check a bundle completely, offline: structure, schema, version, every checksum and
    every object. Exit 0 only if all of it holds.

    Example: kbundle verify shop.kbundle
    """
    with _user_errors(), tempfile.TemporaryDirectory(prefix="kbundle-verify-") as work:
        verified = verify_bundle(_bundle_source(bundle), Path(work))
        manifest = verified.manifest
        print(
            f"{bundle}: OK, format {manifest.format_version}, {manifest.total_objects} "
            f"objects in {len(manifest.files)} files, {len(manifest.levels)} levels; "
            f"exported {manifest.created_at} from context {manifest.source.context} "
            f"(Kubernetes {manifest.source.server_version})"
        )


class InspectFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def inspect(
    bundle: BundleArgument,
    output: Annotated[
        InspectFormat, typer.Option("--output", "-o", help="text or json.")
    ] = InspectFormat.text,
) -> None:
    """Show what a bundle holds: levels, kinds, counts, what was left out, warnings.
    Reads only the manifest; use `kbundle verify` to check the content.

    Example: kbundle inspect shop.kbundle --output json
    """
    with _user_errors():
        manifest = parse_manifest(read_manifest(_bundle_source(bundle)))
        if output is InspectFormat.json:
            print(json.dumps(manifest.to_dict(), indent=2))
            return
        _print_manifest(manifest)


def _print_manifest(manifest: Manifest) -> None:
    out = Console(highlight=False, soft_wrap=True)
    selection = manifest.selection
    scope = (
        "all namespaces"
        if selection.all_namespaces
        else ("namespaces " + ", ".join(selection.namespaces))
    )
    out.print(
        f"kbundle format {manifest.format_version}, made by kbundle "
        f"{manifest.tool_version} at {manifest.created_at}",
        markup=False,
    )
    out.print(
        f"source: context {manifest.source.context}, Kubernetes "
        f"{manifest.source.server_version}; {scope}"
        + (f", objects {', '.join(selection.objects)}" if selection.objects else "")
        + (f", selector {selection.label_selector}" if selection.label_selector else ""),
        markup=False,
    )
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
    out.print(table)
    if manifest.skipped:
        skipped = Table("left out", "count", "why")
        for skip in manifest.skipped:
            skipped.add_row(skip.kind, str(skip.count), skip.reason)
        out.print(skipped)
    for warning in manifest.warnings:
        out.print(f"warning [{warning.code}]: {warning.message}", markup=False)


def main() -> None:
    """Console-script entry point for both ``kbundle`` and ``kubectl-bundle``."""
    app()
