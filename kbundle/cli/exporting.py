"""``kbundle export``."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from kbundle.bundle.passphrase import PassphraseSource
from kbundle.cli.command import command
from kbundle.cli.console import with_progress
from kbundle.cli.options import CLUSTER, PASSPHRASE, REMOTE, SELECTION, SignWith
from kbundle.cli.streams import STREAM, bundle_target
from kbundle.remote.refs import RemoteOptions
from kbundle.select.selection import Selection
from kbundle.verbs.common import ClusterTarget, SecretsMode


@command()
def export(
    *,
    output: Annotated[
        str, typer.Option("-o", "--output", help="Bundle file to write ('-' for stdout).")
    ],
    cluster: Annotated[ClusterTarget, CLUSTER],
    selection: Annotated[Selection, SELECTION],
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
    secrets: Annotated[
        SecretsMode,
        typer.Option(
            "--secrets",
            help="include: Secrets as they are (the file is mode 0600); exclude: never read "
            "them; encrypt: seal their data with a passphrase (--passphrase-file/-env).",
        ),
    ] = SecretsMode.INCLUDE,
    passphrase: Annotated[PassphraseSource, PASSPHRASE],
    sign: SignWith = None,
    remote: Annotated[RemoteOptions, REMOTE],
) -> None:
    """Export objects from a cluster into one verifiable bundle file.

    Example: kbundle export -n shop -o shop.kbundle --secrets encrypt --passphrase-file pass.txt
    """
    from kbundle.cli.report import print_export  # noqa: PLC0415 - start-up time
    from kbundle.verbs.export import ExportOptions  # noqa: PLC0415
    from kbundle.verbs.export import export as run  # noqa: PLC0415

    options = ExportOptions(
        output=bundle_target(output, remote),
        cluster=cluster,
        selection=replace(selection, keep_status=keep_status, keep_last_applied=keep_last_applied),
        compression_level=compression_level,
        secrets=secrets,
        passphrase=passphrase,
        sign_with=sign,
    )
    result = with_progress(lambda progress: run(options, progress=progress), "reading")
    print_export(result.manifest, "stdout" if output == STREAM else output, result.size)
