"""The destination's copies of a bundle's objects, kept by position in the bundle: each ref
of the bundle has its copy or none, a ref outside it has none, a list's copies count once
it is whole, and an object costs a few bytes whether it is live or not."""

from __future__ import annotations

import tracemalloc

import pytest

from kbundle.apply.live_copies import BundleCopies
from kbundle.core.heads import RefIndex
from kbundle.core.model import ObjectRef


def _copies(count: int) -> tuple[list[ObjectRef], BundleCopies]:
    refs = [ObjectRef("", "ConfigMap", "shop", f"config-{n}") for n in range(count)]
    return refs, BundleCopies(RefIndex(refs, refs.__getitem__))


def _live(ref: ObjectRef, version: str = "1") -> dict[str, object]:
    return {"kind": ref.kind, "metadata": {"name": ref.name, "resourceVersion": version}}


def test_each_ref_of_the_bundle_has_its_copy_or_none() -> None:
    refs, copies = _copies(50)
    copies[refs[7]] = _live(refs[7])
    assert refs[7] in copies and copies[refs[7]] == _live(refs[7])
    assert refs[8] not in copies and copies.get(refs[8]) is None
    assert copies.holds(7) and copies.at(7) == _live(refs[7])
    assert not copies.holds(8) and copies.at(8) is None
    with pytest.raises(KeyError):
        copies[refs[8]]
    copies[refs[7]] = _live(refs[7], "2")  # read again: the later copy counts
    assert copies.get(refs[7]) == _live(refs[7], "2")
    assert len(copies) == 1


def test_a_ref_outside_the_bundle_has_no_copy_and_cannot_get_one() -> None:
    _, copies = _copies(5)
    stranger = ObjectRef("", "Secret", "shop", "config-1")
    assert stranger not in copies and copies.get(stranger) is None
    assert copies.position(stranger) is None
    with pytest.raises(KeyError, match="not in the bundle"):
        copies[stranger] = _live(stranger)


def test_a_lists_copies_count_once_adopted_by_position() -> None:
    refs, copies = _copies(20)
    places = {copies.position(ref): copies.place_of(_live(ref)) for ref in refs[5:9]}
    assert refs[5] not in copies  # written, not yet given to its object
    copies.adopt({position: place for position, place in places.items() if position is not None})
    assert [ref in copies for ref in refs[4:10]] == [False, True, True, True, True, False]
    assert copies.get(refs[6]) == _live(refs[6])


def test_held_lists_the_positions_with_a_copy_in_order() -> None:
    refs, copies = _copies(30)
    assert list(copies.held()) == []
    for position in (21, 4, 9):
        copies[refs[position]] = _live(refs[position])
    assert list(copies.held()) == [4, 9, 21]


def test_settled_copies_are_those_marked() -> None:
    refs, copies = _copies(10)
    copies.settle(3)
    settled = copies.settled()
    assert refs[3] in settled
    assert refs[4] not in settled
    assert ObjectRef("", "Secret", "shop", "config-3") not in settled


def test_an_object_costs_a_few_bytes_live_or_not() -> None:
    """A mapping by ref cost about 220 bytes for each live copy."""
    refs = [ObjectRef("", "ConfigMap", "shop", f"config-{n}") for n in range(20000)]
    index = RefIndex(refs, refs.__getitem__)
    tracemalloc.start()
    try:
        copies = BundleCopies(index)
        for n in range(0, 20000, 1000):  # as lists adopt them (no copy written: no bytes)
            copies.adopt({p: (p + 1) << 30 | 100 for p in range(n, n + 1000)})
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(copies) == 20000
    assert size / len(refs) < 12
