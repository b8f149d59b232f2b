"""Writing a bundle: deterministic bytes, atomic replacement, bounded memory.

Object files are rendered one kind at a time and spooled to disk, so memory stays bounded by
the largest kind. ``finish`` then streams manifest, checksums and object files, in the order
of ``layout.member_order``, through one tar and one zstd frame. Every header field that could
vary (owner, mode, time) is fixed, so the same objects, manifest and mtime give the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO

import zstandard

from kbundle.bundle.layout import (
    CHECKSUMS,
    MANIFEST,
    SIGNATURE,
    is_object_file,
    member_order,
    object_file,
)
from kbundle.bundle.rendering import RenderedFile, render_object_file
from kbundle.bundle.yaml_codec import dump_document
from kbundle.core.model import FileEntry, Manifest, group_of, version_of

DEFAULT_COMPRESSION_LEVEL = 10
CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
Signer = Callable[[bytes], bytes]  # manifest bytes -> signature.yaml content
_COPY_CHUNK = 1 << 20


def creation_time(now: Callable[[], datetime] | None = None) -> datetime:
    """A new bundle's ``createdAt``: ``SOURCE_DATE_EPOCH`` when set (reproducible builds),
    otherwise now; whole seconds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip():
        return datetime.fromtimestamp(int(epoch), UTC)
    current = now() if now else datetime.now(UTC)
    return current.replace(microsecond=0)


def manifest_yaml(manifest: Manifest) -> bytes:
    """``manifest.yaml`` in the field order of ``Manifest.to_dict`` (not the object order)."""
    return dump_document(manifest.to_dict())


def checksums_text(digests: dict[str, str]) -> bytes:
    """``sha256sum -c`` input: ``<hex>  <path>`` per member, sorted by path."""
    return "".join(f"{digests[path]}  {path}\n" for path in sorted(digests)).encode("ascii")


def created_at(epoch: int) -> str:
    """RFC 3339 UTC with seconds, as ``createdAt`` wants it (e.g. from SOURCE_DATE_EPOCH)."""
    return datetime.fromtimestamp(epoch, UTC).strftime(CREATED_AT_FORMAT)


def epoch_of(created: str) -> int:
    """The inverse of ``created_at``: the header time of a bundle with this ``createdAt``."""
    return int(datetime.strptime(created, CREATED_AT_FORMAT).replace(tzinfo=UTC).timestamp())


