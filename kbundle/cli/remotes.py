"""``kbundle push`` and ``kbundle pull``: bundles to and from registries and object storage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kbundle.cli.command import command
from kbundle.cli.console import say, with_progress
from kbundle.cli.options import REMOTE, TRUST
from kbundle.cli.streams import STREAM, bundle_source, bundle_target
from kbundle.core.errors import UsageError
from kbundle.remote.refs import RemoteBundle, RemoteOptions


@command()
def push(
    *,
    bundle: Annotated[str, typer.Argument(help="Bundle file to publish ('-' for stdin).")],
    reference: Annotated[
        str,
        typer.Argument(
            help="Where: oci://HOST[:PORT]/REPOSITORY[:TAG], oci-layout:PATH[:TAG], "
            "s3://BUCKET/KEY, gs://..., az://..."
        ),
    ],
    require_signature: Annotated[tuple[Path, ...], TRUST],
    remote: Annotated[RemoteOptions, REMOTE],
) -> None:
    """Publish a bundle where teams keep artifacts: as an OCI artifact in a registry or a
    layout folder, or as an object in storage. The bundle is verified first; the artifact's
    digest is printed, to pin it (oci://HOST/REPOSITORY@sha256:DIGEST).

    Example: kbundle push shop.kbundle oci://registry.local:5000/bundles/shop:v1
    """
    from kbundle.verbs.remote import PushOptions  # noqa: PLC0415 - start-up time
    from kbundle.verbs.remote import push as run  # noqa: PLC0415

    source = bundle_source(bundle, remote)
    target = bundle_target(reference, remote)
    if isinstance(source, RemoteBundle):
        raise UsageError(f"{bundle}: push takes a bundle file; pull it first")
    if not isinstance(target, RemoteBundle):
        raise UsageError(f"{reference}: not a remote reference (oci://, oci-layout:, s3://...)")
    options = PushOptions(source, target, require_signature)
    result = with_progress(lambda progress: run(options, progress=progress), "pushing")
    pinned = f" ({result.digest})" if result.digest else ""
    say(f"pushed {result.manifest.total_objects} objects to {result.reference}{pinned}")
    if result.digest:
        print(result.digest)


@command()
def pull(
    *,
    reference: Annotated[
        str,
        typer.Argument(
            help="oci://HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST], oci-layout:PATH[:TAG], "
            "s3://BUCKET/KEY, gs://..., az://..."
        ),
    ],
    output: Annotated[
        str, typer.Option("-o", "--output", help="Bundle file to write ('-' for stdout).")
    ],
    require_signature: Annotated[tuple[Path, ...], TRUST],
    remote: Annotated[RemoteOptions, REMOTE],
) -> None:
    """Fetch a bundle from a registry, a layout folder or object storage into a file: the
    registry's digests are checked, then the whole bundle is verified (and its signature
    with --require-signature) before the file is written.

    Example: kbundle pull oci://registry.local:5000/bundles/shop:v1 -o shop.kbundle
    """
    from kbundle.verbs.remote import PullOptions  # noqa: PLC0415 - start-up time
    from kbundle.verbs.remote import pull as run  # noqa: PLC0415

    source = bundle_source(reference, remote)
    target = bundle_target(output, remote)
    if not isinstance(source, RemoteBundle):
        raise UsageError(f"{reference}: not a remote reference (oci://, oci-layout:, s3://...)")
    if isinstance(target, RemoteBundle):
        raise UsageError(
            f"-o {output}: pull writes a file; to copy between remotes, pull then push"
        )
    options = PullOptions(source, target, require_signature)
    result = with_progress(lambda progress: run(options, progress=progress), "pulling")
    where = "stdout" if output == STREAM else output
    say(f"pulled {result.manifest.total_objects} objects from {reference} to {where}; verified")
