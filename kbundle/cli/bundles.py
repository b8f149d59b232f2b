"""``kbundle verify`` and ``kbundle inspect``: what a bundle is, offline."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kbundle.cli.command import command
from kbundle.cli.console import with_progress
from kbundle.cli.options import REMOTE, TRUST, BundleArgument
from kbundle.cli.streams import bundle_source
from kbundle.remote.refs import RemoteOptions

if TYPE_CHECKING:
    from kbundle.core.reach import Reach

NAMES_SHOWN = 10  # names of one cluster-scoped kind in the text output; JSON has them all


@command()
def verify(
    *,
    bundle: BundleArgument,
    require_signature: Annotated[tuple[Path, ...], TRUST],
    remote: Annotated[RemoteOptions, REMOTE],
) -> None:
    """Check a bundle completely, offline: structure, schema, version, every checksum and
    every object, and with --require-signature who signed it. Exit 0 only if all of it holds.

    Example: kbundle verify shop.kbundle --require-signature team.pub
    """
    from kbundle.cli import report  # noqa: PLC0415 - start-up time
    from kbundle.verbs.verify import VerifyOptions  # noqa: PLC0415
    from kbundle.verbs.verify import verify as run  # noqa: PLC0415

    options = VerifyOptions(bundle_source(bundle, remote), require_signature)
    result = with_progress(lambda progress: run(options, progress=progress), "verifying")
    print(report.verified_summary(bundle, result.manifest))
    print(report.signature_line(result.signature, trusted=bool(require_signature)))
    print(report.secrets_line(result.manifest))


class InspectFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@command()
def inspect(
    *,
    bundle: BundleArgument,
    output: Annotated[
        InspectFormat, typer.Option("--output", "-o", help="text or json.")
    ] = InspectFormat.TEXT,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Of a remote bundle, fetch and verify it all to show what an import would "
            "touch (by default only its manifest is fetched).",
        ),
    ] = False,
    remote: Annotated[RemoteOptions, REMOTE],
) -> None:
    """Show what a bundle holds: first what an import would touch (namespaces,
    cluster-scoped objects, and the objects that grant power over a cluster), then levels,
    kinds, counts, what was left out, warnings. Verifies the bundle first, offline; of a
    remote bundle only the manifest is fetched, unless --full. Secret values are never
    shown.

    Example: kbundle inspect shop.kbundle --output json
    """
    from kbundle.cli.console import show  # noqa: PLC0415 - start-up time
    from kbundle.cli.report import print_manifest  # noqa: PLC0415
    from kbundle.verbs.verify import InspectOptions  # noqa: PLC0415
    from kbundle.verbs.verify import inspect as run  # noqa: PLC0415

    result = run(InspectOptions(bundle_source(bundle, remote), full=full or None))
    if output is InspectFormat.JSON:
        reach = None if result.reach is None else result.reach.to_dict()
        print(json.dumps({**result.manifest.to_dict(), "reach": reach}, indent=2))
        return
    if result.reach is None:
        show("an import would touch: not read: only the manifest was fetched (--full fetches")
        show("  and verifies the whole bundle)")
    else:
        for line in reach_lines(result.reach):
            show(line)
    print_manifest(result.manifest)


def reach_lines(reach: Reach) -> list[str]:
    """What an import would touch, for people deciding whether to import."""
    cluster_scoped = sum(len(names) for _, names in reach.cluster_scoped)
    lines = [
        "an import would touch:",
        f"  namespaces ({len(reach.namespaces)}): {', '.join(reach.namespaces) or 'none'}",
        f"  cluster-scoped objects ({cluster_scoped}){':' if cluster_scoped else ': none'}",
    ]
    for kind, names in reach.cluster_scoped:
        shown = ", ".join(names[:NAMES_SHOWN])
        more = f", ... and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
        lines.append(f"    {kind} ({len(names)}): {shown}{more}")
    lines.append(
        f"  objects that grant power ({len(reach.powers)}){':' if reach.powers else ': none'}"
    )
    lines += [f"    {power.ref}: {power.why}" for power in reach.powers]
    return lines
