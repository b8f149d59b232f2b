"""Reading an untrusted bundle: one streaming pass, every member checked before it lands.

Nothing here trusts the archive. Member names are checked before they become paths, only
regular files are accepted, and every decompressed byte is counted as it is produced, so a
decompression bomb stops at the limit instead of filling memory or disk. Members are written
into a private folder while they are hashed; ``kbundle.bundle.verify`` then checks them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar, cast

import yaml
import zstandard

from kbundle.bundle.layout import MANIFEST
from kbundle.bundle.yaml_codec import describe_error, load_documents
from kbundle.core.errors import BundleFormatError

MiB = 1 << 20
GiB = 1 << 30

_T = TypeVar("_T")

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_READ_SIZE = 64 * 1024
# Compressed bytes handed to zstd at a time: a 4-byte zstd block can expand to 128 KiB, so
# one call produces at most about 8 MiB before the limits are checked again.
_FEED_SIZE = 256
_COPY_SIZE = MiB
# A tar header (with pax or long-name records) is a few hundred bytes; allow plenty.
_HEADER_BUDGET = MiB
_HEADER_TOO_LARGE = "a tar header is larger than 1 MiB"
# tarfile reads ahead by one record (10 KiB) and pads members to 512 bytes.
_SLACK = 64 * 1024
_HEADER_OVERHEAD_PER_MEMBER = 4096
_MAX_NAME_BYTES = 1024
_MAX_COMPONENT_BYTES = 255
_MAX_SHOWN = 120

_REGULAR_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)
_TYPE_NAMES = {
    tarfile.DIRTYPE: "a directory",
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.CONTTYPE: "a contiguous file",
    tarfile.GNUTYPE_SPARSE: "a sparse file",
}


@dataclass(frozen=True)
class Limits:
    """Caps for reading an untrusted bundle; reading stops at the first byte over any of them."""

    max_member_size: int = 256 * MiB
    max_total_size: int = 2 * GiB  # sum of all members, uncompressed
    max_members: int = 10_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Member:
    """One extracted member: its name in the bundle, where it now is, and its digest."""

    name: str
    path: Path
    size: int
    sha256: str


class _StreamError(Exception):
    """A container problem found below tarfile; the caller adds which member it was in."""


# The all-zero block that ends an archive (missing from typeshed).
_END_OF_ARCHIVE: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]
# No header where one must be: the archive stops without its end-of-archive marker.
_CUT_SHORT: tuple[type[Exception], ...] = (
    tarfile.EmptyHeaderError,  # type: ignore[attr-defined]
    tarfile.TruncatedHeaderError,  # type: ignore[attr-defined]
)


class _StrictTarInfo(tarfile.TarInfo):
    """Headers whose corruption raises instead of silently ending the archive.

    ``tarfile`` treats a bad header after the first member as the end of the archive, which
    would let a damaged bundle look shorter than it is. Only a real end-of-archive block ends
    the iteration here.
    """

    @classmethod
    def fromtarfile(cls, tar: tarfile.TarFile) -> _StrictTarInfo:
        try:
            return super().fromtarfile(tar)
        except _END_OF_ARCHIVE:
            raise
        except _CUT_SHORT:
            raise _StreamError("not a kbundle file: the tar stream is truncated") from None
        except tarfile.HeaderError as error:
            raise _StreamError(f"not a kbundle file: corrupt tar header: {error}") from None


class _Decompressed:
    """The decompressed bundle as a ``read()``-only stream that counts what it hands out.

    ``budget`` sets how many more bytes the current step (one header, one member) may take;
    ``total_cap`` bounds the whole stream. Truncation, corruption and data after the frame are
    errors, which python-zstandard's own stream reader would let pass.
    """

    def __init__(self, raw: BinaryIO, total_cap: int) -> None:
        self._raw = raw
        self._zstd = zstandard.ZstdDecompressor().decompressobj()
        self._pending = memoryview(b"")
        self._out = bytearray()
        self._raw_bytes = 0
        self._total_cap = total_cap
        self._step_end = 0
        self._step = ""
        self.produced = 0

    def budget(self, size: int, what: str) -> None:
        """Allow ``size`` more bytes for the next step; ``what`` names it if it takes more."""
        self._step_end = self.produced + size
        self._step = what

    def read(self, size: int = -1) -> bytes:
        wanted = size if size >= 0 else _READ_SIZE
        while len(self._out) < wanted and self._fill():
            pass
        chunk = bytes(self._out[:wanted])
        del self._out[:wanted]
        self.produced += len(chunk)
        if self.produced > self._total_cap:
            raise _StreamError(f"the bundle expands beyond {self._total_cap} bytes")
        if self.produced > self._step_end:
            raise _StreamError(f"not a kbundle file: {self._step}")
        return chunk

    def _fill(self) -> bool:
        """Decompress one small slice; False once the zstd frame is complete."""
        if self._zstd.eof:
            return False
        if not self._pending:
            self._pending = memoryview(self._read_raw())
        piece, self._pending = self._pending[:_FEED_SIZE], self._pending[_FEED_SIZE:]
        try:
            self._out += self._zstd.decompress(piece)
        except zstandard.ZstdError as error:
            reason = str(error).split(": ", 1)[-1]
            raise _StreamError(f"not a kbundle file: corrupt zstd data: {reason}") from None
        if self._zstd.eof:
            self._refuse_trailing_data()
        return True

    def _read_raw(self) -> bytes:
        data = self._raw.read(_READ_SIZE)
        if self._raw_bytes == 0:
            while 0 < len(data) < len(_ZSTD_MAGIC) and (more := self._raw.read(_READ_SIZE)):
                data += more
            if not data:
                raise _StreamError("not a kbundle file: the input is empty")
            if not data.startswith(_ZSTD_MAGIC):
                raise _StreamError("not a kbundle file: not zstd-compressed")
        elif not data:
            raise _StreamError("not a kbundle file: the compressed stream is truncated")
        self._raw_bytes += len(data)
        return data

    def _refuse_trailing_data(self) -> None:
        if self._zstd.unused_data or self._pending or self._raw.read(1):
            raise _StreamError("not a kbundle file: unexpected data after the zstd frame")


def _name_problem(name: str) -> str | None:
    """Why a member name cannot be used as a relative path inside the private folder."""
    problem = None
    parts = name.split("/")
    if not name:
        problem = "empty name"
    elif "\x00" in name:
        problem = "NUL character in the name"
    elif "\\" in name:
        problem = "backslash in the name"
    elif not name.isprintable():
        problem = "control or undecodable character in the name"
    elif name.startswith("/"):
        problem = "absolute path"
    elif ".." in parts:
        problem = "'..' in the path"
    elif "" in parts or "." in parts:
        problem = "path is not normalised"
    elif len(name.encode()) > _MAX_NAME_BYTES or any(
        len(part.encode()) > _MAX_COMPONENT_BYTES for part in parts
    ):
        problem = "name too long"
    return problem


def _show(name: str) -> str:
    """A member name as it can be printed on one line, whatever bytes it holds."""
    shown = name if name.isprintable() and name else repr(name)
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 3] + "..."


class _TarStream:
    """Members of a bundle, each checked (name, type, uniqueness, limits) before it is read."""

    def __init__(self, raw: BinaryIO, limits: Limits) -> None:
        self._limits = limits
        total_cap = (
            limits.max_total_size
            + limits.max_members * _HEADER_OVERHEAD_PER_MEMBER
            + _HEADER_BUDGET
        )
        self._data = _Decompressed(raw, total_cap)
        self._names: set[str] = set()
        self._folders: set[str] = set()
        self._total = 0
        self._last: str | None = None
        self._data.budget(_HEADER_BUDGET, _HEADER_TOO_LARGE)
        self._tar = self._header_step(self._open)

    def _open(self) -> tarfile.TarFile:
        return tarfile.open(
            fileobj=cast(IO[bytes], self._data),  # read() is all that "r|" needs
            mode="r|",
            tarinfo=_StrictTarInfo,
            encoding="utf-8",
        )

    def members(self) -> Iterator[tuple[tarfile.TarInfo, Iterator[bytes]]]:
        """Each member's header and its content as chunks; the content must be consumed."""
        while True:
            self._data.budget(_HEADER_BUDGET, _HEADER_TOO_LARGE)
            info = self._header_step(self._tar.next)
            if info is None:
                break
            self._check(info)
            self._data.budget(info.size + _SLACK, "member larger than its header says")
            yield info, self._content(info)
            self._last = info.name
        self._finish()

    def close(self) -> None:
        self._tar.close()

    def _header_step(self, step: Callable[[], _T]) -> _T:
        try:
            return step()
        except _StreamError as error:
            raise BundleFormatError(f"{error}{self._where()}") from None
        except tarfile.TarError as error:
            reason = str(error) or type(error).__name__
            raise BundleFormatError(
                f"not a kbundle file: not a tar archive: {reason}{self._where()}"
            ) from None

    def _where(self) -> str:
        """Roughly where the stream broke (tarfile reads ahead by up to 10 KiB)."""
        return f" (after member {_show(self._last)})" if self._last else ""

    def _check(self, info: tarfile.TarInfo) -> None:
        name, shown = info.name, _show(info.name)
        if len(self._names) >= self._limits.max_members:
            raise BundleFormatError(
                f"member {shown}: more than {self._limits.max_members} members",
                hint="raise the member limit if this bundle is trusted",
            )
        problem = _name_problem(name)
        if problem:
            raise BundleFormatError(f"member {shown}: unsafe name ({problem})")
        if info.type not in _REGULAR_TYPES or info.issparse():
            kind = _TYPE_NAMES.get(info.type, f"of tar type {info.type!r}")
            raise BundleFormatError(f"member {shown} is {kind}; only regular files are allowed")
        self._check_unique(name)
        self._check_size(info)

    def _check_unique(self, name: str) -> None:
        shown = _show(name)
        if name in self._names:
            raise BundleFormatError(f"member {shown} appears more than once")
        folders = ["/".join(name.split("/")[:i]) for i in range(1, name.count("/") + 1)]
        if name in self._folders or any(folder in self._names for folder in folders):
            raise BundleFormatError(f"member {shown} clashes with another member's path")
        self._names.add(name)
        self._folders.update(folders)

    def _check_size(self, info: tarfile.TarInfo) -> None:
        limits, shown = self._limits, _show(info.name)
        if info.size > limits.max_member_size:
            raise BundleFormatError(
                f"member {shown} is {info.size} bytes, over the limit of "
                f"{limits.max_member_size} bytes per member",
                hint="raise the size limits if this bundle is trusted",
            )
        if self._total + info.size > limits.max_total_size:
            raise BundleFormatError(
                f"member {shown} takes the bundle over the limit of "
                f"{limits.max_total_size} uncompressed bytes",
                hint="raise the size limits if this bundle is trusted",
            )
        self._total += info.size

    def _content(self, info: tarfile.TarInfo) -> Iterator[bytes]:
        shown = _show(info.name)
        try:
            content = self._tar.extractfile(info)
            if content is None:  # cannot happen for a regular file; keeps the types honest
                raise _StreamError(f"not a kbundle file: no content for member {shown}")
            count = 0
            while chunk := content.read(_COPY_SIZE):
                count += len(chunk)
                if count > info.size:
                    raise _StreamError("not a kbundle file: member larger than its header")
                yield chunk
        except _StreamError as error:
            raise BundleFormatError(f"{error} (in member {shown})") from None
        except tarfile.TarError:
            raise BundleFormatError(
                f"not a kbundle file: the tar stream is truncated (in member {shown})"
            ) from None

    def _finish(self) -> None:
        """Read to the end of the frame, so truncation and trailing data cannot hide."""
        self._data.budget(tarfile.RECORDSIZE + _SLACK, "data after the end of the tar archive")
        try:
            while rest := self._data.read(_READ_SIZE):
                if rest.count(0) != len(rest):
                    raise _StreamError("not a kbundle file: data after the end of the tar archive")
        except _StreamError as error:
            raise BundleFormatError(f"{error}{self._where()}") from None


