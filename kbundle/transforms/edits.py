"""Edits a user names by hand: set or remove labels and annotations, remove fields.

A destination differs from its source in small ways no mapping captures: a team or
environment label its policies select on, an annotation its operators read, a field it
manages itself (``spec.replicas`` under an autoscaler, ``resources`` on a test cluster
without capacity). These transforms make such edits on every object they are given.

Labels and annotations are edited on the object's own ``metadata`` only, not on pod
templates: changing template labels would change what a workload's selector matches.
Values are checked as the apiserver checks them, so a bad one fails here, before anything
is applied, rather than object by object in the destination.

Secret values never reach a ``Rewrite``: a removed ``data``/``stringData`` path and the
``kubectl.kubernetes.io/last-applied-configuration`` annotation of a Secret (which holds its
data in clear) are recorded as ``(secret value)``. Other annotations are not secret.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from kbundle.errors import UsageError
from kbundle.model import LAST_APPLIED, Object, ObjectRef, is_secret_object
from kbundle.transforms.base import TransformContext
from kbundle.transforms.registry import register
from kbundle.transforms.walk import Path, render_path

LABELS = "labels"
ANNOTATIONS = "annotations"
ABSENT = "(absent)"  # the before of an added key, the after of a removed one
SECRET_VALUE = "(secret value)"
SECRET_DATA = frozenset({"data", "stringData"})
BEFORE_LIMIT = 200  # characters of a removed value shown in the report

_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_NAME_MAX = 63
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SUBDOMAIN_MAX = 253
_KEY_FORMAT = (
    "a key is an optional DNS subdomain prefix and '/', then a name of at most 63 letters, "
    "digits, '-', '_' or '.', starting and ending with a letter or digit"
)
_VALUE_FORMAT = "a label value is empty or a name like a key's (at most 63 characters)"


# -- keys and values, checked as the apiserver checks them ----------------------------------


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (label and annotation keys), or None."""
    parts = key.split("/")
    if len(parts) > 2:
        return f"{key!r} is not a valid key: more than one '/'"
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if len(prefix) > _SUBDOMAIN_MAX or _SUBDOMAIN.fullmatch(prefix) is None:
            return f"{key!r} is not a valid key: {prefix!r} is not a DNS subdomain"
    if len(name) > _NAME_MAX or _NAME.fullmatch(name) is None:
        return f"{key!r} is not a valid key: {name!r} is not a valid name"
    return None


def _label_value_problem(value: str) -> str | None:
    if value == "" or (len(value) <= _NAME_MAX and _NAME.fullmatch(value)):
        return None
    return f"{value!r} is not a valid label value"


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
        value = _VALUE_FORMAT if self.field == LABELS else "any value"
        return f"{_KEY_FORMAT}; {value}; e.g. {self.set_flag} {self.example}"


_LABELS = _Metadata(LABELS, "--set-label", "--remove-label", _label_value_problem, "team=shop")
_ANNOTATIONS = _Metadata(
    ANNOTATIONS, "--set-annotation", "--remove-annotation", _any_value, "example.com/owner=shop"
)


def _usage(flag: str, value: str, problem: str, hint: str) -> UsageError:
    """One line naming the value exactly as given (quoted if empty or holding a line break)."""
    shown = value if value and value.isprintable() else repr(value)
    return UsageError(f"{flag} {shown}: {problem}", hint=hint)


def _parse_assignments(meta: _Metadata, values: Sequence[str]) -> dict[str, str]:
    """``["k=v"]`` -> ``{"k": "v"}``; each key once, keys and values valid."""
    entries: dict[str, str] = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals:
            raise _usage(meta.set_flag, value, "expected KEY=VALUE", meta.hint())
        problem = _key_problem(key) or meta.value_problem(text)
        if problem is None and key in entries:
            problem = f"{key!r} is already set to {entries[key]!r}"
        if problem is not None:
            raise _usage(meta.set_flag, value, problem, meta.hint())
        entries[key] = text
    return entries


def _parse_keys(meta: _Metadata, values: Sequence[str]) -> tuple[str, ...]:
    """Valid keys, each given once."""
    for index, key in enumerate(values):
        problem = _key_problem(key)
        if problem is None and key in values[:index]:
            problem = f"{key!r} is given twice"
        if problem is not None:
            raise _usage(meta.remove_flag, key, problem, meta.hint())
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
    name: str = "set-labels"

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
    name: str = "remove-labels"

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
    name: str = "set-annotations"

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
    name: str = "remove-annotations"

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", parse_annotation_keys(tuple(self.keys)))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        return _remove_entries(self.name, _ANNOTATIONS, self.keys, obj, context)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"keys": list(self.keys)}}


# -- field paths ----------------------------------------------------------------------------

