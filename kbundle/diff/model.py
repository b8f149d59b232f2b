"""The results of a diff, with the JSON form scripts read (``-o json``).

Everything a renderer needs is here: the labels of both sides for the headers, each object's
status, its field changes, its unified diff and, for objects not compared or refused, the
message saying why. None of it ever holds a Secret value (``kbundle.diff.secrets``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kbundle.core.model import ObjectRef

__all__ = ["ChangeKind", "DiffReport", "DiffStatus", "FieldChange", "ObjectDiff", "ref_dict"]


class DiffStatus(StrEnum):
    """What import would do to one object, or how it differs between two bundles."""

    CREATE = "create"  # only on the after side
    CHANGE = "change"  # on both sides, with differences
    UNCHANGED = "unchanged"
    REMOVE = "remove"  # only on the before side
    CONFLICT = "conflict"  # another field manager owns a field the bundle sets
    FAIL = "fail"  # the server would refuse it (the message is its answer)
    NOT_COMPARED = "not-compared"  # e.g. an encrypted Secret without the passphrase


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class FieldChange:
    """One leaf that differs, at a path in kbundle's notation (``data["nginx.conf"]``);
    values are compact one-line JSON, cut short; None on the side where it is absent."""

    path: str
    change: ChangeKind
    before: str | None
    after: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": str(self.change),
            "before": self.before,
            "after": self.after,
        }


def ref_dict(ref: ObjectRef) -> dict[str, str]:
    """An object's identity as JSON (the version is given separately, where known)."""
    return {"group": ref.group, "kind": ref.kind, "namespace": ref.namespace, "name": ref.name}


@dataclass(frozen=True)
class ObjectDiff:
    """One object: its status, what changed (``changes``, and ``text``, a unified diff with
    the side labels in its headers; "" when there is nothing to show) and ``message``: why
    it was not compared, or the server's answer for a conflict or a failure."""

    ref: ObjectRef
    api_version: str  # of the after side (the before side's for a removed object)
    status: DiffStatus
    changes: tuple[FieldChange, ...] = ()
    text: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            **ref_dict(self.ref),
            "status": str(self.status),
            "message": self.message,
            "changes": [change.to_dict() for change in self.changes],
            "diff": self.text,
        }


@dataclass(frozen=True)
class DiffReport:
    """Every object compared, in the order given; ``orphans``: objects only the destination
    holds, which import would leave alone (listed, never counted as differences)."""

    objects: tuple[ObjectDiff, ...]
    before_label: str  # e.g. the live cluster's context, or the first bundle's file name
    after_label: str
    orphans: tuple[ObjectRef, ...] = ()

    def totals(self) -> dict[DiffStatus, int]:
        """How many objects have each status; every status is present, zero or not."""
        counts = dict.fromkeys(DiffStatus, 0)
        for diff in self.objects:
            counts[diff.status] += 1
        return counts

    @property
    def differs(self) -> bool:
        """Whether anything is not known to be unchanged (orphans aside)."""
        return any(diff.status is not DiffStatus.UNCHANGED for diff in self.objects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before_label,
            "after": self.after_label,
            "differs": self.differs,
            "totals": {str(status): count for status, count in self.totals().items()},
            "objects": [diff.to_dict() for diff in self.objects],
            "orphans": [ref_dict(ref) for ref in self.orphans],
        }