@contextlib.contextmanager
def _open_stream(source: Path | BinaryIO, limits: Limits) -> Iterator[_TarStream]:
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(source.open("rb")) if isinstance(source, Path) else source
        stream = _TarStream(raw, limits)
        stack.callback(stream.close)
        yield stream


def _prepare_folder(into: Path) -> None:
    into.mkdir(mode=0o700, parents=True, exist_ok=True)
    if any(into.iterdir()):
        raise ValueError(f"{into} must be empty: bundles are extracted into a private folder")


def _write_member(into: Path, name: str, chunks: Iterator[bytes]) -> Member:
    """Write one member below ``into`` while hashing it; never follows or replaces a file."""
    target = into.joinpath(*name.split("/"))
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(target, flags, 0o600)
    except (FileExistsError, IsADirectoryError, NotADirectoryError):
        raise BundleFormatError(f"member {_show(name)} clashes with another member") from None
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return Member(name=name, path=target, size=size, sha256=digest.hexdigest())


def extract_bundle(
    source: Path | BinaryIO, into: Path, limits: Limits = DEFAULT_LIMITS
) -> list[Member]:
    """Stream every member of a bundle into the empty private folder ``into``, in order.

    Raises ``BundleFormatError`` naming the member (or "not a kbundle file: ..." for the
    container) on the first problem; ``into`` may then hold partial content for the caller
    to remove.
    """
    _prepare_folder(into)
    with _open_stream(source, limits) as stream:
        return [_write_member(into, info.name, chunks) for info, chunks in stream.members()]


