"""``kbundle sign`` and ``kbundle keygen``: who made a bundle.

``sign`` verifies a bundle, then writes it again with a signature over its manifest: every
other member stays byte for byte, so ``kbundle export --sign`` and ``kbundle export`` then
``kbundle sign`` give one file. ``keygen`` makes the Ed25519 key pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kbundle.bundle.layout import CHECKSUMS, MANIFEST, SIGNATURE
from kbundle.bundle.signing import (
    key_id,
    load_private_key,
    load_public_key,
    signer_of,
    write_key_pair,
)
from kbundle.bundle.trust import ReadyBundle, TrustPolicy
from kbundle.bundle.writer import Signer, epoch_of, write_members
from kbundle.core.errors import UsageError
from kbundle.core.model import Manifest
from kbundle.core.scratch import scratch_folder
from kbundle.verbs.common import (
    BundleSource,
    BundleTarget,
    checked_output,
    deliver,
    display_name,
    ready_bundle,
)


@dataclass(frozen=True)
class SignOptions:
    """``kbundle sign``: the bundle file, the private key, and where the signed bundle goes
    (default: the bundle file itself, replaced atomically)."""

    bundle: BundleSource
    key: Path
    output: BundleTarget | None = None  # required when the bundle is a stream


@dataclass(frozen=True)
class SignResult:
    written_to: str
    key_id: str
    replaced_signature: bool  # the bundle was signed before
    digest: str | None = None  # of the artifact, when published to a registry or layout


def sign(options: SignOptions) -> SignResult:
    private = load_private_key(options.key)
    output = options.output if options.output is not None else options.bundle
    if not isinstance(output, Path) and output is options.bundle:
        raise UsageError("a bundle read from a stream needs -o: where to write it signed")
    target = checked_output(output)
    with scratch_folder("kbundle-sign-") as work:
        ready = ready_bundle(options.bundle, work, TrustPolicy())

        def write(into: Path | BinaryIO) -> Manifest:
            sign_ready(ready, signer_of(private), into)
            return ready.bundle.manifest

        _, digest = deliver(target, write)
    return SignResult(
        display_name(target, "stdout"),
        key_id(private.public_key()),
        ready.bundle.signature is not None,
        digest,
    )


def sign_ready(ready: ReadyBundle, signer: Signer, output: Path | BinaryIO) -> None:
    """Write ``ready`` again with a signature; nothing else changes."""
    bundle = ready.bundle
    manifest = bundle.manifest_bytes
    members: dict[str, bytes | Path] = {
        MANIFEST: manifest,
        CHECKSUMS: bundle.root / CHECKSUMS,
        SIGNATURE: signer(manifest),
    }
    for entry in bundle.entries:
        members[entry.path] = bundle.root.joinpath(*entry.path.split("/"))
    write_members(output, members, mtime=epoch_of(bundle.manifest.created_at))


@dataclass(frozen=True)
class KeygenOptions:
    """``kbundle keygen``: the private key file to create; the public key goes beside it
    as FILE.pub. Neither may exist."""

    output: Path


@dataclass(frozen=True)
class KeygenResult:
    private_key: Path  # mode 0600
    public_key: Path
    key_id: str


def keygen(options: KeygenOptions) -> KeygenResult:
    public = write_key_pair(options.output)
    return KeygenResult(options.output, public, key_id(load_public_key(public)))
