"""The spool file: objects come back as appended, by place, singly or in blocks; a place
stays a small int; a record the place cannot describe is refused, never cut short. Object
spools: the owners their objects name, and several spools read as one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kbundle.core import spool
from kbundle.core.model import ObjectRef
from kbundle.core.spool import ObjectSpool, SpoolFile, SpoolWriter, read_places


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


def _owned(name: str, owner: str) -> dict[str, object]:
    reference = {"apiVersion": "apps/v1", "kind": "Deployment", "name": owner, "uid": "u"}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "a", "ownerReferences": [reference]},
    }


def test_a_spool_notes_the_owners_its_objects_name_as_they_are_appended() -> None:
    spooled = ObjectSpool([*_objects(3), _owned("x", "web")])
    assert spooled.owners() == {
        ObjectRef("apps", "Deployment", "a", "web"),
        ObjectRef("apps", "Deployment", "", "web"),
    }


def test_joined_spools_read_as_one_in_order_by_position_pass_and_heads(tmp_path: Path) -> None:
    objects = [*_objects(2500), _owned("x", "web"), *_objects(7)]  # the first over a flush
    first, second = ObjectSpool(objects[:2500]), ObjectSpool(objects[2500:2501])
    writer = SpoolWriter(tmp_path / "by-a-worker")
    for obj in objects[2501:]:
        writer.append(obj)
    third = ObjectSpool.adopt(writer.close())
    joined = ObjectSpool.joined([first, second, third])
    assert len(joined) == len(objects)
    assert list(joined) == objects
    assert [joined[n] for n in (0, 2499, 2500, 2501, -1)] == [
        objects[n] for n in (0, 2499, 2500, 2501, -1)
    ]
    assert list(joined.heads()) == [(o.get("apiVersion", ""), ObjectRef.of(o)) for o in objects]
    assert joined.owners() == second.owners() != frozenset()
    assert ObjectSpool.joined([first]) is first


def test_an_object_appended_to_an_adopted_spool_is_written_after_what_it_holds(
    tmp_path: Path,
) -> None:
    """An adopted file is open at its start: an append there overwrote its first objects."""
    writer = SpoolWriter(tmp_path / "by-a-worker")
    objects = _objects(5)
    for obj in objects[:4]:
        writer.append(obj)
    adopted = ObjectSpool.adopt(writer.close())
    adopted.append(objects[4])
    assert list(adopted) == objects
    assert adopted[0] == objects[0]
