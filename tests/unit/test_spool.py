"""The spool file: objects come back as appended, by place, singly or in blocks; a place
stays a small int; a record the place cannot describe is refused, never cut short."""

from __future__ import annotations

import sys

import pytest

from kbundle.core import spool
from kbundle.core.spool import SpoolFile, read_places


def _objects(count: int) -> list[dict[str, object]]:
    return [
        {"kind": "ConfigMap", "metadata": {"name": f"c{n}"}, "data": {"k": "v" * n}}
        for n in range(count)
    ]


def test_objects_come_back_by_place_across_flushes() -> None:
    stored = SpoolFile()
    objects = _objects(3000)  # several MiB: the buffer is written out more than once
    places = [stored.append(obj) for obj in objects]
    assert stored.read(places[1234]) == objects[1234]
    assert list(read_places(stored.fileno(), places)) == objects
    assert list(stored.read_all(places[::-7])) == objects[::-7]


def test_a_place_is_a_two_digit_int_while_the_spool_is_under_a_gibibyte() -> None:
    """Two 30-bit digits, 32 bytes: an export keeps one per listed object."""
    stored = SpoolFile()
    places = [stored.append(obj) for obj in _objects(100)]
    assert stored.read(places[-1]) == _objects(100)[-1]
    far = ((1 << 30) - (1 << 20)) << spool._LENGTH_BITS | spool._MAX_RECORD  # near 1 GiB
    assert sys.getsizeof(far) == sys.getsizeof(1 << 59) < sys.getsizeof(1 << 60)


def test_a_record_longer_than_a_place_can_say_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool, "_MAX_RECORD", 100)
    with pytest.raises(ValueError, match="too large to spool"):
        SpoolFile().append({"data": "x" * 200})
