"""Heads kept as a table: every head comes back as appended, by position, slice or in a
pass; a table crosses a process boundary whole; it sorts as refs sort; and a head costs
its name's bytes plus a few, not three objects."""

from __future__ import annotations

import pickle
import random
import tracemalloc

import pytest

from kbundle.core.heads import Head, HeadTable, RefIndex
from kbundle.core.model import ObjectRef


def _heads(count: int, seed: int = 7) -> list[Head]:
    rng = random.Random(seed)
    kinds = [("v1", "", "ConfigMap"), ("apps/v1", "apps", "Deployment"), ("v1", "", "Namespace")]
    heads = []
    for n in range(count):
        api_version, group, kind = rng.choice(kinds)
        namespace = "" if kind == "Namespace" else rng.choice(["shop", "büro", "a"])
        name = rng.choice(["web", "wéb-ü", "x" * rng.randint(1, 60), f"n{n}"])
        heads.append((api_version, ObjectRef(group, kind, namespace, name)))
    return heads


def test_heads_come_back_as_appended_by_position_slice_and_pass() -> None:
    heads = _heads(500)
    table = HeadTable(heads)
    assert len(table) == 500
    assert list(table) == heads
    assert [table[i] for i in range(500)] == heads
    assert table[-1] == heads[-1]
    assert table[10:40:3] == heads[10:40:3]
    with pytest.raises(IndexError):
        table[500]


def test_a_table_extended_by_another_holds_both_in_order_sharing_strings_once() -> None:
    heads, more = _heads(400), _heads(300, seed=11)
    table = HeadTable(heads)
    table.extend(HeadTable(more))
    assert list(table) == heads + more
    assert table[400] == more[0] and table.name(699) == more[-1][1].name
    assert len(table.shared()) == len({(a, r.group, r.kind, r.namespace) for a, r in heads + more})


def test_a_permuted_table_holds_the_heads_at_the_positions_given_in_that_order() -> None:
    heads = _heads(600)
    order = list(range(600))
    random.Random(5).shuffle(order)
    permuted = HeadTable(heads).permuted(order[:450])
    assert list(permuted) == [heads[position] for position in order[:450]]
    assert permuted.name(449) == heads[order[449]][1].name


def test_an_empty_table_has_no_heads() -> None:
    assert list(HeadTable()) == []
    assert len(HeadTable()) == 0


def test_a_table_crosses_a_process_boundary_whole() -> None:
    heads = _heads(300)
    assert list(pickle.loads(pickle.dumps(HeadTable(heads)))) == heads


def test_order_sorts_positions_by_leading_key_then_ref_keeping_ties_in_order() -> None:
    heads = _heads(2000)
    rng = random.Random(3)
    leading = [rng.choice([1, 6, 9]) for _ in heads]
    expected = sorted(range(len(heads)), key=lambda i: (leading[i], heads[i][1]))
    assert list(HeadTable(heads).order(leading)) == expected


def test_a_head_costs_its_name_and_a_few_bytes_not_three_objects() -> None:
    """A tuple, a ref and a name string cost about 200 bytes a head; the table about 12
    more than the name (a few more while its arrays have room to grow)."""
    heads = [
        ("v1", ObjectRef("", "ConfigMap", "bench-01", f"config-{n:06d}")) for n in range(20000)
    ]
    tracemalloc.start()
    try:
        table = HeadTable(heads)
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    name_bytes = sum(len(ref.name) for _, ref in heads)
    assert len(table) == 20000
    assert (size - name_bytes) / len(heads) < 20


def test_a_ref_index_answers_as_a_set_of_the_refs_would() -> None:
    heads = _heads(3000)
    refs = [ref for _, ref in heads]
    index = RefIndex(refs, refs.__getitem__)
    others = [ref for _, ref in _heads(3000, seed=8)]
    assert all(ref in index for ref in refs)
    assert [ref in index for ref in others] == [ref in set(refs) for ref in others]
    assert any(ref not in index for ref in others)
    assert len(index) == 3000


def test_where_finds_the_positions_a_filter_on_shared_strings_takes_asking_once_each() -> None:
    heads = _heads(500)
    table = HeadTable(heads)
    asked: list[tuple[str, str, str, str]] = []

    def deployments_in_shop(api_version: str, group: str, kind: str, namespace: str) -> bool:
        asked.append((api_version, group, kind, namespace))
        return kind == "Deployment" and namespace == "shop"

    found = list(table.where(deployments_in_shop))
    expected = [
        n for n, (_, ref) in enumerate(heads) if (ref.kind, ref.namespace) == ("Deployment", "shop")
    ]
    assert found == expected and found
    assert sorted(asked) == sorted(set(asked)) and set(asked) == set(table.shared())
    assert list(table.where(lambda *_: True)) == list(range(500))
    assert list(table.where(lambda *_: False)) == []


def test_shared_lists_each_apiversion_group_kind_and_namespace_once_first_seen_first() -> None:
    heads = _heads(300)
    seen = [(v, ref.group, ref.kind, ref.namespace) for v, ref in heads]
    assert HeadTable(heads).shared() == list(dict.fromkeys(seen))
