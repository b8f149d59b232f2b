"""Where a bundle lives, as a user writes it: a file, a stream, a registry, a layout folder,
or object storage. Parsing only: no I/O, no client library.

- ``oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]``: an artifact in an OCI registry;
- ``oci-layout:PATH[:TAG]``: an OCI image layout folder (or a ``.tar`` of one), for carrying
  a bundle across an air gap with standard tools (``oras cp``, ``skopeo copy``);
- ``s3://BUCKET/KEY``, ``gs://BUCKET/KEY``, ``az://CONTAINER/BLOB``: object storage;
- anything else: a local file (``-``: stdin or stdout, handled by the caller).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from kbundle.core.errors import UsageError

__all__ = [
    "LayoutRef",
    "OciRef",
    "RemoteBundle",
    "RemoteOptions",
    "StorageRef",
    "parse_location",
    "remote_or_none",
]

OCI = "oci://"
LAYOUT = "oci-layout:"
STORAGE_SCHEMES = {"s3": "s3", "gs": "gcs", "az": "azure"}  # scheme -> the extra naming it
DEFAULT_TAG = "latest"

_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?")
_REPOSITORY = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_OCI_HINT = "write an OCI reference as oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]"


@dataclass(frozen=True)
class OciRef:
    """An artifact in an OCI registry: by tag, or pinned by digest (both: the digest wins)."""

    registry: str  # host[:port]
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What the registry's API names the manifest by: the digest, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def loopback(self) -> bool:
        host = self.registry.rsplit(":", 1)[0] if not self.registry.startswith("[") else "[::1]"
        return host in ("localhost", "127.0.0.1", "[::1]") or host.startswith("127.")

    def __str__(self) -> str:
        text = f"{OCI}{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class LayoutRef:
    """A bundle in an OCI image layout folder or tarball, under a tag."""

    path: Path
    tag: str = DEFAULT_TAG

    def __str__(self) -> str:
        return f"{LAYOUT}{self.path}:{self.tag}"


@dataclass(frozen=True)
class StorageRef:
    """An object in object storage, reached through fsspec and the backend of its scheme."""

    url: str  # as given: s3://bucket/key
    scheme: str  # s3, gs, az

    @property
    def extra(self) -> str:
        """The kbundle extra that installs the backend: ``pip install 'kbundle[s3]'``."""
        return STORAGE_SCHEMES[self.scheme]

    def __str__(self) -> str:
        return self.url


Remote = OciRef | LayoutRef | StorageRef


@dataclass(frozen=True)
class RemoteOptions:
    """How to reach remote bundles: ``--plain-http`` (registries on plain HTTP; credentials
    are then sent to loopback hosts only), ``--registry-config`` (a Docker config file; the
    default is ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``), and
    ``--storage-option KEY=VALUE`` for the object storage backend."""

    plain_http: bool = False
    registry_config: Path | None = None
    storage_options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class RemoteBundle:
    """A bundle that lives elsewhere, and how to reach it: what a verb takes where it takes a
    bundle file (``RemoteBundle.parse("oci://127.0.0.1:5000/shop:v1", plain_http=True)``)."""

    ref: Remote
    options: RemoteOptions = RemoteOptions()

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        plain_http: bool = False,
        registry_config: Path | None = None,
        storage_options: Mapping[str, str] | None = None,
    ) -> RemoteBundle:
        remote = remote_or_none(text)
        if remote is None:
            raise UsageError(f"{text}: not a remote reference (oci://, oci-layout:, s3://...)")
        options = RemoteOptions(
            plain_http, registry_config, MappingProxyType(dict(storage_options or {}))
        )
        return cls(remote, options)

    def __str__(self) -> str:
        return str(self.ref)


def parse_location(text: str) -> Path | Remote:
    """``text`` as a local path or a remote reference; a malformed reference is a one-line
    UsageError naming it."""
    remote = remote_or_none(text)
    return Path(text) if remote is None else remote


def remote_or_none(text: str) -> Remote | None:
    if text.startswith(OCI):
        return _oci(text)
    if text.startswith(LAYOUT):
        return _layout(text)
    scheme, sep, rest = text.partition("://")
    if sep and scheme in STORAGE_SCHEMES:
        bucket, slash, key = rest.partition("/")
        if not bucket or not slash or not key or key.endswith("/"):
            raise UsageError(f"{text}: expected {scheme}://BUCKET/KEY, naming one object")
        return StorageRef(text, scheme)
    if sep and scheme.isalpha():
        known = ", ".join(f"{s}://" for s in ("oci", *STORAGE_SCHEMES))
        raise UsageError(f"{text}: kbundle reads no {scheme}:// locations (it knows {known})")
    return None


def _oci(text: str) -> OciRef:
    rest = text[len(OCI) :]
    registry, slash, path = rest.partition("/")
    if not slash or not path:
        raise UsageError(f"{text}: expected a registry host and a repository", hint=_OCI_HINT)
    if _HOST.fullmatch(registry) is None:
        raise UsageError(f"{text}: {registry!r} is not a registry host", hint=_OCI_HINT)
    path, at, digest = path.partition("@")
    if at and _DIGEST.fullmatch(digest) is None:
        raise UsageError(f"{text}: {digest!r} is not a sha256 digest", hint=_OCI_HINT)
    repository, colon, tag = path.rpartition(":") if ":" in path else (path, "", "")
    if colon and _TAG.fullmatch(tag) is None:
        raise UsageError(f"{text}: {tag!r} is not a valid tag", hint=_OCI_HINT)
    if _REPOSITORY.fullmatch(repository) is None:
        raise UsageError(f"{text}: {repository!r} is not a valid repository name", hint=_OCI_HINT)
    return OciRef(registry, repository, tag or None, digest or None)


def _layout(text: str) -> LayoutRef:
    rest = text[len(LAYOUT) :]
    path, colon, tag = rest.rpartition(":")
    if not colon or "/" in tag or _TAG.fullmatch(tag) is None:
        path, tag = rest, DEFAULT_TAG
    if not path:
        raise UsageError(f"{text}: expected oci-layout:PATH[:TAG]")
    return LayoutRef(Path(path), tag)
