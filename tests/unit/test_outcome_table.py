"""An import's outcomes kept as columns: each comes back as recorded; a failure found
later replaces that object's outcome only; counts, a report's order and a report's totals
are what a plain list of outcomes gives."""

from __future__ import annotations

import random

import pytest

from kbundle.apply.outcome import ACTIONS, Action, ImportReport, Outcome, OutcomeTable
from kbundle.core.model import ObjectRef


def _outcomes(count: int, seed: int = 5) -> list[Outcome]:
    rng = random.Random(seed)
    outcomes = []
    for n in range(count):
        kind, api_version, group = rng.choice(
            [("ConfigMap", "v1", ""), ("Deployment", "apps/v1", "apps")]
        )
        ref = ObjectRef(group, kind, rng.choice(["a", "b"]), rng.choice(["x", "y", f"o{n}"]))
        action = rng.choice(ACTIONS)
        message = rng.choice(["", "", f"forbidden: {n}", "exists; --existing=skip"])
        outcomes.append(Outcome(rng.choice([1, 6, 9]), ref, api_version, action, message))
    return outcomes


def test_outcomes_come_back_as_recorded() -> None:
    outcomes = _outcomes(400)
    table = OutcomeTable(outcomes)
    assert list(table) == outcomes
    assert [table[i] for i in range(len(table))] == outcomes
    assert table[-3] == outcomes[-3]
    assert table[5:50:4] == outcomes[5:50:4]
    with pytest.raises(IndexError):
        table[400]


def test_a_failure_found_later_replaces_that_objects_outcome_only() -> None:
    ref = ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", "gadgets.example.com")
    other = ObjectRef("", "Namespace", "", "shop")
    table = OutcomeTable(
        [
            Outcome(2, ref, "apiextensions.k8s.io/v1", Action.CREATE),
            Outcome(3, other, "v1", Action.UPDATE),
        ]
    )
    table.fail(ref, "not Established within 60s")
    assert list(table) == [
        Outcome(2, ref, "apiextensions.k8s.io/v1", Action.FAIL, "not Established within 60s"),
        Outcome(3, other, "v1", Action.UPDATE),
    ]
    assert table.failed_at(2) == {ref}
    assert table.failed_at(3) == set()


def test_sorted_is_a_reports_order_ties_kept_as_recorded() -> None:
    outcomes = _outcomes(1500)
    expected = sorted(outcomes, key=lambda o: (o.level, o.ref))
    table = OutcomeTable(outcomes).sorted()
    assert list(table) == expected
    later = Outcome(9, ObjectRef("", "ConfigMap", "c", "z"), "v1", Action.CREATE)
    table.append(later)  # a sorted table takes more, as any other
    assert list(table) == [*expected, later]


def test_a_reports_totals_and_levels_from_a_table_match_those_from_a_list() -> None:
    outcomes = _outcomes(900)
    names = {1: "namespaces", 6: "configuration", 9: "workloads"}
    from_list = ImportReport(tuple(outcomes), (), names)
    from_table = ImportReport(OutcomeTable(outcomes), (), names)
    assert from_table.totals() == from_list.totals()
    assert from_table.totals()[Action.FAIL] == sum(o.action is Action.FAIL for o in outcomes) > 0
    assert from_table.by_level() == from_list.by_level()
    assert from_table.failed == from_list.failed
    assert not from_table.ok
