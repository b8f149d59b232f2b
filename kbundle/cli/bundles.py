"""``kbundle verify`` and ``kbundle inspect``: what a bundle is, offline."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kbundle.cli.command import command
from kbundle.cli.options import TRUST, BundleArgument
from kbundle.cli.streams import bundle_source


@command()
def verify(
    *, bundle: BundleArgument, require_signature: Annotated[tuple[Path, ...], TRUST]
) -> None:
    """Check a bundle completely, offline: structure, schema, version, every checksum and
    every object, and with --require-signature who signed it. Exit 0 only if all of it holds.

    Example: kbundle verify shop.kbundle --require-signature team.pub
    """
    from kbundle.cli import report  # noqa: PLC0415 - start-up time
    from kbundle.verbs.verify import VerifyOptions  # noqa: PLC0415
    from kbundle.verbs.verify import verify as run  # noqa: PLC0415

    result = run(VerifyOptions(bundle_source(bundle), require_signature))
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
) -> None:
    """Show what a bundle holds: levels, kinds, counts, what was left out, warnings.
    Reads only the manifest; use `kbundle verify` to check the content.

    Example: kbundle inspect shop.kbundle --output json
    """
    from kbundle.cli.report import print_manifest  # noqa: PLC0415 - start-up time
    from kbundle.verbs.verify import InspectOptions  # noqa: PLC0415
    from kbundle.verbs.verify import inspect as run  # noqa: PLC0415

    manifest = run(InspectOptions(bundle_source(bundle))).manifest
    if output is InspectFormat.JSON:
        print(json.dumps(manifest.to_dict(), indent=2))
    else:
        print_manifest(manifest)
