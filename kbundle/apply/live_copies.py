"""The destination's copies of a bundle's objects, kept for a whole import.

The preflight reads the live copy of each object of the bundle that the destination has, and
the import that follows takes it as the destination's state (``LiveView``). A re-import finds
every object live. Kept by ref, each copy cost its ref, its name, its place and a dict slot,
and with the flags the preflight keeps per object about 660 bytes: 33 MiB at 50,000 objects.
Here an object is its position in the bundle (``RefIndex``), and costs 9 bytes, live or not.
"""

from __future__ import annotations

from array import array
from collections.abc import Container, Iterator
from pathlib import Path

from kbundle.core.heads import RefIndex
from kbundle.core.model import Object, ObjectRef
from kbundle.core.spool import SpoolFile


class BundleCopies:
    """Live copies by the bundle's refs, on disk (``SpoolFile``); a ref the bundle does not
    hold has none. Thread-safe for concurrent lists (``place_of``, ``adopt``) and reads."""

    def __init__(self, index: RefIndex, folder: Path | None = None) -> None:
        self._index = index
        self._file = SpoolFile(folder)
        self._places = array("q", bytes(8 * len(index)))  # 0: no copy (no place is 0)
        self._settled = bytearray(len(index))

    def position(self, ref: ObjectRef) -> int | None:
        """Where the bundle holds ``ref`` (None: it does not): the key of ``adopt``."""
        return self._index.position(ref)

    def __contains__(self, ref: object) -> bool:
        position = self._index.position(ref)
        return position is not None and self.holds(position)

    def get(self, ref: ObjectRef) -> Object | None:
        position = self._index.position(ref)
        return None if position is None else self.at(position)

    def holds(self, position: int) -> bool:
        """Whether the object at ``position`` has a copy (read nothing)."""
        return self._places[position] != 0

    def held(self) -> Iterator[int]:
        """The positions that have a copy, in order (reads nothing): none, at once, for a
        destination that has none of the bundle."""
        if len(self):
            yield from (position for position, place in enumerate(self._places) if place)

    def at(self, position: int) -> Object | None:
        """The copy of the object at ``position``, if it has one."""
        place = self._places[position]
        return self._file.read(place) if place else None

    def __getitem__(self, ref: ObjectRef) -> Object:
        found = self.get(ref)
        if found is None:
            raise KeyError(ref)
        return found

    def __setitem__(self, ref: ObjectRef, obj: Object) -> None:
        position = self._index.position(ref)
        if position is None:
            raise KeyError(f"{ref} is not in the bundle")
        self._places[position] = self._file.append(obj)

    def place_of(self, obj: Object) -> int:
        """Write ``obj`` for no object yet: for a list that counts only once complete."""
        return self._file.append(obj)

    def adopt(self, places: dict[int, int]) -> None:
        """Give the copies written with ``place_of`` to their objects, by position."""
        for position, place in places.items():
            self._places[position] = place

    def settle(self, position: int) -> None:
        """The copy at ``position`` is as the bundle wants it (``LiveView.settled``)."""
        self._settled[position] = 1

    def settled(self) -> Container[ObjectRef]:
        return _Settled(self._index, self._settled)

    def __len__(self) -> int:
        return len(self._places) - self._places.count(0)

    def close(self) -> None:
        self._file.close()


class _Settled(Container[ObjectRef]):
    def __init__(self, index: RefIndex, flags: bytearray) -> None:
        self._index = index
        self._flags = flags

    def __contains__(self, ref: object) -> bool:
        position = self._index.position(ref)
        return position is not None and self._flags[position] == 1