def manifest_document(data: bytes) -> dict[str, Any]:
    """The manifest as a mapping: exactly one YAML document, loaded safely."""
    try:
        documents = load_documents(data)
    except yaml.YAMLError as error:
        raise BundleFormatError(f"{MANIFEST} is not valid YAML: {describe_error(error)}") from None
    except ValueError as error:
        raise BundleFormatError(f"{MANIFEST}: {error}") from None
    if len(documents) != 1:
        raise BundleFormatError(f"{MANIFEST} must hold one YAML mapping, found {len(documents)}")
    return documents[0]


def read_manifest(source: Path | BinaryIO, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The manifest alone, without reading further (for ``inspect``); it is NOT verified."""
    return manifest_document(read_manifest_bytes(source, limits))


def read_manifest_bytes(source: Path | BinaryIO, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The first member's bytes, which must be the manifest, without reading further (what a
    registry's artifact carries as its small layer); NOT verified."""
    with _open_stream(source, limits) as stream:
        for info, chunks in stream.members():
            if info.name != MANIFEST:
                raise BundleFormatError(
                    f"not a kbundle file: the first member is {_show(info.name)}, not {MANIFEST}"
                )
            return b"".join(chunks)
    raise BundleFormatError(f"not a kbundle file: no {MANIFEST} (the archive is empty)")
