"""One way in and one way out for every remote kind: a bundle is fetched whole into a local
file before anything reads it, and published from a complete local file.

The verbs never talk to a registry or a bucket themselves: they fetch, then verify the file
exactly as any other; they write a file, then publish it. Each kind's module is imported
only when a reference of that kind is used (fsspec and oras cost time to import).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kbundle.core.model import Manifest
from kbundle.remote.refs import LayoutRef, OciRef, RemoteBundle, StorageRef

Progress = Callable[[int, int, str], None]


def fetch(bundle: RemoteBundle, into: Path, progress: Progress | None = None) -> Path:
    """The bundle downloaded whole into the private folder ``into``, every digest the
    remote publishes checked on the way; the path of the local file."""
    ref = bundle.ref
    if isinstance(ref, OciRef | LayoutRef):
        from kbundle.remote.oci import pull_bundle  # noqa: PLC0415 - see the module docstring

        return pull_bundle(ref, into, bundle.options, progress)
    from kbundle.remote.storage import download  # noqa: PLC0415

    return download(ref, into, bundle.options, progress)


def publish(
    file: Path,
    manifest_yaml: bytes,
    manifest: Manifest,
    bundle: RemoteBundle,
    progress: Progress | None = None,
) -> str | None:
    """Publish the complete bundle ``file``; the artifact's digest for a registry or layout
    (None for object storage). Nothing complete-looking exists there until it all is."""
    ref = bundle.ref
    if isinstance(ref, OciRef | LayoutRef):
        from kbundle.remote.oci import push_bundle  # noqa: PLC0415

        return push_bundle(file, manifest_yaml, manifest, ref, bundle.options, progress)
    assert isinstance(ref, StorageRef)
    from kbundle.remote.storage import upload  # noqa: PLC0415

    upload(file, ref, bundle.options, progress)
    return None
