"""What happened to each object of an import, and the per-level summary users read.

One record per object; the JSON report (``--report``) is exactly these records. Messages
come from the apiserver or from kbundle and never carry Secret data.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from kbundle.apply.options import DryRunMode
from kbundle.core.model import ObjectRef, Rewrite


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


@dataclass(frozen=True)
class LevelSummary:
    number: int
    name: str
    counts: dict[Action, int]


@dataclass(frozen=True)
class ImportReport:
    """Every object's outcome, in level order, plus the rewrites transforms made."""

    outcomes: tuple[Outcome, ...]
    rewrites: tuple[Rewrite, ...]
    level_names: dict[int, str]
    dry_run: DryRunMode = DryRunMode.NONE
    aborted: str | None = None  # why the import stopped early, if it did

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action is Action.FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed and self.aborted is None

    def totals(self) -> dict[Action, int]:
        counts = Counter(o.action for o in self.outcomes)
        return {action: counts.get(action, 0) for action in ACTIONS}

    def by_level(self) -> list[LevelSummary]:
        summaries = []
        for number in sorted({o.level for o in self.outcomes}):
            counts = Counter(o.action for o in self.outcomes if o.level == number)
            summaries.append(
                LevelSummary(
                    number,
                    self.level_names.get(number, str(number)),
                    {a: counts.get(a, 0) for a in ACTIONS},
                )
            )
        return summaries

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


def sorted_outcomes(outcomes: Iterable[Outcome]) -> tuple[Outcome, ...]:
    return tuple(sorted(outcomes, key=lambda o: (o.level, o.ref)))
