"""What happened to each object of an import, and the per-level summary users read.

One record per object; the JSON report (``--report``) is exactly these records. Messages
come from the apiserver or from kbundle and never carry Secret data. An import keeps them
in an ``OutcomeTable``: a few arrays, about 40 bytes an object rather than 200 as objects.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from kbundle.apply.options import DryRunMode
from kbundle.core.heads import HeadTable
from kbundle.core.model import ObjectRef, Rewrite
from kbundle.core.positional import Positional


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    FAIL = "fail"


ACTIONS = tuple(Action)


@dataclass(frozen=True, slots=True)
class Outcome:
    level: int
    ref: ObjectRef
    api_version: str
    action: Action
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "apiVersion": self.api_version,
            "kind": self.ref.kind,
            "namespace": self.ref.namespace or None,
            "name": self.ref.name,
            "action": str(self.action),
            "message": self.message or None,
        }


class OutcomeTable(Positional[Outcome]):
    """Outcomes in the order added, kept as columns (``HeadTable`` for apiVersions and refs);
    each access builds the ``Outcome`` again."""

    def __init__(self, outcomes: Iterable[Outcome] = ()) -> None:
        self._levels = array("i")
        self._actions = array("B")  # index in ACTIONS
        self._heads = HeadTable()
        self._messages: dict[int, str] = {}  # by position; most outcomes have none
        self.extend(outcomes)

    def append(self, outcome: Outcome) -> None:
        if outcome.message:
            self._messages[len(self._levels)] = outcome.message
        self._levels.append(outcome.level)
        self._actions.append(_ACTION_NUMBER[outcome.action])
        self._heads.append((outcome.api_version, outcome.ref))

    def extend(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self.append(outcome)

    def fail(self, ref: ObjectRef, message: str) -> None:
        """Turn ``ref``'s outcomes into failures found after it was applied."""
        for position, (_, other) in enumerate(self._heads):
            if other == ref:
                self._actions[position] = _ACTION_NUMBER[Action.FAIL]
                self._messages[position] = message

    def failed_at(self, level: int) -> set[ObjectRef]:
        failed = _ACTION_NUMBER[Action.FAIL]
        return {
            self._heads[position][1]
            for position, (number, action) in enumerate(
                zip(self._levels, self._actions, strict=True)
            )
            if action == failed and number == level
        }

    def failures(self) -> list[Outcome]:
        """The failed outcomes, in order; only theirs are built (a report of 50,000 objects
        asked for them by building every outcome, twice)."""
        failed = _ACTION_NUMBER[Action.FAIL]
        return [self._at(p) for p, action in enumerate(self._actions) if action == failed]

    def counts(self) -> Counter[tuple[int, Action]]:
        """How many outcomes of each action each level had."""
        return Counter(
            (level, ACTIONS[action])
            for level, action in zip(self._levels, self._actions, strict=True)
        )

    def sorted(self) -> OutcomeTable:
        """By level, then ref (a report's order); equal ones in the order added."""
        order = self._heads.order(self._levels)
        table = OutcomeTable()
        table._levels = array("i", map(self._levels.__getitem__, order))
        table._actions = array("B", map(self._actions.__getitem__, order))
        table._heads = self._heads.permuted(order)
        messages = self._messages
        if messages:
            table._messages = {
                new: messages[old] for new, old in enumerate(order) if old in messages
            }
        return table

    def __len__(self) -> int:
        return len(self._levels)

    def __iter__(self) -> Iterator[Outcome]:
        columns = zip(self._heads, self._levels, self._actions, strict=True)
        for position, ((api_version, ref), level, action) in enumerate(columns):
            message = self._messages.get(position, "")
            yield Outcome(level, ref, api_version, ACTIONS[action], message)

    def _at(self, position: int) -> Outcome:
        api_version, ref = self._heads[position]
        action = ACTIONS[self._actions[position]]
        message = self._messages.get(position, "")
        return Outcome(self._levels[position], ref, api_version, action, message)


_ACTION_NUMBER = {action: number for number, action in enumerate(ACTIONS)}


