"""``kbundle transform`` and ``kbundle render``: a bundle rewritten with no cluster."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from kbundle.bundle.passphrase import PassphraseSource
from kbundle.cli.command import command
from kbundle.cli.console import say
from kbundle.cli.options import (
    PASSPHRASE,
    REMOTE,
    SELECTION,
    TRANSFORMS,
    TRUST,
    BundleArgument,
    SignWith,
)
from kbundle.cli.streams import STREAM, bundle_source, bundle_target
from kbundle.remote.refs import RemoteOptions
from kbundle.select.selection import Selection
from kbundle.transforms.spec import TransformSpec

MAX_WARNINGS_SHOWN = 10


@command()
def transform(
    *,
    bundle: BundleArgument,
    output: Annotated[
        str, typer.Option("-o", "--output", help="New bundle file ('-' for stdout).")
    ],
    transforms: Annotated[Sequence[TransformSpec], TRANSFORMS],
    require_signature: Annotated[tuple[Path, ...], TRUST],
    sign: SignWith = None,
    remote: Annotated[RemoteOptions, REMOTE],
) -> None:
    """Rewrite a bundle into a new bundle, offline: new checksums, and the manifest records
    which transforms ran. Encrypted Secrets stay sealed; the new bundle is signed only
    with --sign.

    Example: kbundle transform shop.kbundle -o staging.kbundle --map-registry docker.io=mirror.local
    """
    from kbundle.cli.report import human_size  # noqa: PLC0415 - start-up time
    from kbundle.verbs.transform import TransformOptions  # noqa: PLC0415
    from kbundle.verbs.transform import transform as run  # noqa: PLC0415

    result = run(
        TransformOptions(
            bundle=bundle_source(bundle, remote),
            output=bundle_target(output, remote),
            transforms=transforms,
            require_signature=require_signature,
            sign_with=sign,
        )
    )
    size = f" ({human_size(result.size)})" if result.size is not None else ""
    say(
        f"wrote {result.objects} objects to {'stdout' if output == STREAM else output}{size} after "
        f"{result.transforms} transforms, {len(result.rewrites)} rewrites"
    )


@command()
def render(
    *,
    bundle: BundleArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write (new or empty).")],
    selection: Annotated[Selection, SELECTION],
    transforms: Annotated[Sequence[TransformSpec], TRANSFORMS],
    require_signature: Annotated[tuple[Path, ...], TRUST],
    passphrase: Annotated[PassphraseSource, PASSPHRASE],
    remote: Annotated[RemoteOptions, REMOTE],
) -> None:
    """Write a bundle as plain YAML, one file per level (00-crds.yaml, 01-namespaces.yaml...),
    for GitOps or kubectl apply. clusterIPs are cleared and ownerReferences removed, as
    nothing could rebuild them there. Secrets go to their own NN-level.secrets.yaml files,
    mode 0600. The selection flags take part of the bundle, with what it depends on (kind
    names as the bundle knows them).

    Example: kbundle render shop.kbundle -o shop-yaml/ --map-namespace shop=shop-prod
    """
    from kbundle.verbs.render import RenderOptions  # noqa: PLC0415 - start-up time
    from kbundle.verbs.render import render as run  # noqa: PLC0415

    result = run(
        RenderOptions(
            bundle=bundle_source(bundle, remote),
            folder=output,
            transforms=transforms,
            require_signature=require_signature,
            passphrase=passphrase,
            selection=selection,
        )
    )
    say(f"wrote {result.objects} objects in {len(result.files)} files to {output}")
    for ref in result.dropped_owner_references[:MAX_WARNINGS_SHOWN]:
        say(
            f"warning: ownerReferences of {ref} removed (owners get new UIDs "
            "wherever this is applied)"
        )
