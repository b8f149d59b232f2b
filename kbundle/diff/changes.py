"""Where two objects differ, leaf by leaf, in the notation reports and ``--remove-field``
share (``spec.template.spec.containers[0].image``, ``data["nginx.conf"]``)."""

from __future__ import annotations

import json
from typing import Any

from kbundle.core.fieldpath import Path, render_path
from kbundle.diff.model import ChangeKind, FieldChange

__all__ = ["MAX_VALUE_LENGTH", "equal", "field_changes", "render_value"]

MAX_VALUE_LENGTH = 80
_ENCODE = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str
).encode


def equal(before: Any, after: Any) -> bool:
    """Equal as JSON: same keys, same items, same types (``1``, ``1.0`` and ``true`` are
    three values, though Python's ``==`` calls them equal)."""
    if type(before) is not type(after):
        return False
    if isinstance(before, dict):
        return len(before) == len(after) and all(
            key in after and equal(value, after[key]) for key, value in before.items()
        )
    if isinstance(before, list):
        return len(before) == len(after) and all(
            equal(a, b) for a, b in zip(before, after, strict=True)
        )
    return bool(before == after)


def render_value(value: Any) -> str:
    """Compact one-line JSON, cut to ``MAX_VALUE_LENGTH`` characters."""
    text = _ENCODE(value)
    if len(text) > MAX_VALUE_LENGTH:
        return text[: MAX_VALUE_LENGTH - 1] + "…"
    return text


def field_changes(before: Any, after: Any) -> tuple[FieldChange, ...]:
    """Every leaf added, removed or changed from ``before`` to ``after``.

    Mappings are compared key by key, and an added or removed mapping is reported by its
    leaves (a new label reads ``metadata.labels.env``, as transforms report it, whether or
    not the object had labels before). Lists are compared item by item by index; the extra
    items of a longer list are each one change, at their index.
    """
    found: list[FieldChange] = []
    _compare(before, after, (), found)
    return tuple(found)


def _compare(before: Any, after: Any, path: Path, found: list[FieldChange]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in before.items():
            if key in after:
                _compare(value, after[key], (*path, key), found)
            else:
                _one_side(ChangeKind.REMOVED, value, (*path, key), found)
        for key, value in after.items():
            if key not in before:
                _one_side(ChangeKind.ADDED, value, (*path, key), found)
    elif isinstance(before, list) and isinstance(after, list):
        for index, (old, new) in enumerate(zip(before, after, strict=False)):
            _compare(old, new, (*path, index), found)
        for index in range(len(after), len(before)):
            _add(ChangeKind.REMOVED, before[index], (*path, index), found)
        for index in range(len(before), len(after)):
            _add(ChangeKind.ADDED, after[index], (*path, index), found)
    elif not equal(before, after):
        found.append(
            FieldChange(
                render_path(path), ChangeKind.CHANGED, render_value(before), render_value(after)
            )
        )


def _one_side(kind: ChangeKind, value: Any, path: Path, found: list[FieldChange]) -> None:
    """A value only one side has: a non-empty mapping by its leaves, anything else whole."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _one_side(kind, item, (*path, key), found)
    else:
        _add(kind, value, path, found)


def _add(kind: ChangeKind, value: Any, path: Path, found: list[FieldChange]) -> None:
    shown = render_value(value)
    before, after = (shown, None) if kind is ChangeKind.REMOVED else (None, shown)
    found.append(FieldChange(render_path(path), kind, before, after))