@dataclass(frozen=True)
class LevelSummary:
    number: int
    name: str
    counts: dict[Action, int]


@dataclass(frozen=True)
class ImportReport:
    """Every object's outcome, in level order, plus the rewrites transforms made."""

    outcomes: Sequence[Outcome]  # an import's: an OutcomeTable
    rewrites: tuple[Rewrite, ...]
    level_names: dict[int, str]
    dry_run: DryRunMode = DryRunMode.NONE
    aborted: str | None = None  # why the import stopped early, if it did

    @property
    def failed(self) -> list[Outcome]:
        if isinstance(self.outcomes, OutcomeTable):
            return self.outcomes.failures()
        return [o for o in self.outcomes if o.action is Action.FAIL]

    @property
    def ok(self) -> bool:
        return not self.totals()[Action.FAIL] and self.aborted is None

    def totals(self) -> dict[Action, int]:
        counts = Counter[Action]()
        for (_, action), count in self._counts().items():
            counts[action] += count
        return {action: counts.get(action, 0) for action in ACTIONS}

    def by_level(self) -> list[LevelSummary]:
        counts = self._counts()
        return [
            LevelSummary(
                number,
                self.level_names.get(number, str(number)),
                {a: counts.get((number, a), 0) for a in ACTIONS},
            )
            for number in sorted({level for level, _ in counts})
        ]

    def _counts(self) -> Counter[tuple[int, Action]]:
        if isinstance(self.outcomes, OutcomeTable):
            return self.outcomes.counts()
        return Counter((o.level, o.action) for o in self.outcomes)

    def summary(self) -> dict[str, Any]:
        return {
            "dryRun": None if self.dry_run is DryRunMode.NONE else str(self.dry_run),
            "aborted": self.aborted,
            "totals": {str(a): n for a, n in self.totals().items()},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "objects": [o.to_dict() for o in self.outcomes],
            "rewrites": [_rewrite_dict(r) for r in self.rewrites],
        }

    def write_json(self, path: Path) -> None:
        """The report as one JSON document (``to_dict``), or, for a path ending in
        ``.jsonl``, as JSON Lines: a ``summary`` line, then one ``object`` line per object and
        one ``rewrite`` line per rewrite, which a reader can take one line at a time. Either
        way written entry by entry: 300,000 outcomes never become one string."""
        with path.open("w", encoding="utf-8") as out:
            if path.suffix == ".jsonl":
                out.write(json.dumps({"type": "summary", **self.summary()}) + "\n")
                for outcome in self.outcomes:
                    out.write(json.dumps({"type": "object", **outcome.to_dict()}) + "\n")
                for rewrite in self.rewrites:
                    out.write(json.dumps({"type": "rewrite", **_rewrite_dict(rewrite)}) + "\n")
                return
            out.write(json.dumps(self.summary(), indent=2)[:-2] + ",\n")
            _write_array(out, "objects", (o.to_dict() for o in self.outcomes), last=False)
            _write_array(out, "rewrites", (_rewrite_dict(r) for r in self.rewrites), last=True)
            out.write("}\n")


def _write_array(out: IO[str], key: str, entries: Iterable[dict[str, Any]], *, last: bool) -> None:
    """``  "key": [ ... ]`` with one entry per line."""
    out.write(f'  "{key}": [')
    first = True
    for entry in entries:
        out.write(("\n    " if first else ",\n    ") + json.dumps(entry))
        first = False
    out.write(("" if first else "\n  ") + "]" + ("\n" if last else ",\n"))


def _rewrite_dict(rewrite: Rewrite) -> dict[str, Any]:
    return {
        "transform": rewrite.transform,
        "kind": rewrite.ref.kind,
        "namespace": rewrite.ref.namespace or None,
        "name": rewrite.ref.name,
        "path": rewrite.path,
        "before": rewrite.before,
        "after": rewrite.after,
    }


def sorted_outcomes(outcomes: Iterable[Outcome]) -> OutcomeTable:
    """``outcomes`` in a report's order: by level, then ref."""
    table = outcomes if isinstance(outcomes, OutcomeTable) else OutcomeTable(outcomes)
    return table.sorted()
