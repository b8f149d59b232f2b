"""``kbundle keygen`` and ``kbundle sign``: who made a bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kbundle.cli.command import command
from kbundle.cli.console import say
from kbundle.cli.options import REMOTE
from kbundle.cli.streams import bundle_source, bundle_target
from kbundle.remote.refs import RemoteOptions


@command()
def keygen(
    *,
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="Private key file to create (the public key: FILE.pub)."
        ),
    ],
) -> None:
    """Create an Ed25519 key pair for signing bundles: FILE (private, mode 0600) and
    FILE.pub (public, to hand to whoever imports).

    Example: kbundle keygen -o team.key
    """
    from kbundle.verbs.sign import KeygenOptions  # noqa: PLC0415 - start-up time
    from kbundle.verbs.sign import keygen as run  # noqa: PLC0415

    result = run(KeygenOptions(output))
    say(
        f"wrote {result.private_key} (private, keep it safe) and {result.public_key} (public); "
        f"key id {result.key_id}"
    )


@command()
def sign(
    *,
    bundle: Annotated[str, typer.Argument(help="Bundle file to sign.")],
    key: Annotated[Path, typer.Option("--key", help="Ed25519 private key (kbundle keygen).")],
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Write the signed bundle here (default: in place)."),
    ] = None,
    remote: Annotated[RemoteOptions, REMOTE],
) -> None:
    """Sign a bundle: the signature covers the manifest, which holds the digest of every
    object file. The bundle is verified first; nothing else in it changes.

    Example: kbundle sign shop.kbundle --key team.key
    """
    from kbundle.verbs.sign import SignOptions  # noqa: PLC0415 - start-up time
    from kbundle.verbs.sign import sign as run  # noqa: PLC0415

    result = run(
        SignOptions(bundle_source(bundle, remote), key, bundle_target(output or bundle, remote))
    )
    replaced = " (replacing its previous signature)" if result.replaced_signature else ""
    say(f"signed {output or bundle} with key {result.key_id}{replaced}")
