"""Bundles as OCI artifacts, in a registry (``oci://``) or an OCI image layout
(``oci-layout:``): push a bundle file, pull it back whole, read its manifest alone.

What is stored is described in ``artifact`` (and docs/format.md, "In an OCI registry").
Every blob moves in chunks and is checked against its descriptor while it streams; the
manifest goes up last, so a tag never names a half-written artifact. A pulled bundle is
only a file in the caller's folder: verifying it (checksums, schema, signature) is the
caller's next step, exactly as for any bundle file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from kbundle.core.errors import UsageError
from kbundle.core.model import Manifest, ProgressCallback
from kbundle.remote.artifact import (
    ANNOTATION_CREATED,
    ANNOTATION_FORMAT_VERSION,
    ANNOTATION_NAMESPACES,
    ANNOTATION_OBJECTS,
    ANNOTATION_SECRETS,
    ANNOTATION_SOURCE_CONTEXT,
    ANNOTATION_SOURCE_SERVER_VERSION,
    ANNOTATION_TITLE,
    ANNOTATION_TOOL_VERSION,
    ARTIFACT_TYPE,
    EMPTY_JSON,
    MEDIA_TYPE_BUNDLE,
    MEDIA_TYPE_EMPTY,
    MEDIA_TYPE_MANIFEST,
    Artifact,
    Descriptor,
    build_artifact,
    parse_artifact,
)
from kbundle.remote.blobs import describe_file, receive, receive_bytes
from kbundle.remote.errors import RemoteError
from kbundle.remote.layout import Content, open_layout, push_layout
from kbundle.remote.refs import DEFAULT_TAG, LayoutRef, OciRef, RemoteOptions

__all__ = [
    "ANNOTATION_CREATED",
    "ANNOTATION_FORMAT_VERSION",
    "ANNOTATION_NAMESPACES",
    "ANNOTATION_OBJECTS",
    "ANNOTATION_SECRETS",
    "ANNOTATION_SOURCE_CONTEXT",
    "ANNOTATION_SOURCE_SERVER_VERSION",
    "ANNOTATION_TITLE",
    "ANNOTATION_TOOL_VERSION",
    "ARTIFACT_TYPE",
    "MEDIA_TYPE_BUNDLE",
    "MEDIA_TYPE_EMPTY",
    "MEDIA_TYPE_MANIFEST",
    "pull_bundle",
    "pull_manifest",
    "push_bundle",
    "resolve",
]

DEFAULT_TITLE = "bundle.kbundle"
_TITLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
# manifest.yaml is small; this bounds what ``inspect`` reads before a schema check
MAX_MANIFEST_LAYER_BYTES = 64 * 1024 * 1024


class _Source(Protocol):
    """Where a pull reads from: a registry session or an opened layout."""

    def get_manifest(self) -> tuple[bytes, str]: ...

    def blob_chunks(self, blob: Descriptor) -> AbstractContextManager[Iterator[bytes]]: ...


def push_bundle(  # noqa: PLR0917 - the shape kbundle.remote.transfer calls
    file: Path,
    manifest_yaml: bytes,
    manifest: Manifest,
    ref: OciRef | LayoutRef,
    options: RemoteOptions,
    progress: ProgressCallback | None = None,
    *,
    title: str | None = None,
) -> str:
    """Publish the bundle ``file`` (its ``manifest.yaml`` bytes and parsed manifest given by
    the caller, who has read them) under ``ref``'s tag; the artifact's manifest digest.

    Pushing the same bundle again under the same tag uploads nothing new and gives the
    same digest. ``title`` names the file for ``oras pull`` (default: the file's name)."""
    if isinstance(ref, OciRef) and ref.digest:
        raise UsageError(
            f"{ref}: a push needs a tag, not a digest (the digest is known once pushed)",
            hint=f"push to oci://{ref.registry}/{ref.repository}:TAG",
        )
    bundle = describe_file(file, MEDIA_TYPE_BUNDLE)
    artifact = build_artifact(bundle, manifest_yaml, manifest, safe_title(title or file.name))
    raw = artifact.encode()
    blobs = _contents(artifact, file, manifest_yaml)
    if isinstance(ref, LayoutRef):
        return push_layout(ref, raw, blobs, progress)
    from kbundle.remote.registry import RegistrySession  # noqa: PLC0415 - oras loads slowly

    session = RegistrySession(ref, options)
    for blob, content in blobs:
        session.upload_blob(blob, content, progress)
    return session.put_manifest(raw, ref.tag or DEFAULT_TAG)


def pull_bundle(
    ref: OciRef | LayoutRef,
    into: Path,
    options: RemoteOptions,
    progress: ProgressCallback | None = None,
) -> Path:
    """Download the bundle into the folder ``into`` (created if needed; the caller owns
    it): the manifest checked to be a kbundle artifact (and against a pinned digest), the
    bundle layer's size and digest checked while it streams. The path of the file."""
    with _source(ref, options) as source:
        artifact = _artifact(source, ref)
        into.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = into / safe_title(artifact.bundle.title or DEFAULT_TITLE)
        with source.blob_chunks(artifact.bundle) as chunks:
            return receive(chunks, artifact.bundle, target, str(ref), progress)


def pull_manifest(ref: OciRef | LayoutRef, options: RemoteOptions) -> bytes:
    """The bundle's ``manifest.yaml`` from the artifact's small layer alone (its digest
    checked), for describing a bundle without downloading it."""
    with _source(ref, options) as source:
        artifact = _artifact(source, ref)
        layer = artifact.manifest
        if layer is None:
            raise RemoteError(
                f"{ref}: the artifact has no {MEDIA_TYPE_MANIFEST} layer (not pushed by kbundle)",
                hint="pull the whole bundle and inspect the file",
            )
        if layer.size > MAX_MANIFEST_LAYER_BYTES:
            raise RemoteError(f"{ref}: its manifest layer is {layer.size} bytes: too large")
        with source.blob_chunks(layer) as chunks:
            return receive_bytes(chunks, layer, str(ref))


def resolve(ref: OciRef, options: RemoteOptions) -> str:
    """The digest ``ref`` points to now (``sha256:...``), for messages and pinning."""
    from kbundle.remote.registry import RegistrySession  # noqa: PLC0415

    return RegistrySession(ref, options).resolve()


def safe_title(name: str) -> str:
    """A file name fit to be a layer's title and to be written locally: no path, no
    leading dot; anything else becomes ``bundle.kbundle``."""
    return name if _TITLE.fullmatch(name) else DEFAULT_TITLE


def _contents(
    artifact: Artifact, file: Path, manifest_yaml: bytes
) -> list[tuple[Descriptor, Content]]:
    contents: list[tuple[Descriptor, Content]] = [(artifact.bundle, file)]
    if artifact.manifest is not None:
        contents.append((artifact.manifest, manifest_yaml))
    contents.append((artifact.config, EMPTY_JSON))
    return contents


def _artifact(source: _Source, ref: OciRef | LayoutRef) -> Artifact:
    raw, _digest = source.get_manifest()
    return parse_artifact(raw, str(ref))


@contextmanager
def _source(ref: OciRef | LayoutRef, options: RemoteOptions) -> Iterator[_Source]:
    if isinstance(ref, LayoutRef):
        with open_layout(ref) as layout:
            yield layout
        return
    from kbundle.remote.registry import RegistrySession  # noqa: PLC0415

    yield RegistrySession(ref, options)
