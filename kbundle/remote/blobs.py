"""Blobs moved in chunks, never whole in memory, and checked against their descriptor while
they stream: a bundle may be larger than memory, and a blob that changed where it is stored
must never be taken for the one its digest names.

A received blob is written to a hidden partial file beside its target and renamed into place
only once its size and digest match, so a cut-off or tampered transfer leaves nothing that
looks complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from kbundle.core.model import ProgressCallback
from kbundle.remote.artifact import Descriptor
from kbundle.remote.errors import DigestMismatch

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024


def read_chunks(path: Path, chunk: int = CHUNK) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            yield block


def describe_file(path: Path, media_type: str) -> Descriptor:
    """sha256 and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    for block in read_chunks(path):
        digest.update(block)
        size += len(block)
    return Descriptor(media_type, "sha256:" + digest.hexdigest(), size)


class BlobCheck:
    """Counts and hashes bytes as they arrive; refuses as soon as they exceed the size."""

    def __init__(self, expected: Descriptor, where: str) -> None:
        self.expected, self.where = expected, where
        self.hash = hashlib.sha256()
        self.size = 0

    def update(self, block: bytes) -> None:
        self.size += len(block)
        if self.size > self.expected.size:
            raise self._mismatch(f"more than its {self.expected.size} bytes")
        self.hash.update(block)

    def finish(self) -> None:
        if self.size != self.expected.size:
            raise self._mismatch(f"{self.size} bytes instead of {self.expected.size}")
        if "sha256:" + self.hash.hexdigest() != self.expected.digest:
            raise self._mismatch("other bytes than its digest names")

    def _mismatch(self, what: str) -> DigestMismatch:
        return DigestMismatch(
            f"{self.where}: blob {self.expected.label} ({self.expected.digest}) holds {what}: "
            "it changed where it is stored; nothing was used from it",
            hint="push the bundle again from a verified file",
        )


def receive(
    chunks: Iterable[bytes],
    expected: Descriptor,
    target: Path,
    where: str,
    progress: ProgressCallback | None = None,
) -> Path:
    """Stream ``chunks`` into ``target`` (created owner-only: bundles may hold Secrets),
    checking size and digest; on any failure no file is left at ``target``."""
    check = BlobCheck(expected, where)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    started = time.monotonic()
    what = expected.label
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            for block in chunks:
                check.update(block)
                out.write(block)
                if progress is not None:
                    progress(check.size, expected.size, what)
            check.finish()
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    log.info(
        "stored %s (%s, %d bytes) in %.2fs",
        what,
        expected.digest,
        expected.size,
        time.monotonic() - started,
    )
    return target


def receive_bytes(chunks: Iterable[bytes], expected: Descriptor, where: str) -> bytes:
    """A small blob (a manifest layer), checked like ``receive``; the caller has bounded
    ``expected.size`` before asking."""
    check = BlobCheck(expected, where)
    parts = []
    for block in chunks:
        check.update(block)
        parts.append(block)
    check.finish()
    log.info("read %s (%s, %d bytes)", expected.label, expected.digest, expected.size)
    return b"".join(parts)


class UploadStream:
    """A file as a request body: read in chunks (requests sends ``Content-Length`` from
    ``len()`` and streams ``read()``), reporting progress, rewindable for a retried request
    (a registry may ask for credentials only once the body is on its way)."""

    def __init__(
        self,
        handle: BinaryIO,
        size: int,
        what: str,
        progress: ProgressCallback | None = None,
    ) -> None:
        self._handle, self._size, self._what, self._progress = handle, size, what, progress
        self._sent = self._reported = 0

    def read(self, amount: int = -1) -> bytes:
        block = self._handle.read(CHUNK if amount is None or amount < 0 else amount)
        self._sent += len(block)
        # urllib3 reads 16 KiB at a time: report once per MiB, and at the end
        done = self._sent >= self._size
        if self._progress is not None and block and (self._sent - self._reported >= CHUNK or done):
            self._reported = self._sent
            self._progress(self._sent, self._size, self._what)
        return block

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(CHUNK):
            yield block

    def __len__(self) -> int:
        return self._size - self._sent

    def rewind(self) -> None:
        self._handle.seek(0)
        self._sent = self._reported = 0
