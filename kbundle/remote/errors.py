"""What can go wrong with a bundle in a registry or layout, as ``RemoteError`` kinds a
caller (or a test) can tell apart. Every message is one line naming the reference."""

from __future__ import annotations

from kbundle.core.errors import IntegrityError, RemoteError

__all__ = [
    "DigestMismatch",
    "NotAKbundleArtifact",
    "NotFound",
    "RemoteError",
    "Unauthorized",
]


class NotFound(RemoteError):
    """No such tag, digest, repository or blob."""


class Unauthorized(RemoteError):
    """The registry wants credentials, refused them, or forbids this access."""


class NotAKbundleArtifact(RemoteError):
    """The reference names something else: an image, an index, another tool's artifact."""


class DigestMismatch(RemoteError, IntegrityError):
    """Bytes received do not match their descriptor: the blob changed where it is stored."""