REMOVE_FIELD = "--remove-field"
_PATH_HINT = (
    "a path is keys joined by '.', with [\"key\"] for keys holding other characters, [N] for "
    "a list item and [*] for every item (spec.template.spec.containers[*].resources), or a "
    "JSON Pointer (/metadata/annotations/example.com~1x)"
)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")  # what render_path writes without brackets
_INDEX = re.compile(r"\[(0|[1-9][0-9]*)\]")
_POINTER_INDEX = re.compile(r"0|[1-9][0-9]*")
_POINTER_ESCAPE = re.compile(r"~(?![01])")
# Without these an object cannot be applied; a namespace is changed with --map-namespace.
PROTECTED: dict[tuple[str, ...], str] = {
    ("apiVersion",): "every object needs it",
    ("kind",): "every object needs it",
    ("metadata",): "every object needs it",
    ("metadata", "name"): "every object needs it",
    ("metadata", "namespace"): "use --map-namespace to move objects",
}


class Wildcard(Enum):
    """``[*]``: every item of a list."""

    EVERY = "*"


@dataclass(frozen=True)
class PointerToken:
    """A JSON Pointer reference token: a key in a mapping, an index in a list."""

    text: str


FieldSegment = str | int | Wildcard | PointerToken
FieldPath = tuple[FieldSegment, ...]


class _Malformed(Exception):
    """Where parsing a path failed; turned into one UsageError naming the whole path."""

    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


def parse_field_path(text: str) -> FieldPath:
    """``spec.template.spec.containers[*].resources`` or ``/spec/replicas`` as segments;
    UsageError naming the path if it is malformed or would remove what an object needs."""
    if not text:
        raise _usage(REMOVE_FIELD, text, "empty path", _PATH_HINT)
    try:
        segments = _pointer(text) if text.startswith("/") else _dotted(text)
    except _Malformed as error:
        problem = f"malformed path at character {error.position + 1}"
        raise _usage(REMOVE_FIELD, text, problem, _PATH_HINT) from None
    keys = [s.text if isinstance(s, PointerToken) else s for s in segments]
    names = tuple(k for k in keys if isinstance(k, str))
    reason = PROTECTED.get(names) if len(names) == len(keys) else None
    if reason is not None:
        problem = f"cannot remove {render_path(names)}: {reason}"
        raise _usage(REMOVE_FIELD, text, problem, _PATH_HINT)
    return segments


def parse_field_paths(values: Sequence[str]) -> tuple[str, ...]:
    """``--remove-field`` values, each checked with ``parse_field_path`` and given once."""
    for index, text in enumerate(values):
        parse_field_path(text)
        if text in values[:index]:
            raise _usage(REMOVE_FIELD, text, "given twice", _PATH_HINT)
    return tuple(values)


def _dotted(text: str) -> FieldPath:
    """``a.b["c.d"][0][*]``: the syntax ``render_path`` writes, so a path copied from a
    report names the same place."""
    segments: list[FieldSegment] = []
    position = 0
    while position < len(text):
        if text.startswith("[", position):
            segment, position = _bracket(text, position)
        else:
            if segments:
                if not text.startswith(".", position):
                    raise _Malformed(position)
                position += 1
            match = _PLAIN_KEY.match(text, position)
            if match is None:
                raise _Malformed(position)
            segment, position = match.group(), match.end()
        segments.append(segment)
    return tuple(segments)


def _bracket(text: str, position: int) -> tuple[FieldSegment, int]:
    """``[3]``, ``[*]`` or ``["a.b/c"]`` (a JSON string) at ``position``."""
    index = _INDEX.match(text, position)
    if index is not None:
        return int(index.group(1)), index.end()
    if text.startswith("[*]", position):
        return Wildcard.EVERY, position + 3
    if not text.startswith('["', position):
        raise _Malformed(position)
    try:
        key, end = json.JSONDecoder().raw_decode(text, position + 1)
    except ValueError:
        raise _Malformed(position + 1) from None
    if not text.startswith("]", end):
        raise _Malformed(end)
    return str(key), end + 1


def _pointer(text: str) -> FieldPath:
    """RFC 6901: ``/a~1b/0`` -> tokens ``a/b``, ``0`` (read as key or index on use)."""
    escape = _POINTER_ESCAPE.search(text)
    if escape is not None:
        raise _Malformed(escape.start())
    tokens = text[1:].split("/")
    return tuple(PointerToken(t.replace("~1", "/").replace("~0", "~")) for t in tokens)


# -- removing fields ------------------------------------------------------------------------

Found = tuple[Any, str | int, Path]  # parent, key in it, path from the object's root


