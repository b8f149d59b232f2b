"""Labels and annotations a user names by hand: ``--set-label``, ``--remove-label``,
``--set-annotation``, ``--remove-annotation``.

A destination differs from its source in small ways no mapping captures: a team or
environment label its policies select on, an annotation its operators read. These
transforms make such edits on every object they are given.

Labels and annotations are edited on the object's own ``metadata`` only, not on pod
templates: changing template labels would change what a workload's selector matches.
Keys and values are checked as the apiserver checks them (``kbundle.core.names``), so a bad
one fails here, before anything is applied, rather than object by object in the destination.

Secret values never reach a ``Rewrite``: the
``kubectl.kubernetes.io/last-applied-configuration`` annotation of a Secret (which holds its
data in clear) is recorded as ``(secret value)``. Other annotations are not secret.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kbundle.core.fieldpath import render_path
from kbundle.core.model import LAST_APPLIED, Object, ObjectRef, is_secret_object
from kbundle.core.names import (
    LABEL_VALUE_FORMAT,
    QUALIFIED_NAME_FORMAT,
    is_label_value,
    qualified_name_problem,
)
from kbundle.transforms.args import string_list, string_map, usage
from kbundle.transforms.base import ABSENT, SECRET_VALUE, TransformContext

SET_LABELS = "set-labels"
REMOVE_LABELS = "remove-labels"
SET_ANNOTATIONS = "set-annotations"
REMOVE_ANNOTATIONS = "remove-annotations"
LABELS = "labels"
ANNOTATIONS = "annotations"


# -- keys and values, checked as the apiserver checks them ----------------------------------


def _label_value_problem(value: str) -> str | None:
    return None if is_label_value(value) else f"{value!r} is not a valid label value"


def _any_value(value: str) -> str | None:
    """Annotation values may be any string."""
    return None


@dataclass(frozen=True)
class _Metadata:
    """How one metadata map (labels or annotations) is named and checked."""

    field: str
    set_flag: str
    remove_flag: str
    value_problem: Callable[[str], str | None]
    example: str

    def hint(self) -> str:
        value = LABEL_VALUE_FORMAT if self.field == LABELS else "any value"
        return f"{QUALIFIED_NAME_FORMAT}; {value}; e.g. {self.set_flag} {self.example}"


_LABELS = _Metadata(LABELS, "--set-label", "--remove-label", _label_value_problem, "team=shop")
_ANNOTATIONS = _Metadata(
    ANNOTATIONS, "--set-annotation", "--remove-annotation", _any_value, "example.com/owner=shop"
)


def _parse_assignments(meta: _Metadata, values: Sequence[str]) -> dict[str, str]:
    """``["k=v"]`` -> ``{"k": "v"}``; each key once, keys and values valid."""
    entries: dict[str, str] = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals:
            raise usage(meta.set_flag, value, "expected KEY=VALUE", meta.hint())
        problem = qualified_name_problem(key) or meta.value_problem(text)
        if problem is None and key in entries:
            problem = f"{key!r} is already set to {entries[key]!r}"
        if problem is not None:
            raise usage(meta.set_flag, value, problem, meta.hint())
        entries[key] = text
    return entries


def _parse_keys(meta: _Metadata, values: Sequence[str]) -> tuple[str, ...]:
    """Valid keys, each given once."""
    for index, key in enumerate(values):
        problem = qualified_name_problem(key)
        if problem is None and key in values[:index]:
            problem = f"{key!r} is given twice"
        if problem is not None:
            raise usage(meta.remove_flag, key, problem, meta.hint())
    return tuple(values)


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    """``--set-label`` values: ``["team=shop"]`` -> ``{"team": "shop"}``."""
    return _parse_assignments(_LABELS, values)


def parse_label_keys(values: Sequence[str]) -> tuple[str, ...]:
    """``--remove-label`` values: label keys."""
    return _parse_keys(_LABELS, values)


def parse_annotations(values: Sequence[str]) -> dict[str, str]:
    """``--set-annotation`` values: ``["example.com/owner=shop"]`` -> a dict."""
    return _parse_assignments(_ANNOTATIONS, values)


def parse_annotation_keys(values: Sequence[str]) -> tuple[str, ...]:
    """``--remove-annotation`` values: annotation keys."""
    return _parse_keys(_ANNOTATIONS, values)


# -- editing metadata maps ------------------------------------------------------------------


def _shown(obj: Object, meta: _Metadata, key: str, value: Any) -> str:
    """A value as the report shows it: a Secret's last-applied annotation holds its data."""
    if is_secret_object(obj) and meta.field == ANNOTATIONS and key == LAST_APPLIED:
        return SECRET_VALUE
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _set_entries(
    name: str, meta: _Metadata, entries: Mapping[str, str], obj: Object, context: TransformContext
) -> Object:
    """A copy of ``obj`` with ``entries`` in its metadata map, the map made if needed."""
    result = copy.deepcopy(obj)
    metadata = result.get("metadata")
    current = metadata.get(meta.field) if isinstance(metadata, dict) else None
    if not isinstance(metadata, dict) or (current is not None and not isinstance(current, dict)):
        return result  # malformed: nothing sensible to set
    current = current or {}
    ref = ObjectRef.of(obj)
    for key, value in entries.items():
        if current.get(key) == value:
            continue
        before = _shown(obj, meta, key, current[key]) if key in current else ABSENT
        current[key] = value
        path = render_path(("metadata", meta.field, key))
        context.record(name, ref, path, before, _shown(obj, meta, key, value))
    if current:
        metadata[meta.field] = current
    return result


