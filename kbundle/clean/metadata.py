"""Rules for every object: fields the apiserver fills in on the source and would refuse,
ignore or misread on the destination."""

from __future__ import annotations

from kbundle.clean.core import (
    Target,
    drop_if_empty,
    list_at,
    pop_keys,
    remove_annotations,
)
from kbundle.core.model import LAST_APPLIED

SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
)


def drop_status(target: Target) -> None:
    if not target.context.options.keep_status:
        target.obj.pop("status", None)


def drop_server_metadata(target: Target) -> None:
    pop_keys(target.metadata, *SERVER_METADATA)


def drop_last_applied(target: Target) -> None:
    if not target.context.options.keep_last_applied:
        remove_annotations(target, LAST_APPLIED)


def keep_owners_in_bundle(target: Target) -> None:
    """Keep owner references the import can rebuild; drop (and report) the others.

    A kept reference still carries the source UID: import maps it to the owner's new UID.
    A reference to an owner outside the bundle would point at a UID the destination never
    has, and its garbage collector deletes objects whose owners are all missing.
    """
    meta = target.metadata
    refs = list_at(meta, "ownerReferences")
    if not refs:
        drop_if_empty(meta, "ownerReferences")
        return
    kept = []
    for ref in refs:
        if isinstance(ref, dict) and ref.get("uid") in target.context.exported_uids:
            kept.append(ref)
            continue
        owner = ref if isinstance(ref, dict) else {}
        target.note(
            "owner-outside-bundle",
            f"owner {owner.get('kind', '?')} {owner.get('name', '?')} is not in the bundle: "
            "owner reference dropped",
        )
    meta["ownerReferences"] = kept
    drop_if_empty(meta, "ownerReferences")


def drop_empty_label_maps(target: Target) -> None:
    """Runs last: earlier rules may have emptied ``annotations`` or ``labels``."""
    drop_if_empty(target.metadata, "annotations")
    drop_if_empty(target.metadata, "labels")