def _matches(node: Any, segments: FieldPath, at: Path) -> Iterator[Found]:
    """Every existing place ``segments`` names under ``node``, in document order."""
    first, rest = segments[0], segments[1:]
    for key in _keys(node, first):
        if rest:
            yield from _matches(node[key], rest, (*at, key))
        else:
            yield node, key, (*at, key)


def _keys(node: Any, segment: FieldSegment) -> list[str | int]:
    """The keys or indices of ``node`` that ``segment`` names and that exist."""
    if isinstance(segment, PointerToken):
        if isinstance(node, list):
            found = _POINTER_INDEX.fullmatch(segment.text)
            segment = int(segment.text) if found else -1
        else:
            segment = segment.text
    if isinstance(node, dict) and isinstance(segment, str):
        return [segment] if segment in node else []
    if isinstance(node, list) and segment is Wildcard.EVERY:
        return list(range(len(node)))
    if isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
        return [segment]
    return []


def _removed_text(obj: Object, path: Path, value: Any) -> str:
    """The removed value as compact JSON, cut to ``BEFORE_LIMIT``; Secret data hidden."""
    if is_secret_object(obj) and _secret_path(path):
        return SECRET_VALUE
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= BEFORE_LIMIT else text[: BEFORE_LIMIT - 1] + "…"


def _secret_path(path: Path) -> bool:
    """Whether a Secret's ``path`` holds its data: ``data``, ``stringData``, or the
    last-applied annotation (alone or with the other annotations)."""
    if path[0] in SECRET_DATA:
        return True
    return path[:2] == ("metadata", ANNOTATIONS) and (len(path) == 2 or path[2] == LAST_APPLIED)


@dataclass(frozen=True)
class RemoveFields:
    """Remove fields from every object (``--remove-field``), paths in the order given.

    A missing path changes nothing. Emptied parents are kept (an empty ``securityContext``
    and none may differ to a defaulting webhook). A path ending in ``[N]`` removes whatever
    is at that index, so applying it again removes the next item: use ``[*]`` or a key
    where a second application must change nothing."""

    paths: Sequence[str]
    name: str = "remove-fields"
    _parsed: tuple[FieldPath, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        paths = parse_field_paths(tuple(self.paths))
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "_parsed", tuple(parse_field_path(p) for p in paths))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        result = copy.deepcopy(obj)
        ref = ObjectRef.of(obj)
        for segments in self._parsed:
            found = list(_matches(result, segments, ()))
            for parent, key, path in found:
                context.record(
                    self.name, ref, render_path(path), _removed_text(obj, path, parent[key]), ABSENT
                )
            for parent, key, _ in reversed(found):  # later list items first: indices hold
                del parent[key]
        return result

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"paths": list(self.paths)}}


# -- factories for rules files --------------------------------------------------------------


def _only(name: str, args: Mapping[str, Any], key: str, hint: str) -> Any:
    """The one argument ``key`` of ``args``, refusing any other."""
    unknown = sorted(set(args) - {key})
    if unknown:
        raise UsageError(f"{name}: unknown argument {unknown[0]!r}", hint=hint)
    return args.get(key)


def _string_map(name: str, args: Mapping[str, Any], key: str, hint: str) -> Mapping[str, str]:
    value = _only(name, args, key, hint)
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UsageError(f"{name}: {key!r} must map strings to strings", hint=hint)
    return value


def _string_list(name: str, args: Mapping[str, Any], key: str, hint: str) -> list[str]:
    value = _only(name, args, key, hint)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{name}: {key!r} must be a list of strings", hint=hint)
    return value


@register("set-labels")
def set_labels(args: Mapping[str, Any]) -> SetLabels:
    """``{"labels": {"k": "v"}}``: the inverse of ``describe()``'s args."""
    return SetLabels(_string_map("set-labels", args, "labels", _LABELS.hint()))


@register("remove-labels")
def remove_labels(args: Mapping[str, Any]) -> RemoveLabels:
    """``{"keys": ["k"]}``."""
    return RemoveLabels(_string_list("remove-labels", args, "keys", _LABELS.hint()))


@register("set-annotations")
def set_annotations(args: Mapping[str, Any]) -> SetAnnotations:
    """``{"annotations": {"k": "v"}}``."""
    hint = _ANNOTATIONS.hint()
    return SetAnnotations(_string_map("set-annotations", args, "annotations", hint))


@register("remove-annotations")
def remove_annotations(args: Mapping[str, Any]) -> RemoveAnnotations:
    """``{"keys": ["k"]}``."""
    return RemoveAnnotations(_string_list("remove-annotations", args, "keys", _ANNOTATIONS.hint()))


@register("remove-fields")
def remove_fields(args: Mapping[str, Any]) -> RemoveFields:
    """``{"paths": ["spec.replicas"]}``."""
    return RemoveFields(_string_list("remove-fields", args, "paths", _PATH_HINT))
