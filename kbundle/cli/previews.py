"""``kbundle diff`` and ``kbundle preflight``: what an import would do, before it does."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kbundle.bundle.passphrase import PassphraseSource
from kbundle.cli.command import command
from kbundle.cli.console import with_progress
from kbundle.cli.options import (
    CLUSTER,
    PASSPHRASE,
    REMOTE,
    SELECTION,
    TRANSFORMS,
    TRUST,
    BundleArgument,
)
from kbundle.cli.streams import bundle_source
from kbundle.core.errors import ExitCode, UsageError
from kbundle.remote.refs import RemoteOptions
from kbundle.select.selection import Selection
from kbundle.transforms.spec import TransformSpec
from kbundle.verbs.common import ClusterTarget


class DiffFormat(StrEnum):
    """How diff and preflight print what they found."""

    TEXT = "text"
    JSON = "json"


@command(least_error_code=ExitCode.USAGE)
def diff(
    *,
    bundles: Annotated[
        list[str],
        typer.Argument(
            help="A bundle, to compare with what the cluster holds; or two bundles, to "
            "compare with each other ('-' for stdin, once).",
            show_default=False,
        ),
    ],
    cluster: Annotated[ClusterTarget, CLUSTER],
    selection: Annotated[Selection, SELECTION],
    transforms: Annotated[Sequence[TransformSpec], TRANSFORMS],
    require_signature: Annotated[tuple[Path, ...], TRUST],
    passphrase: Annotated[PassphraseSource, PASSPHRASE],
    show_orphans: Annotated[
        bool,
        typer.Option(
            "--show-orphans",
            help="Also list what the cluster holds, in the namespaces and kinds the bundle "
            "writes, that the bundle does not (nothing is deleted).",
        ),
    ] = False,
    output: Annotated[
        DiffFormat, typer.Option("--output", "-o", help="text or json.")
    ] = DiffFormat.TEXT,
    remote: Annotated[RemoteOptions, REMOTE],
) -> ExitCode:
    """Show what an import would change in a cluster, object by object and field by field:
    the cluster answers a dry run of every write, nothing changes. Given two bundles, show
    what changed between them, offline. Secret values are never shown. Exit 0: no
    differences; 1: differences; 2 or more: an error (as kubectl diff).

    Example: kbundle diff shop.kbundle --context staging --map-namespace shop=shop-staging
    """
    from kbundle.cli.diffs import print_report  # noqa: PLC0415 - start-up time

    as_json = output is DiffFormat.JSON
    if len(bundles) > 2:
        raise UsageError("diff takes one bundle (to compare with a cluster) or two")
    if len(bundles) == 2:
        from kbundle.verbs.diff_bundles import (  # noqa: PLC0415
            DiffBundlesOptions,
            diff_bundles,
        )

        if transforms or selection != Selection() or show_orphans or cluster != ClusterTarget():
            raise UsageError(
                "comparing two bundles takes no cluster, selection, transform or "
                "--show-orphans flags"
            )
        before, after = (bundle_source(b, remote) for b in bundles)
        result = diff_bundles(
            DiffBundlesOptions(before, after, require_signature, _given(passphrase))
        )
    else:
        from kbundle.verbs.diff import DiffOptions  # noqa: PLC0415
        from kbundle.verbs.diff import diff as run  # noqa: PLC0415

        options = DiffOptions(
            bundle=bundle_source(bundles[0], remote),
            cluster=cluster,
            transforms=transforms,
            selection=selection,
            require_signature=require_signature,
            passphrase=passphrase,
            show_orphans=show_orphans,
        )
        result = with_progress(lambda progress: run(options, progress=progress), "comparing")
    print_report(result.report, as_json=as_json)
    return result.exit_code


def _given(passphrase: PassphraseSource) -> PassphraseSource | None:
    """A passphrase named on the command line or in $KBUNDLE_PASSPHRASE; None otherwise,
    which leaves encrypted Secrets not compared."""
    import os  # noqa: PLC0415

    from kbundle.bundle.secret_encryption import PASSPHRASE_ENV  # noqa: PLC0415

    return passphrase if passphrase.named or os.environ.get(PASSPHRASE_ENV) else None


@command()
def preflight(
    *,
    bundle: BundleArgument,
    cluster: Annotated[ClusterTarget, CLUSTER],
    selection: Annotated[Selection, SELECTION],
    transforms: Annotated[Sequence[TransformSpec], TRANSFORMS],
    require_signature: Annotated[tuple[Path, ...], TRUST],
    passphrase: Annotated[PassphraseSource, PASSPHRASE],
    output: Annotated[
        DiffFormat, typer.Option("--output", "-o", help="text or json.")
    ] = DiffFormat.TEXT,
    remote: Annotated[RemoteOptions, REMOTE],
) -> ExitCode:
    """Check what a cluster lacks for a bundle, before anything is sent: kinds it does not
    serve, classes and references missing, addresses taken, fail-closed webhooks without
    endpoints, quotas, denied verbs, fields other managers own; each finding with its way
    out. Reads, access reviews and dry runs only. Exit 0: no blockers; 1: blockers.

    Example: kbundle preflight shop.kbundle --context staging --map-namespace shop=shop-staging
    """
    from kbundle.cli.report import print_preflight  # noqa: PLC0415 - start-up time
    from kbundle.verbs.preflight import PreflightOptions  # noqa: PLC0415
    from kbundle.verbs.preflight import preflight as run  # noqa: PLC0415

    options = PreflightOptions(
        bundle=bundle_source(bundle, remote),
        cluster=cluster,
        transforms=transforms,
        selection=selection,
        require_signature=require_signature,
        passphrase=passphrase,
    )
    result = with_progress(lambda progress: run(options, progress=progress), "checking")
    if output is DiffFormat.JSON:
        print(json.dumps(result.report.to_dict(), indent=2))
    else:
        print_preflight(result.report, before_import=False)
    return result.exit_code
