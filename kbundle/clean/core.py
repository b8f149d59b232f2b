"""The types every cleaning rule shares, and the small dict helpers they use.

A rule is a function that edits one deep copy of an exported object. It may read the
untouched original (``Target.original``): the Service rule needs ``managedFields`` and the
last-applied annotation to tell user-set nodePorts from allocated ones, and other rules
remove both, so reading them from the copy would make the result depend on rule order.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from kbundle.core.kinds import GroupKind, group_kind_of
from kbundle.core.model import Object, ObjectRef


@dataclass(frozen=True)
class CleanOptions:
    """What the user asked to keep that is normally stripped."""

    keep_status: bool = False
    keep_last_applied: bool = False


@dataclass(frozen=True)
class CleanContext:
    """What cleaning one object needs to know about the rest of the bundle."""

    exported_uids: Container[str]  # UIDs of every object in the bundle
    exported_persistent_volumes: frozenset[str]  # names of PVs in the bundle
    generated_token_secrets: frozenset[
        tuple[str, str]
    ]  # (namespace, name) from the token controller
    options: CleanOptions = CleanOptions()


@dataclass(frozen=True)
class CleanNote:
    """Something cleaning changed that the user should hear about (a manifest warning)."""

    ref: ObjectRef
    code: str  # stable, e.g. "owner-outside-bundle"
    message: str  # one line; never carries Secret data


@dataclass
class Target:
    """One object being cleaned: the copy rules edit and the original they may read."""

    obj: Object
    original: Mapping[str, Any]
    context: CleanContext
    ref: ObjectRef
    notes: list[CleanNote] = field(default_factory=list)

    @property
    def metadata(self) -> Object:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    def note(self, code: str, message: str) -> None:
        """Record a note; the message names the object, as manifest warnings carry no ref."""
        self.notes.append(CleanNote(self.ref, code, f"{self.ref}: {message}"))


@dataclass(frozen=True)
class Rule:
    """One cleaning step: where it applies, what it does, and why (shown in the rule table)."""

    name: str
    kinds: frozenset[GroupKind] | None  # None: every object
    apply: Callable[[Target], None]
    reason: str

    def applies_to(self, obj: Mapping[str, Any]) -> bool:
        if self.kinds is None:
            return True
        return group_kind_of(obj) in self.kinds


def kinds(*group_kinds: GroupKind) -> frozenset[GroupKind]:
    return frozenset(group_kinds)


# -- dict helpers -------------------------------------------------------------------------


def child(parent: Mapping[str, Any] | None, *path: str) -> Object | None:
    """The mapping at ``path`` under ``parent``, or None if any step is missing or not a map."""
    node: Any = parent
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, dict) else None


def list_at(parent: Mapping[str, Any] | None, key: str) -> list[Any]:
    """The list at ``parent[key]``, or an empty list (never None) when absent or malformed."""
    value = parent.get(key) if isinstance(parent, Mapping) else None
    return value if isinstance(value, list) else []


def pop_keys(mapping: Object | None, *keys: str) -> None:
    if mapping is not None:
        for key in keys:
            mapping.pop(key, None)


def drop_if_empty(parent: Object | None, key: str) -> None:
    """Remove ``parent[key]`` when it is an empty map or list: the API treats it as absent."""
    if parent is not None and key in parent and parent[key] in ({}, [], None):
        del parent[key]


def remove_annotations(target: Target, *keys: str) -> None:
    """Remove annotations; an emptied map is dropped by the last generic rule."""
    pop_keys(child(target.metadata, "annotations"), *keys)
