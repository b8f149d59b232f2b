"""Objects' heads (apiVersion and ref) for a whole bundle, in a few arrays.

Verify and import keep each object's head for the whole run, so that passes over a level
(namespaces, kinds, names) read nothing from disk. As a tuple of a string and a ref, with the
name a string of its own, a head cost about 200 bytes: 10 MiB at 50,000 objects, 60 at
300,000. Here it costs its name's bytes and 12 more: the strings a head shares with others
(apiVersion, group, kind, namespace) are kept once, the names back to back. A head is built
again on each access, in well under a microsecond.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence

from kbundle.core.model import ObjectRef
from kbundle.core.positional import Positional

Head = tuple[str, ObjectRef]  # an object's apiVersion and identity
_Shared = tuple[str, str, str, str]  # apiVersion, group, kind, namespace


class HeadTable(Positional[Head]):
    """Heads in the order appended. Picklable, and small to pickle: a worker process hands
    its table back whole."""

    def __init__(self, heads: Iterable[Head] = ()) -> None:
        self._shared: list[_Shared] = []
        self._shared_ids: dict[_Shared, int] = {}
        self._shared_of = array("I")  # per head: its index in _shared
        self._names = bytearray()  # every name in UTF-8, back to back
        self._ends = array("Q")  # per head: where its name ends in _names
        for head in heads:
            self.append(head)

    def append(self, head: Head) -> None:
        api_version, ref = head
        shared = (api_version, ref.group, ref.kind, ref.namespace)
        number = self._shared_ids.get(shared)
        if number is None:
            number = self._shared_ids[shared] = len(self._shared)
            self._shared.append(shared)
        self._shared_of.append(number)
        self._names += ref.name.encode()
        self._ends.append(len(self._names))

    def extend(self, other: HeadTable) -> None:
        """``other``'s heads appended, without making one: only its shared strings are
        looked up, the rest copied as arrays."""
        numbers = []
        for shared in other._shared:
            number = self._shared_ids.get(shared)
            if number is None:
                number = self._shared_ids[shared] = len(self._shared)
                self._shared.append(shared)
            numbers.append(number)
        self._shared_of.extend(map(numbers.__getitem__, other._shared_of))
        base = len(self._names)
        self._names += other._names
        self._ends.extend(end + base for end in other._ends)

    def __len__(self) -> int:
        return len(self._ends)

    def __iter__(self) -> Iterator[Head]:
        for (api_version, group, kind, namespace), name in self._rows():
            yield api_version, ObjectRef(group, kind, namespace, name)

    def namespaced_names(self) -> Iterator[tuple[str, str]]:
        """Each head's namespace and name, in order, without its ref: what tells two
        objects of one kind apart."""
        for shared, name in self._rows():
            yield shared[3], name

    def _rows(self) -> Iterator[tuple[_Shared, str]]:
        """Each head's shared strings and name, in order."""
        shared, names, start = self._shared, self._names, 0
        for number, end in zip(self._shared_of, self._ends, strict=True):
            yield shared[number], names[start:end].decode()
            start = end

    def order(self, leading: Sequence[int]) -> array[int]:
        """Positions sorted by ``(leading[position], ref)``, stable. Heads are grouped by
        what they share first and each group sorted by name: the names of one group only
        are strings at once."""
        groups: dict[tuple[int, str, str, str], array[int]] = {}
        for position, (lead, number) in enumerate(zip(leading, self._shared_of, strict=True)):
            _, group, kind, namespace = self._shared[number]
            groups.setdefault((lead, group, kind, namespace), array("Q")).append(position)
        order = array("Q")
        for key in sorted(groups):
            order.extend(sorted(groups.pop(key), key=self.name))
        return order

    def permuted(self, order: Sequence[int]) -> HeadTable:
        """A table of the heads at ``order``'s positions, in that order, made from the
        columns: no head is built (a report's 50,000 outcomes are sorted this way)."""
        table = HeadTable()
        table._shared, table._shared_ids = list(self._shared), dict(self._shared_ids)
        table._shared_of = array("I", map(self._shared_of.__getitem__, order))
        names, ends, pieces, end = self._names, self._ends, [], 0
        for position in order:
            start = ends[position - 1] if position else 0
            pieces.append(names[start : ends[position]])
            end += ends[position] - start
            table._ends.append(end)
        table._names = bytearray().join(pieces)
        return table

    def shared(self) -> list[_Shared]:
        """The distinct (apiVersion, group, kind, namespace) of the heads, first seen first:
        what a pass about kinds or namespaces needs, without a head per object."""
        return list(self._shared)

    def where(self, keep: Callable[[str, str, str, str], bool]) -> Iterator[int]:
        """Positions of the heads whose apiVersion, group, kind and namespace ``keep`` takes.
        ``keep`` is asked once for each distinct four, and no head is made: a pass about a
        few kinds skips the rest of a bundle for the cost of a lookup each."""
        numbers = {number for number, shared in enumerate(self._shared) if keep(*shared)}
        if len(numbers) == len(self._shared):
            yield from range(len(self))
        elif numbers:
            for position, number in enumerate(self._shared_of):
                if number in numbers:
                    yield position

    def name(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._names[start : self._ends[index]].decode()

    def _at(self, position: int) -> Head:
        api_version, group, kind, namespace = self._shared[self._shared_of[position]]
        return api_version, ObjectRef(group, kind, namespace, self.name(position))


class RefIndex:
    """Whether a ref is one of a bundle's, and where, at 16 bytes a ref where a set of them
    costs about 200 (each ref, its name and the set's slot): the refs' hashes, sorted, each
    with its position, where ``ref_at`` confirms a match (two refs may share a hash). Tables
    by position (``array``) then stand for dicts and sets keyed by ref."""

    def __init__(self, refs: Iterable[ObjectRef], ref_at: Callable[[int], ObjectRef]) -> None:
        hashes = array("q", map(hash, refs))
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        self._hashes = array("q", (hashes[position] for position in order))
        self._positions = array("Q", order)
        self._ref_at = ref_at

    def __contains__(self, ref: object) -> bool:
        return self.position(ref) is not None

    def position(self, ref: object) -> int | None:
        """Where ``ref`` is among the refs indexed (the first place, if twice); None: not
        among them."""
        wanted = hash(ref)
        at = bisect.bisect_left(self._hashes, wanted)
        while at < len(self._hashes) and self._hashes[at] == wanted:
            position = self._positions[at]
            if self._ref_at(position) == ref:
                return position
            at += 1
        return None

    def __len__(self) -> int:
        return len(self._hashes)
