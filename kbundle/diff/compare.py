"""One object on two sides, compared: the one entry point of the diff stage.

The two sides are the same object (same group, kind, namespace and name) as it is and as it
would be: the live object and the server's dry-run answer, or the object in two bundles.
Comparing the cleaned forms comes first and is cheap; text and field changes are made only
for objects that differ, so thousands of unchanged objects cost little.
"""

from __future__ import annotations

from kbundle.bundle.yaml_codec import canonical_object
from kbundle.core.model import Object, ObjectRef, is_sealed, is_secret_object
from kbundle.diff.changes import equal, field_changes
from kbundle.diff.comparable import comparable
from kbundle.diff.model import DiffStatus, FieldChange, ObjectDiff
from kbundle.diff.secrets import secret_safe
from kbundle.diff.unified import unified

__all__ = ["compare", "header", "sealed_message"]


def sealed_message(labels: list[str]) -> str:
    """Why a Secret encrypted on the sides ``labels`` was not compared."""
    return f"encrypted in {' and '.join(labels)}: give the passphrase to compare it"


def header(label: str, ref: ObjectRef) -> str:
    """How a unified diff's ``---``/``+++`` line names one side of one object."""
    return f"{label} {ref}"


def compare(
    ref: ObjectRef,
    api_version: str,
    before: Object | None,
    after: Object | None,
    *,
    before_label: str,
    after_label: str,
) -> ObjectDiff:
    """How ``ref`` differs from ``before`` (None: absent) to ``after`` (None: absent).

    CREATE or REMOVE when one side is absent (``text``: the whole object as added or
    removed; no field changes), else CHANGE (with field changes) or UNCHANGED. A Secret on
    both sides but still encrypted on either is NOT_COMPARED: without the passphrase
    nothing honest can be said about its values (one added or removed is still CREATE or
    REMOVE, its envelope a placeholder). ``text`` and ``changes`` never hold a Secret value.
    """
    if before is None and after is None:
        raise ValueError(f"{ref}: nothing to compare on either side")
    if before is not None and after is not None:
        sealed = [
            label
            for obj, label in ((before, before_label), (after, after_label))
            if is_secret_object(obj) and is_sealed(obj)
        ]
        if sealed:
            return ObjectDiff(
                ref, api_version, DiffStatus.NOT_COMPARED, message=sealed_message(sealed)
            )
    old, new = secret_safe(
        None if before is None else comparable(before),
        None if after is None else comparable(after),
    )
    if old is None:
        status = DiffStatus.CREATE
    elif new is None:
        status = DiffStatus.REMOVE
    elif equal(old, new):
        return ObjectDiff(ref, api_version, DiffStatus.UNCHANGED)
    else:
        status = DiffStatus.CHANGE
    text = unified(old, new, header(before_label, ref), header(after_label, ref))
    changes: tuple[FieldChange, ...] = ()
    if old is not None and new is not None:  # in the order the text shows them
        changes = field_changes(canonical_object(old), canonical_object(new))
    return ObjectDiff(ref, api_version, status, changes, text)