def _tar_info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    """A header with nothing that depends on who wrote the file, where or when."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


class BundleWriter:
    """Collects object files, then writes the whole bundle in one pass.

    Use as a context manager: leaving the block without ``finish`` (an exception, Ctrl-C or a
    plain return) removes the spool and any partial file, and leaves the target untouched.
    """

    def __init__(
        self,
        target: Path | BinaryIO,
        *,
        mtime: int,
        compression_level: int = DEFAULT_COMPRESSION_LEVEL,
        tmp_dir: Path | None = None,
    ) -> None:
        self._target = target
        self._mtime = mtime
        self._level = compression_level
        self._spool = Path(tempfile.mkdtemp(prefix="kbundle-spool-", dir=tmp_dir))
        self._cleanup_spool = weakref.finalize(self, shutil.rmtree, self._spool, True)
        self._entries: dict[str, FileEntry] = {}
        self._spooled: dict[str, Path] = {}
        self._reserved: dict[str, Path] = {}  # object files' spool files, added or not yet
        self._closed = False

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    @property
    def entries(self) -> tuple[FileEntry, ...]:
        """The entries added so far, in the order they were added."""
        return tuple(self._entries.values())

    def add_object_file(
        self,
        *,
        level: int,
        level_name: str,
        api_version: str,
        kind: str,
        namespaced: bool,
        objects: Iterable[dict[str, Any]],
    ) -> FileEntry:
        """Render one kind's objects (already sorted by namespace, name) and spool them.

        ``objects`` may be a generator: each object is written as it comes, so a kind of any
        size costs the memory of one object (and the bytes are those of ``dump_documents``).
        """
        path, spooled = self.reserve_object_file(
            level=level, level_name=level_name, api_version=api_version, kind=kind
        )
        rendered = render_object_file(
            objects, api_version, kind, path, spooled, digest=hashlib.sha256()
        )
        return self.add_rendered_file(path, namespaced=namespaced, level=level, rendered=rendered)

    def reserve_object_file(
        self, *, level: int, level_name: str, api_version: str, kind: str
    ) -> tuple[str, Path]:
        """The bundle path of one kind's object file and the spool file to render it into
        (``render_object_file``, perhaps in a worker process); ``add_rendered_file`` adds it."""
        self._check_open()
        group, version = group_of(api_version), version_of(api_version)
        path = object_file(level, level_name, group, version, kind)
        if not is_object_file(path):
            raise ValueError(f"{path} is not a valid object file name (check level and kind)")
        if path in self._entries or path in self._reserved:
            raise ValueError(f"{path} was already added to this bundle")
        spooled = self._spool / f"{len(self._reserved):06d}.yaml"
        self._reserved[path] = spooled
        return path, spooled

    def add_rendered_file(
        self, path: str, *, namespaced: bool, level: int, rendered: RenderedFile
    ) -> FileEntry:
        """Add an object file ``render_object_file`` wrote to the spool file reserved for
        ``path``; hashed here if it was not as it was written (by a worker)."""
        self._check_open()
        if path not in self._reserved or path in self._entries:
            raise ValueError(f"{path} was not reserved, or was added already")
        sha256 = rendered.sha256
        if sha256 is None:
            with self._reserved[path].open("rb") as spooled:
                sha256 = hashlib.file_digest(spooled, "sha256").hexdigest()
        entry = FileEntry(
            path=path,
            api_version=rendered.api_version,
            kind=rendered.kind,
            namespaced=namespaced,
            level=level,
            objects=rendered.objects,
            sha256=sha256,
            size=rendered.size,
        )
        self._entries[path] = entry
        self._spooled[path] = self._reserved[path]
        return entry

    def finish(self, manifest: Manifest, *, signer: Signer | None = None) -> None:
        """Write the bundle; for a path, it appears complete or not at all.

        ``signer`` turns the manifest's bytes into a ``signature.yaml`` member.
        """
        self._check_open()
        try:
            self._check_manifest(manifest)
            manifest_bytes = manifest_yaml(manifest)
            digests = {MANIFEST: hashlib.sha256(manifest_bytes).hexdigest()}
            digests.update({path: entry.sha256 for path, entry in self._entries.items()})
            members: dict[str, bytes | Path] = {
                MANIFEST: manifest_bytes,
                CHECKSUMS: checksums_text(digests),
            }
            if signer is not None:
                members[SIGNATURE] = signer(manifest_bytes)
            members.update(self._spooled)
            write_members(self._target, members, mtime=self._mtime, level=self._level)
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop everything spooled; safe to call more than once."""
        self._closed = True
        self._cleanup_spool()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this BundleWriter is finished or aborted")

    def _check_manifest(self, manifest: Manifest) -> None:
        listed = {entry.path: entry for entry in manifest.files}
        if len(listed) != len(manifest.files):
            raise ValueError("the manifest lists an object file more than once")
        for path in sorted(listed.keys() | self._entries.keys()):
            if listed.get(path) != self._entries.get(path):
                raise ValueError(f"the manifest entry for {path} differs from the file added")


def write_members(
    target: Path | BinaryIO,
    members: dict[str, bytes | Path],
    *,
    mtime: int,
    level: int = DEFAULT_COMPRESSION_LEVEL,
) -> None:
    """Write ``members`` (content, or a file holding it) in canonical order as one bundle.

    A path target is replaced atomically; a stream is flushed. Also used to add a signature
    to a finished bundle, which must keep every other member byte for byte.
    """
    if isinstance(target, Path):
        _write_atomically(target, members, mtime, level)
    else:
        _write_stream(target, members, mtime, level)
        target.flush()


def _write_atomically(
    target: Path, members: dict[str, bytes | Path], mtime: int, level: int
) -> None:
    fd, partial_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent
    )
    partial = Path(partial_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _write_stream(out, members, mtime, level)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)


def _write_stream(out: IO[bytes], members: dict[str, bytes | Path], mtime: int, level: int) -> None:
    compressor = zstandard.ZstdCompressor(level=level, write_checksum=True)
    with (
        compressor.stream_writer(out, closefd=False) as compressed,
        tarfile.open(fileobj=compressed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in member_order(list(members)):
            with _content(members[name]) as (size, content):
                tar.addfile(_tar_info(name, size, mtime), content)


@contextlib.contextmanager
def _content(source: bytes | Path) -> Iterator[tuple[int, IO[bytes]]]:
    if isinstance(source, bytes):
        yield len(source), io.BytesIO(source)
        return
    with source.open("rb") as spooled:
        yield os.fstat(spooled.fileno()).st_size, spooled


def _fsync_directory(folder: Path) -> None:
    """Make the rename durable; some file systems cannot open a directory, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