def _remove_entries(
    name: str, meta: _Metadata, keys: Sequence[str], obj: Object, context: TransformContext
) -> Object:
    """A copy of ``obj`` without ``keys`` in its metadata map, the map dropped if emptied."""
    result = copy.deepcopy(obj)
    metadata = result.get("metadata")
    current = metadata.get(meta.field) if isinstance(metadata, dict) else None
    if not isinstance(metadata, dict) or not isinstance(current, dict):
        return result
    ref = ObjectRef.of(obj)
    removed = False
    for key in keys:
        if key in current:
            before = _shown(obj, meta, key, current.pop(key))
            context.record(name, ref, render_path(("metadata", meta.field, key)), before, ABSENT)
            removed = True
    if removed and not current:
        del metadata[meta.field]
    return result


@dataclass(frozen=True)
class SetLabels:
    """Set labels on every object (``--set-label``), replacing a value already there."""

    labels: Mapping[str, str]
    name: str = SET_LABELS

    def __post_init__(self) -> None:
        checked = parse_labels([f"{k}={v}" for k, v in self.labels.items()])
        object.__setattr__(self, "labels", MappingProxyType(checked))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        return _set_entries(self.name, _LABELS, self.labels, obj, context)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"labels": dict(self.labels)}}


@dataclass(frozen=True)
class RemoveLabels:
    """Remove labels from every object (``--remove-label``)."""

    keys: Sequence[str]
    name: str = REMOVE_LABELS

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", parse_label_keys(tuple(self.keys)))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        return _remove_entries(self.name, _LABELS, self.keys, obj, context)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"keys": list(self.keys)}}


@dataclass(frozen=True)
class SetAnnotations:
    """Set annotations on every object (``--set-annotation``)."""

    annotations: Mapping[str, str]
    name: str = SET_ANNOTATIONS

    def __post_init__(self) -> None:
        checked = parse_annotations([f"{k}={v}" for k, v in self.annotations.items()])
        object.__setattr__(self, "annotations", MappingProxyType(checked))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        return _set_entries(self.name, _ANNOTATIONS, self.annotations, obj, context)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"annotations": dict(self.annotations)}}


@dataclass(frozen=True)
class RemoveAnnotations:
    """Remove annotations from every object (``--remove-annotation``)."""

    keys: Sequence[str]
    name: str = REMOVE_ANNOTATIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", parse_annotation_keys(tuple(self.keys)))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        return _remove_entries(self.name, _ANNOTATIONS, self.keys, obj, context)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"keys": list(self.keys)}}


# -- factories for rules files --------------------------------------------------------------


def set_labels(args: Mapping[str, Any]) -> SetLabels:
    """``{"labels": {"k": "v"}}``: the inverse of ``describe()``'s args."""
    return SetLabels(string_map(SET_LABELS, args, "labels", _LABELS.hint()))


def remove_labels(args: Mapping[str, Any]) -> RemoveLabels:
    """``{"keys": ["k"]}``."""
    return RemoveLabels(string_list(REMOVE_LABELS, args, "keys", _LABELS.hint()))


def set_annotations(args: Mapping[str, Any]) -> SetAnnotations:
    """``{"annotations": {"k": "v"}}``."""
    hint = _ANNOTATIONS.hint()
    return SetAnnotations(string_map(SET_ANNOTATIONS, args, "annotations", hint))


def remove_annotations(args: Mapping[str, Any]) -> RemoveAnnotations:
    """``{"keys": ["k"]}``."""
    return RemoveAnnotations(string_list(REMOVE_ANNOTATIONS, args, "keys", _ANNOTATIONS.hint()))
