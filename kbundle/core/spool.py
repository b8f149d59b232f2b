"""Objects kept on disk instead of in memory, for runs whose size is the cluster's.

An import of 50,000 objects held each of them, and the live copy of each, for the whole run:
hundreds of MiB that grew with every object. These containers keep only a small int per
object in memory and the object itself in an anonymous temporary file, removed when closed
or when the process ends, however it ends.

The format is marshal's: this process writes the file and reads it back, nothing else ever
does, and for JSON-like values it is several times faster than json both ways. Reads use
``os.pread``, so worker threads read concurrently without sharing a file position.
"""

from __future__ import annotations

import bisect
import marshal
import os
import tempfile
import threading
from array import array
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from kbundle.core.heads import Head, HeadTable
from kbundle.core.model import ObjectRef
from kbundle.core.owners import owner_candidates
from kbundle.core.positional import Positional

K = TypeVar("K", bound=Hashable)
Object = dict[str, Any]

_FLUSH_AT = 1 << 20  # bytes buffered before a write to the file
# A place is offset << 30 | length: one int per object, of two 30-bit digits (32 bytes) while
# the spool is under 1 GiB; with 32 bits for the length, a third digit made it 48 bytes.
_LENGTH_BITS = 30
_MAX_RECORD = (1 << _LENGTH_BITS) - 1  # bytes; objects are MiBs at most (the API's limit)


class SpoolFile:
    """Append-only records (objects, in marshal) in an anonymous file in ``folder`` (the system's
    temporary folder by default); a record's place is one int, kept by whoever appended it
    (an export keeps it in each object's facts). ``adopted``: a file another process of
    kbundle wrote (``write_spool``), taken over (unlinked at once, so it lives as long as
    this spool). Thread-safe."""

    def __init__(self, folder: Path | None = None, adopted: Path | None = None) -> None:
        if adopted is None:
            self._file = tempfile.TemporaryFile(prefix="kbundle-spool-", dir=folder)  # noqa: SIM115 (owned)
        else:
            self._file = adopted.open("r+b")
            adopted.unlink()
        self._fd = self._file.fileno()
        self._buffer = bytearray()
        self._size = os.fstat(self._fd).st_size  # bytes written to the file
        self._lock = threading.Lock()

    def append(self, obj: Object) -> int:
        return self.append_bytes(marshal.dumps(obj))

    def append_bytes(self, data: bytes) -> int:
        """A record in a serialization of the caller's own (``append`` is marshal's)."""
        _check_length(data)
        with self._lock:
            place = (self._size + len(self._buffer)) << _LENGTH_BITS | len(data)
            self._buffer += data
            if len(self._buffer) >= _FLUSH_AT:
                self._flush()
        return place

    def read(self, place: int) -> Object:
        obj: Object = marshal.loads(self.read_bytes(place))
        return obj

    def read_bytes(self, place: int) -> bytes:
        offset, length = place >> _LENGTH_BITS, place & _MAX_RECORD
        if offset + length > self._size:
            with self._lock:
                self._flush()
        return os.pread(self._fd, length, offset)

    def read_all(self, places: Sequence[int]) -> Iterator[Object]:
        """The objects at ``places`` in order (``read_places``)."""
        yield from read_places(self.fileno(), places)

    def fileno(self) -> int:
        """The file's descriptor, everything appended so far written to it: for
        ``read_places``, in this process or a worker that inherits it."""
        with self._lock:
            self._flush()
        return self._fd

    def _flush(self) -> None:
        if self._buffer:  # at an explicit offset: an adopted file is open at its start
            os.pwrite(self._fd, self._buffer, self._size)
            self._size += len(self._buffer)
            self._buffer = bytearray()

    def close(self) -> None:
        self._file.close()


def _record(obj: Object) -> bytes:
    data = marshal.dumps(obj)
    _check_length(data)
    return data


def _check_length(data: bytes) -> None:
    if len(data) > _MAX_RECORD:
        raise ValueError(f"a record of {len(data)} bytes is too large to spool")


def read_places(fd: int, places: Sequence[int]) -> Iterator[Object]:
    """The objects at ``places`` of the spool file open as ``fd``, in order, read in blocks
    of about a MiB rather than one request each (a spool written in order is read back
    sequentially). A worker process that inherited the descriptor reads it the same way."""
    block, start = memoryview(b""), 0  # block holds the file from offset start
    for place in places:
        offset, length = place >> _LENGTH_BITS, place & _MAX_RECORD
        if not (start <= offset and offset + length <= start + len(block)):
            block = memoryview(os.pread(fd, max(length, _FLUSH_AT), offset))
            start = offset
        yield marshal.loads(block[offset - start : offset - start + length])


