"""What an export writes, file by file, without the facts of the objects it writes.

A plan (``plan_export``, or one namespace at a time) decides; the layout keeps of it what
writing needs: for each object file, the spool places of its objects in file order (by
namespace, then name), the kinds they name (the file's level) and the UIDs of the exported
owners they name (cleaning keeps those ownerReferences). That is 8 bytes per object rather
than its facts, so the plan of one namespace can go before the next one's is made.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kbundle.core.model import ManifestWarning, ObjectRef, group_kind
from kbundle.select.compact import Uid, uid_text
from kbundle.select.facts import ObjectFacts
from kbundle.select.plan import ExportPlan
from kbundle.select.rules import GENERATED_TOKEN


@dataclass
class FileLayout:
    """One object file: the objects read from one resource."""

    key: str  # the snapshot's resource key
    places: array[int] = field(default_factory=lambda: array("q"))  # in file order
    referenced: set[str] = field(default_factory=set)  # group kinds its objects name
    owners: set[str] = field(default_factory=set)  # UIDs of exported owners they name


@dataclass
class ExportLayout:
    files: dict[str, FileLayout] = field(default_factory=dict)  # by resource key
    cluster_scoped: dict[ObjectRef, str] = field(default_factory=dict)  # exported: why
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, reason)
    generated_token_secrets: set[tuple[str, str]] = field(default_factory=set)
    warnings: list[ManifestWarning] = field(default_factory=list)

    @property
    def objects(self) -> int:
        return sum(len(file.places) for file in self.files.values())

    @property
    def skipped_objects(self) -> int:
        return sum(self.skipped.values())

    @property
    def persistent_volumes(self) -> frozenset[str]:
        return frozenset(
            r.name for r in self.cluster_scoped if (r.group, r.kind) == ("", "PersistentVolume")
        )

    def add(self, fact: ObjectFacts, key: str, exports_uid: Callable[[Uid], bool]) -> None:
        """An exported object, after those before it in its file."""
        file = self.files.get(key)
        if file is None:
            file = self.files[key] = FileLayout(key)
        file.places.append(fact.place)
        file.referenced |= {ref.group_kind for ref in fact.references}
        for owner in fact.owners:
            file.referenced.add(group_kind(owner.kind, owner.group))
            if exports_uid(owner.uid):
                file.owners.add(uid_text(owner.uid))

    def skip(self, fact: ObjectFacts, reason: str) -> None:
        self.skipped[(fact.ref.group_kind, reason)] += 1
        if reason == GENERATED_TOKEN:
            self.generated_token_secrets.add((fact.ref.namespace, fact.ref.name))


def layout_of(plan: ExportPlan, key_of: Callable[[ObjectFacts], str]) -> ExportLayout:
    """The layout of a plan made over every object at once (``plan_export``)."""
    layout = ExportLayout(warnings=list(plan.warnings))
    for ref in sorted(plan.exported, key=lambda r: (r.namespace, r.name)):
        fact = plan.exported[ref]
        layout.add(fact, key_of(fact), plan.exports_uid)
        if not ref.namespace:
            layout.cluster_scoped[ref] = plan.reasons[ref]
    for fact, reason in plan.skipped:
        layout.skip(fact, reason)
    return layout
