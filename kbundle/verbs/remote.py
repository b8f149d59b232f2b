"""``kbundle push`` and ``kbundle pull``: a bundle file to and from where teams keep
artifacts (an OCI registry or layout, object storage).

Push verifies the bundle before it publishes it: a broken bundle never lands in a registry.
Pull downloads the whole bundle, checks the registry's digests, verifies it completely (and
its signature, when asked) and only then writes the file: what lands on disk is a bundle
that verified.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kbundle.bundle.trust import TrustPolicy, accept_bundle
from kbundle.core.errors import UsageError
from kbundle.core.model import Manifest, ProgressCallback
from kbundle.core.scratch import scratch_folder
from kbundle.remote.refs import RemoteBundle
from kbundle.remote.transfer import fetch, publish
from kbundle.verbs.common import checked_output, checked_source, display_name, naming, size_of


@dataclass(frozen=True)
class PushOptions:
    """``kbundle push BUNDLE REFERENCE``: a local bundle (a file or a stream), and where to
    publish it."""

    bundle: Path | BinaryIO
    target: RemoteBundle
    require_signature: tuple[Path, ...] = ()  # refuse to publish a bundle not signed so


@dataclass(frozen=True)
class PushResult:
    reference: str
    digest: str | None  # of the artifact in a registry or layout; None in object storage
    manifest: Manifest


def push(options: PushOptions, *, progress: ProgressCallback | None = None) -> PushResult:
    with scratch_folder("kbundle-push-") as work:
        local = _local_file(options.bundle, work)
        with naming(options.bundle):
            ready = accept_bundle(local, work / "bundle", TrustPolicy(options.require_signature))
        bundle = ready.bundle
        with naming(options.target):
            digest = publish(
                local, bundle.manifest_bytes, bundle.manifest, options.target, progress
            )
    return PushResult(str(options.target), digest, bundle.manifest)


@dataclass(frozen=True)
class PullOptions:
    """``kbundle pull REFERENCE -o FILE``: a remote bundle, checked how, written where."""

    source: RemoteBundle
    output: Path | BinaryIO
    require_signature: tuple[Path, ...] = ()


@dataclass(frozen=True)
class PullResult:
    manifest: Manifest
    written_to: str
    size: int | None
    signed_by: str | None  # the trusted key that signed it, when one was required


def pull(options: PullOptions, *, progress: ProgressCallback | None = None) -> PullResult:
    target = options.output
    checked_output(target)
    with scratch_folder("kbundle-pull-") as work:
        with naming(options.source):
            local = fetch(options.source, work / "fetched", progress)
            ready = accept_bundle(local, work / "bundle", TrustPolicy(options.require_signature))
        _write_out(local, target)
    return PullResult(
        ready.bundle.manifest, display_name(target, "stdout"), size_of(target), ready.signed_by
    )


def _local_file(bundle: Path | BinaryIO, work: Path) -> Path:
    """A path to the bundle's bytes: the file itself, or a stream saved first."""
    if isinstance(bundle, Path):
        source = checked_source(bundle)
        assert isinstance(source, Path)
        return source
    saved = work / "stdin.kbundle"
    with saved.open("wb") as out:
        shutil.copyfileobj(bundle, out, 1 << 20)
    return saved


def _write_out(local: Path, target: Path | BinaryIO) -> None:
    """The verified file to its place: a new file beside the target, then renamed over it,
    so a reader never sees half a bundle."""
    if not isinstance(target, Path):
        with local.open("rb") as source:
            shutil.copyfileobj(source, target, 1 << 20)
        target.flush()
        return
    if target.exists() and not target.is_file():
        raise UsageError(f"-o {target}: not a file")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        shutil.copyfile(local, partial)
        partial.chmod(0o600)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
