"""The OCI artifact a bundle is stored as (image-spec 1.1), built and read as plain data.

One image manifest with kbundle's ``artifactType``, the empty config, and two layers: the
bundle file itself (with its ``org.opencontainers.image.title``, so ``oras pull`` writes the
same file back) and ``manifest.yaml`` alone, so a reader can describe a bundle without
downloading it. docs/format.md ("In an OCI registry") is the reference; no I/O here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kbundle.core.model import Manifest
from kbundle.remote.errors import NotAKbundleArtifact, RemoteError

__all__ = [
    "ANNOTATION_CREATED",
    "ANNOTATION_FORMAT_VERSION",
    "ANNOTATION_NAMESPACES",
    "ANNOTATION_OBJECTS",
    "ANNOTATION_REF_NAME",
    "ANNOTATION_SECRETS",
    "ANNOTATION_SOURCE_CONTEXT",
    "ANNOTATION_SOURCE_SERVER_VERSION",
    "ANNOTATION_TITLE",
    "ANNOTATION_TOOL_VERSION",
    "ARTIFACT_TYPE",
    "MEDIA_TYPE_BUNDLE",
    "MEDIA_TYPE_EMPTY",
    "MEDIA_TYPE_MANIFEST",
    "MEDIA_TYPE_OCI_INDEX",
    "MEDIA_TYPE_OCI_MANIFEST",
    "Artifact",
    "Descriptor",
    "annotations_for",
    "build_artifact",
    "digest_of",
    "parse_artifact",
]

# kbundle's own types
ARTIFACT_TYPE = "application/vnd.kbundle.bundle.v1"
MEDIA_TYPE_BUNDLE = "application/vnd.kbundle.bundle.v1.tar+zstd"  # the bundle file
MEDIA_TYPE_MANIFEST = "application/vnd.kbundle.manifest.v1+yaml"  # its manifest.yaml alone
# the OCI image-spec's
MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"

ANNOTATION_TITLE = "org.opencontainers.image.title"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"  # a tag, in an OCI layout's index
ANNOTATION_FORMAT_VERSION = "io.kbundle.format.version"
ANNOTATION_TOOL_VERSION = "io.kbundle.tool.version"
ANNOTATION_SOURCE_CONTEXT = "io.kbundle.source.context"
ANNOTATION_SOURCE_SERVER_VERSION = "io.kbundle.source.server-version"
ANNOTATION_NAMESPACES = "io.kbundle.namespaces"
ANNOTATION_OBJECTS = "io.kbundle.objects"
ANNOTATION_SECRETS = "io.kbundle.secrets"

MANIFEST_TITLE = "manifest.yaml"
# The distribution spec asks registries to take manifests up to 4 MiB; ours are ~1 KiB.
MAX_OCI_MANIFEST_BYTES = 4 * 1024 * 1024
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_ALGORITHM = re.compile(r"[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
# Docker's own manifest types and an index: what a wrong reference usually names.
_IMAGE_TYPES = {
    MEDIA_TYPE_OCI_INDEX: "an OCI image index",
    "application/vnd.docker.distribution.manifest.v2+json": "a Docker image",
    "application/vnd.docker.distribution.manifest.list.v2+json": "a Docker image list",
}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a blob is, its digest and its exact size."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    data: bytes | None = None  # embedded content (the empty config carries ``{}``)

    @classmethod
    def of_bytes(
        cls, content: bytes, media_type: str, annotations: Mapping[str, str] | None = None
    ) -> Descriptor:
        return cls(media_type, digest_of(content), len(content), dict(annotations or {}))

    @property
    def title(self) -> str | None:
        return self.annotations.get(ANNOTATION_TITLE)

    @property
    def label(self) -> str:
        """What to call the blob in progress and messages: its title, else its role."""
        if self.title:
            return self.title
        if self.media_type == MEDIA_TYPE_EMPTY:
            return "config"
        if self.media_type == MEDIA_TYPE_OCI_MANIFEST:
            return "manifest"
        return self.digest[:19]

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest}
        doc["size"] = self.size
        if self.data is not None:
            doc["data"] = base64.b64encode(self.data).decode()
        if self.annotations:
            doc["annotations"] = dict(self.annotations)
        return doc

    @classmethod
    def from_dict(cls, doc: object, where: str) -> Descriptor:
        """A descriptor read from a registry or layout: every field checked (the digest is
        what a download is checked against, so only sha256 digests are accepted)."""
        if not isinstance(doc, dict):
            raise RemoteError(f"{where}: a descriptor is not a JSON object")
        media_type, digest, size = doc.get("mediaType"), doc.get("digest"), doc.get("size")
        if not isinstance(media_type, str):
            raise RemoteError(f"{where}: a descriptor has no mediaType")
        if not isinstance(digest, str) or _ALGORITHM.fullmatch(digest) is None:
            raise RemoteError(f"{where}: descriptor {digest!r} has no valid digest")
        if _DIGEST.fullmatch(digest) is None:
            raise RemoteError(
                f"{where}: {digest} is not a sha256 digest; kbundle checks sha256 only"
            )
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise RemoteError(f"{where}: descriptor {digest} has no valid size")
        annotations = doc.get("annotations") or {}
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise RemoteError(f"{where}: descriptor {digest} has malformed annotations")
        return cls(media_type, digest, size, annotations)


EMPTY_CONFIG = Descriptor(MEDIA_TYPE_EMPTY, digest_of(EMPTY_JSON), len(EMPTY_JSON), data=EMPTY_JSON)


@dataclass(frozen=True)
class Artifact:
    """A kbundle artifact: the bundle layer, the manifest layer (absent only in artifacts
    not pushed by kbundle), the config, and the manifest's annotations."""

    bundle: Descriptor
    manifest: Descriptor | None
    config: Descriptor = EMPTY_CONFIG
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Every blob, in upload order: the big one first, so a push cut off anywhere has
        written no manifest, and a tag never points at a half-uploaded artifact."""
        return (self.bundle, *((self.manifest,) if self.manifest else ()), self.config)

    def to_dict(self) -> dict[str, Any]:
        layers = [self.bundle, *((self.manifest,) if self.manifest else ())]
        return {
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": self.config.to_dict(),
            "layers": [layer.to_dict() for layer in layers],
            "annotations": dict(self.annotations),
        }

    def encode(self) -> bytes:
        """The manifest's bytes: compact JSON, so the same bundle always gives one digest."""
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()


