"""What a rule does to an object it matches: drop it, run a built-in, or patch it.

Each action works on its own deep copy, records what it changed under the rule's label
(values summarised by ``summaries``, so no Secret data is shown), and raises ``RuleFailed``
naming the rule when it cannot be applied.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonpatch

from kbundle.core.fieldpath import value_at
from kbundle.core.model import Object, ObjectRef, is_secret_object
from kbundle.transforms.base import Transform, TransformContext
from kbundle.transforms.rules.model import TRANSFORM_NAME, RuleFailed
from kbundle.transforms.rules.summaries import (
    Location,
    patch_failure,
    patch_summary,
    values_summary,
)


@dataclass(frozen=True)
class DropAction:
    """``drop: true``: the object is left out of the import."""

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]:
        context.record(TRANSFORM_NAME, ObjectRef.of(obj), label, "present", "dropped")
        return []


@dataclass(frozen=True)
class BuiltinAction:
    """A built-in transform made from the rule's arguments; it records its own changes."""

    builtin: str
    transform: Transform

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]:
        try:
            result = self.transform(obj, context)
        except Exception as error:
            # Re-raised with the rule's name: the import report then says which rule failed.
            raise RuleFailed(
                f"{label}: builtin {self.builtin}: {type(error).__name__}: {error}"
            ) from error
        if result is None:
            return []
        return result if isinstance(result, list) else [result]


@dataclass(frozen=True)
class JsonPatchAction:
    """RFC 6902 operations, applied one by one to a copy so a failure can name its
    operation. A failing ``test`` leaves the object as it was: the rule does not apply."""

    operations: tuple[jsonpatch.JsonPatch, ...]  # one single-operation patch each

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]:
        result: Any = copy.deepcopy(obj)
        for number, patch in enumerate(self.operations, start=1):
            try:
                result = patch.apply(result, in_place=True)
            except jsonpatch.JsonPatchTestFailed:
                return [obj]
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
                raise RuleFailed(patch_failure(label, number, patch, obj, error)) from error
        if result != obj:
            changed = [op for patch in self.operations for op in patch if op["op"] != "test"]
            before, after = patch_summary(changed, obj)
            context.record(TRANSFORM_NAME, ObjectRef.of(obj), label, before, after)
        return [result]


@dataclass(frozen=True)
class MergePatchAction:
    """RFC 7386 JSON merge patch: objects merge key by key, ``null`` deletes, anything else
    (lists included) replaces."""

    patch: Mapping[str, Any]

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]:
        leaves = list(_merge_leaves(self.patch, obj, ()))
        before = [value_at(obj, leaf) for leaf in leaves]
        result = copy.deepcopy(obj)
        _merge_into(result, self.patch)
        after = [value_at(result, leaf) for leaf in leaves]
        if result != obj:
            secret = is_secret_object(obj)
            context.record(
                TRANSFORM_NAME,
                ObjectRef.of(obj),
                label,
                values_summary(leaves, before, secret),
                values_summary(leaves, after, secret),
            )
        return [result]


def _merge_into(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """RFC 7386 section 2, in place on ``target`` (the caller's own copy); values are
    copied out of the patch so later transforms cannot change the rule."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _merge_leaves(patch: Mapping[str, Any], target: Any, at: tuple[str, ...]) -> Iterator[Location]:
    """The places a merge patch sets, replaces or deletes (where a record says what changed)."""
    for key, value in patch.items():
        current = target.get(key) if isinstance(target, dict) else None
        if isinstance(value, Mapping) and isinstance(current, dict):
            yield from _merge_leaves(value, current, (*at, key))
        else:
            yield (*at, key)
