"""``--remove-field PATH``: remove a field a user names by hand from every object.

A destination may manage a field itself (``spec.replicas`` under an autoscaler) or lack
what the source asked for (``resources`` on a test cluster without capacity). Paths are
written in the report's notation, or as JSON Pointers (``kbundle.core.fieldpath``).

Secret values never reach a ``Rewrite``: a removed ``data``/``stringData`` path and the
``kubectl.kubernetes.io/last-applied-configuration`` annotation of a Secret (which holds its
data in clear) are recorded as ``(secret value)``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kbundle.core.fieldpath import (
    FIELD_PATH_FORMAT,
    FieldPath,
    FieldPathError,
    Path,
    PointerToken,
    find,
    render_path,
)
from kbundle.core.fieldpath import parse_field_path as _parse
from kbundle.core.model import LAST_APPLIED, Object, ObjectRef, is_secret_object
from kbundle.transforms.args import string_list, usage
from kbundle.transforms.base import ABSENT, SECRET_VALUE, TransformContext

REMOVE_FIELDS = "remove-fields"
REMOVE_FIELD = "--remove-field"
SECRET_DATA = frozenset({"data", "stringData"})
BEFORE_LIMIT = 200  # characters of a removed value shown in the report
# Without these an object cannot be applied; a namespace is changed with --map-namespace.
PROTECTED: dict[tuple[str, ...], str] = {
    ("apiVersion",): "every object needs it",
    ("kind",): "every object needs it",
    ("metadata",): "every object needs it",
    ("metadata", "name"): "every object needs it",
    ("metadata", "namespace"): "use --map-namespace to move objects",
}


def parse_field_path(text: str) -> FieldPath:
    """``spec.template.spec.containers[*].resources`` or ``/spec/replicas`` as segments;
    UsageError naming the path if it is malformed or would remove what an object needs."""
    try:
        segments = _parse(text)
    except FieldPathError as error:
        raise usage(REMOVE_FIELD, text, str(error), FIELD_PATH_FORMAT) from None
    keys = [s.text if isinstance(s, PointerToken) else s for s in segments]
    names = tuple(k for k in keys if isinstance(k, str))
    reason = PROTECTED.get(names) if len(names) == len(keys) else None
    if reason is not None:
        problem = f"cannot remove {render_path(names)}: {reason}"
        raise usage(REMOVE_FIELD, text, problem, FIELD_PATH_FORMAT)
    return segments


def parse_field_paths(values: Sequence[str]) -> tuple[str, ...]:
    """``--remove-field`` values, each checked with ``parse_field_path`` and given once."""
    for index, text in enumerate(values):
        parse_field_path(text)
        if text in values[:index]:
            raise usage(REMOVE_FIELD, text, "given twice", FIELD_PATH_FORMAT)
    return tuple(values)


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
    return path[:2] == ("metadata", "annotations") and (len(path) == 2 or path[2] == LAST_APPLIED)


@dataclass(frozen=True)
class RemoveFields:
    """Remove fields from every object (``--remove-field``), paths in the order given.

    A missing path changes nothing. Emptied parents are kept (an empty ``securityContext``
    and none may differ to a defaulting webhook). A path ending in ``[N]`` removes whatever
    is at that index, so applying it again removes the next item: use ``[*]`` or a key
    where a second application must change nothing."""

    paths: Sequence[str]
    name: str = REMOVE_FIELDS
    _parsed: tuple[FieldPath, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        paths = parse_field_paths(tuple(self.paths))
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "_parsed", tuple(parse_field_path(p) for p in paths))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        result = copy.deepcopy(obj)
        ref = ObjectRef.of(obj)
        for segments in self._parsed:
            found = list(find(result, segments))
            for parent, key, path in found:
                context.record(
                    self.name, ref, render_path(path), _removed_text(obj, path, parent[key]), ABSENT
                )
            for parent, key, _ in reversed(found):  # later list items first: indices hold
                del parent[key]
        return result

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"paths": list(self.paths)}}


def remove_fields(args: Mapping[str, Any]) -> RemoveFields:
    """``{"paths": ["spec.replicas"]}``: the inverse of ``describe()``'s args."""
    return RemoveFields(string_list(REMOVE_FIELDS, args, "paths", FIELD_PATH_FORMAT))
