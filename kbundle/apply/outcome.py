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
from typing import Any

from kbundle.apply.options import DryRunMode
from kbundle.core.model import ObjectRef, Rewrite


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    FAIL = "fail"


ACTIONS = tuple(Action)


@dataclass(frozen=True)
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "dryRun": None if self.dry_run is DryRunMode.NONE else str(self.dry_run),
            "aborted": self.aborted,
            "totals": {str(a): n for a, n in self.totals().items()},
            "objects": [o.to_dict() for o in self.outcomes],
            "rewrites": [
                {
                    "transform": r.transform,
                    "kind": r.ref.kind,
                    "namespace": r.ref.namespace or None,
                    "name": r.ref.name,
                    "path": r.path,
                    "before": r.before,
                    "after": r.after,
                }
                for r in self.rewrites
            ],
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


def sorted_outcomes(outcomes: Iterable[Outcome]) -> tuple[Outcome, ...]:
    return tuple(sorted(outcomes, key=lambda o: (o.level, o.ref)))