def annotations_for(manifest: Manifest) -> dict[str, str]:
    """What a registry listing shows about a bundle, from its manifest (never a Secret
    value, a server address or a credential: the manifest holds none)."""
    selection = manifest.selection
    namespaces = "*" if selection.all_namespaces else ",".join(selection.namespaces)
    annotations = {
        ANNOTATION_CREATED: manifest.created_at,
        ANNOTATION_FORMAT_VERSION: manifest.format_version,
        ANNOTATION_TOOL_VERSION: manifest.tool_version,
        ANNOTATION_SOURCE_CONTEXT: manifest.source.context,
        ANNOTATION_SOURCE_SERVER_VERSION: manifest.source.server_version,
        ANNOTATION_NAMESPACES: namespaces,
        ANNOTATION_OBJECTS: str(manifest.total_objects),
    }
    if manifest.secrets is not None:
        annotations[ANNOTATION_SECRETS] = manifest.secrets.mode
    return annotations


def build_artifact(
    bundle: Descriptor, manifest_yaml: bytes, manifest: Manifest, title: str
) -> Artifact:
    """The artifact for a bundle file (``bundle`` describes it, without annotations)."""
    return Artifact(
        bundle=Descriptor(MEDIA_TYPE_BUNDLE, bundle.digest, bundle.size, {ANNOTATION_TITLE: title}),
        manifest=Descriptor.of_bytes(
            manifest_yaml, MEDIA_TYPE_MANIFEST, {ANNOTATION_TITLE: MANIFEST_TITLE}
        ),
        annotations=annotations_for(manifest),
    )


def parse_artifact(raw: bytes, where: str) -> Artifact:
    """Read an OCI manifest as a kbundle artifact; anything else is ``NotAKbundleArtifact``
    naming what it is. An artifact without ``artifactType`` whose config media type is
    kbundle's is accepted too (the image-spec's rule for artifacts of older tools)."""
    if len(raw) > MAX_OCI_MANIFEST_BYTES:
        raise NotAKbundleArtifact(f"{where}: this is not a kbundle artifact (manifest too large)")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise NotAKbundleArtifact(
            f"{where}: this is not a kbundle artifact (its manifest is not JSON)"
        ) from None
    if not isinstance(doc, dict):
        raise NotAKbundleArtifact(f"{where}: this is not a kbundle artifact (not a manifest)")
    media_type = doc.get("mediaType")
    if media_type != MEDIA_TYPE_OCI_MANIFEST:
        what = _IMAGE_TYPES.get(str(media_type), f"media type {media_type!r}")
        raise NotAKbundleArtifact(f"{where}: this is not a kbundle artifact ({what})")
    config = Descriptor.from_dict(doc.get("config"), where)
    artifact_type = doc.get("artifactType") or config.media_type
    if artifact_type != ARTIFACT_TYPE:
        raise NotAKbundleArtifact(
            f"{where}: this is not a kbundle artifact (artifactType {artifact_type!r}, "
            f"expected {ARTIFACT_TYPE})"
        )
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise NotAKbundleArtifact(f"{where}: this is not a kbundle artifact (no layers)")
    descriptors = [Descriptor.from_dict(layer, where) for layer in layers]
    bundles = [d for d in descriptors if d.media_type == MEDIA_TYPE_BUNDLE]
    manifests = [d for d in descriptors if d.media_type == MEDIA_TYPE_MANIFEST]
    if len(bundles) != 1:
        raise NotAKbundleArtifact(
            f"{where}: this is not a kbundle artifact (expected one {MEDIA_TYPE_BUNDLE} layer, "
            f"found {len(bundles)})"
        )
    if len(manifests) > 1:
        raise NotAKbundleArtifact(
            f"{where}: this is not a kbundle artifact (two {MEDIA_TYPE_MANIFEST} layers)"
        )
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise NotAKbundleArtifact(f"{where}: this is not a kbundle artifact (bad annotations)")
    return Artifact(
        bundle=bundles[0],
        manifest=manifests[0] if manifests else None,
        config=config,
        annotations={str(k): str(v) for k, v in annotations.items()},
    )