class ObjectSpool(Positional[Object]):
    """A list of objects on disk, in the order appended. Each access reads a fresh copy;
    each object's apiVersion and ref stay in memory (``heads``, about 40 bytes an object
    with its place), so a pass that needs only those (namespaces, kinds, names) reads
    nothing from disk; so do the refs their ownerReferences may name (``owners``).

    The objects may lie in several files (``joined``): spools written by verification's
    worker processes become an import's levels without being read and written again."""

    def __init__(self, objects: Iterable[Object] = ()) -> None:
        self._files = [SpoolFile()]
        self._starts = [0]  # the position of each file's first object
        self._places = array("q")
        self._heads = HeadTable()
        self._owners: set[ObjectRef] = set()
        for obj in objects:
            self.append(obj)

    @classmethod
    def adopt(cls, written: WrittenSpool) -> ObjectSpool:
        """The spool another process wrote with ``SpoolWriter``; its file becomes ours."""
        spool = cls.__new__(cls)
        spool._files = [SpoolFile(adopted=written.path)]
        spool._starts = [0]
        spool._places = written.places
        spool._heads = written.heads
        spool._owners = set(written.owners)
        return spool

    @classmethod
    def joined(cls, spools: Sequence[ObjectSpool]) -> ObjectSpool:
        """One spool of ``spools``' objects, in order, whose files it takes over (they are
        closed with it): nothing is read or written again, only places and heads copied."""
        if len(spools) <= 1:
            return spools[0] if spools else cls()
        spool = cls.__new__(cls)
        spool._files, spool._starts = [], []
        spool._places, spool._heads, spool._owners = array("q"), HeadTable(), set()
        for part in spools:
            for file, start in zip(part._files, part._starts, strict=True):
                spool._files.append(file)
                spool._starts.append(len(spool._places) + start)
            spool._places.extend(part._places)
            spool._heads.extend(part._heads)
            spool._owners |= part._owners
        return spool

    def append(self, obj: Object) -> None:
        self._places.append(self._files[-1].append(obj))
        self._heads.append(_head(obj))
        self._owners.update(owner_candidates(obj))

    def heads(self) -> HeadTable:
        return self._heads

    def owners(self) -> frozenset[ObjectRef]:
        """Every ref the objects' ownerReferences may point at (``owner_candidates``)."""
        return frozenset(self._owners)

    def __len__(self) -> int:
        return len(self._places)

    def _at(self, position: int) -> Object:
        segment = bisect.bisect_right(self._starts, position) - 1
        return self._files[segment].read(self._places[position])

    def __iter__(self) -> Iterator[Object]:
        ends = [*self._starts[1:], len(self._places)]
        for file, start, end in zip(self._files, self._starts, ends, strict=True):
            yield from file.read_all(self._places[start:end])

    def close(self) -> None:
        for file in self._files:
            file.close()


@dataclass(frozen=True)
class WrittenSpool:
    """What a ``SpoolWriter`` in another process hands back: small enough to pickle."""

    path: Path
    places: array[int]
    heads: HeadTable
    owners: frozenset[ObjectRef]


class SpoolWriter:
    """Objects appended to a named file, for a worker process whose parent adopts the
    spool (``ObjectSpool.adopt``): each object crosses the process boundary once, on disk."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file = path.open("wb")  # afresh: a worker that died may have begun it
        self._size = 0
        self._places = array("q")
        self._heads = HeadTable()
        self._owners: set[ObjectRef] = set()

    def append(self, obj: Object) -> None:
        data = _record(obj)
        self._places.append(self._size << _LENGTH_BITS | len(data))
        self._file.write(data)
        self._size += len(data)
        self._heads.append(_head(obj))
        self._owners.update(owner_candidates(obj))

    def close(self) -> WrittenSpool:
        self._file.close()
        return WrittenSpool(self._path, self._places, self._heads, frozenset(self._owners))


def _head(obj: Object) -> Head:
    return str(obj.get("apiVersion", "")), ObjectRef.of(obj)


def heads_of(objects: Sequence[Object]) -> HeadTable:
    """Each object's apiVersion and ref: from memory for a spool, else from the objects."""
    if isinstance(objects, ObjectSpool):
        return objects.heads()
    return HeadTable(_head(obj) for obj in objects)


class SpooledMapping(Generic[K]):
    """Objects by key on disk; thread-safe for concurrent puts and gets. ``folder``: where the
    anonymous file lives (the system's temporary folder by default)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._file = SpoolFile(folder)
        self._places: dict[K, int] = {}

    def __setitem__(self, key: K, obj: Object) -> None:
        self._places[key] = self._file.append(obj)

    def place_of(self, obj: Object) -> int:
        """Write ``obj`` without a key yet: for a batch that counts only once complete."""
        return self._file.append(obj)

    def adopt(self, places: dict[K, int]) -> None:
        """Give keys to objects written with ``place_of``."""
        self._places.update(places)

    def __getitem__(self, key: K) -> Object:
        return self._file.read(self._places[key])

    def get(self, key: K) -> Object | None:
        place = self._places.get(key)
        return None if place is None else self._file.read(place)

    def __contains__(self, key: object) -> bool:
        return key in self._places

    def __len__(self) -> int:
        return len(self._places)

    def keys(self) -> Iterable[K]:
        return self._places.keys()

    def close(self) -> None:
        self._file.close()
