"""What several verbs share: which cluster, where a bundle comes from and goes to (a file, a
stream, or a ``RemoteBundle``: a registry, a layout, object storage), and the one way from a
bundle to a bundle fit to use.

Light on purpose: the CLI imports it (for the enums and option types) before it knows which
command runs, so nothing here loads YAML, cryptography or the cluster client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from kbundle.core.errors import BundleFormatError, UsageError
from kbundle.remote.refs import RemoteBundle

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from kbundle.bundle.trust import ReadyBundle, TrustPolicy
    from kbundle.core.model import Manifest, ProgressCallback

# a bundle file, a stream to read it from (stdin), or a bundle elsewhere
BundleSource = Path | BinaryIO | RemoteBundle
# a file to create or replace, a stream (stdout), or a place elsewhere to publish to
BundleTarget = Path | BinaryIO | RemoteBundle


@dataclass(frozen=True)
class ClusterTarget:
    """A cluster as kubectl names it: ``--kubeconfig`` and ``--context`` (defaults:
    ``$KUBECONFIG``, then ``~/.kube/config``; the current context)."""

    kubeconfig: str | None = None
    context: str | None = None


class SecretsMode(StrEnum):
    """What export does with Secrets."""

    INCLUDE = "include"  # as the API returns them; the bundle file is mode 0600
    EXCLUDE = "exclude"  # never read
    ENCRYPT = "encrypt"  # data sealed with a passphrase


def display_name(bundle: BundleSource | BundleTarget, stream_name: str = "stdin") -> str:
    """How messages name a bundle: its path or reference, or ``stdin``/``stdout``."""
    return str(bundle) if isinstance(bundle, Path | RemoteBundle) else stream_name


def checked_source(bundle: Path | BinaryIO) -> Path | BinaryIO:
    """A bundle to read: a path must name an existing file."""
    if isinstance(bundle, Path) and not bundle.is_file():
        raise UsageError(f"{bundle}: no such bundle file")
    return bundle


def checked_output(output: BundleTarget, flag: str = "-o") -> BundleTarget:
    """A bundle file to write: not a folder, in a folder that exists."""
    if isinstance(output, Path):
        if output.is_dir():
            raise UsageError(f"{flag} {output}: is a folder; name the bundle file")
        if not output.parent.is_dir():
            raise UsageError(f"{flag} {output}: folder {output.parent} does not exist")
    return output


def size_of(output: BundleTarget) -> int | None:
    """Bytes written to a bundle file; None for a stream or a remote."""
    return output.stat().st_size if isinstance(output, Path) else None


@contextlib.contextmanager
def naming(bundle: BundleSource) -> Iterator[None]:
    """Errors about a bundle's content name the bundle first, then the member."""
    try:
        yield
    except BundleFormatError as error:
        raise type(error)(f"{display_name(bundle)}: {error.message}", hint=error.hint) from None


def ready_bundle(
    bundle: BundleSource,
    work: Path,
    policy: TrustPolicy,
    progress: ProgressCallback | None = None,
) -> ReadyBundle:
    """Verify, check the signature, open the Secrets, as ``policy`` asks: all before any
    request to a cluster; errors name the bundle. A remote bundle is downloaded whole into
    ``work`` first, its digests checked, and then verified as a file is."""
    from kbundle.bundle.trust import accept_bundle  # noqa: PLC0415 - see the module docstring

    if isinstance(bundle, RemoteBundle):
        from kbundle.remote.transfer import fetch  # noqa: PLC0415

        with naming(bundle):
            local = fetch(bundle, work / "fetched", progress)
            return accept_bundle(local, work / "bundle", policy, progress=progress)
    with naming(bundle):
        return accept_bundle(checked_source(bundle), work, policy, progress=progress)


def file_name(target: RemoteBundle) -> str:
    """A bundle file's name for a remote: the key's last part, or the repository's last
    part with ``.kbundle`` (``oci://host/team/shop:v1`` -> ``shop.kbundle``)."""
    from kbundle.remote.refs import LayoutRef, OciRef  # noqa: PLC0415

    ref = target.ref
    if isinstance(ref, OciRef):
        stem = ref.repository.rsplit("/", 1)[-1]
    elif isinstance(ref, LayoutRef):
        stem = ref.tag
    else:
        stem = ref.url.rsplit("/", 1)[-1].removesuffix(".kbundle")
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem).strip(".") or "bundle"
    return f"{cleaned}.kbundle"


def remote_manifest(bundle: RemoteBundle) -> dict[str, Any]:
    """The manifest document of a remote bundle, read without the rest of it: the small
    layer of a registry's artifact, the first bytes of an object in storage."""
    from kbundle.bundle.reader import manifest_document, read_manifest  # noqa: PLC0415
    from kbundle.remote.refs import StorageRef  # noqa: PLC0415

    with naming(bundle):
        if isinstance(bundle.ref, StorageRef):
            from kbundle.remote.storage import open_head  # noqa: PLC0415

            with open_head(bundle.ref, bundle.options) as stream:
                return read_manifest(stream)
        from kbundle.remote.oci import pull_manifest  # noqa: PLC0415

        return manifest_document(pull_manifest(bundle.ref, bundle.options))


def deliver(
    target: BundleTarget,
    write: Callable[[Path | BinaryIO], Manifest],
    progress: ProgressCallback | None = None,
) -> tuple[Manifest, str | None]:
    """Run ``write`` into ``target``; for a remote target into a private local file first,
    then published whole. The manifest written, and the published artifact's digest."""
    if not isinstance(target, RemoteBundle):
        return write(target), None
    from kbundle.bundle.reader import read_manifest_bytes  # noqa: PLC0415
    from kbundle.core.scratch import scratch_folder  # noqa: PLC0415
    from kbundle.remote.transfer import publish  # noqa: PLC0415

    with scratch_folder("kbundle-publish-") as work:
        local = work / file_name(target)  # the name generic tools (oras pull) write it as
        manifest = write(local)
        with naming(target):
            written = read_manifest_bytes(local)  # exactly the bundle's, for the small layer
            digest = publish(local, written, manifest, target, progress)
    return manifest, digest
