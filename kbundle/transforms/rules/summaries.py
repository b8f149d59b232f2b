"""What a rule's record or error may show: one-line, bounded, and never a Secret's data.

A record's before and after, and the reason a patch failed, are read by people (the import
report, stderr) and kept (report files): values are cut short, and in a Secret every place
that could hold its data is shown as ``(secret value)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsonpatch

from kbundle.core.fieldpath import MISSING, Segment, parse_pointer, render_pointer, value_at
from kbundle.core.model import LAST_APPLIED, Object, is_secret_object
from kbundle.transforms.base import ABSENT, SECRET_VALUE

MAX_REASON = 200
MAX_VALUE = 80
MAX_SUMMARY = 300
_QUOTED_DOCUMENT = re.compile(r"(member '.*' not found) in .*")

Location = Sequence[Segment]  # keys and indices from a document's root


def _shows_secret_data(tokens: Location) -> bool:
    """Whether a value at ``tokens`` inside a Secret could hold its data. Only metadata
    other than the last-applied annotation (a copy of the data) and ``type`` are safe."""
    if tuple(tokens) == ("type",):
        return False
    if len(tokens) < 2 or tokens[0] != "metadata":
        return True
    if tokens[1] in ("name", "namespace", "labels", "generateName"):
        return False
    return tokens[1] != "annotations" or len(tokens) < 3 or tokens[2] == LAST_APPLIED


def _shown(value: Any, tokens: Location, secret: bool) -> str:
    """A value for a one-line record: strings as they are, anything else as compact JSON."""
    if secret and _shows_secret_data(tokens):
        return SECRET_VALUE
    if value is MISSING:
        return ABSENT
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return truncated(one_line(text), MAX_VALUE)


def values_summary(leaves: Sequence[Location], values: Sequence[Any], secret: bool) -> str:
    """``/spec/replicas: 1; /metadata/labels/x: (absent)``: each place and its value."""
    parts = [
        f"{render_pointer(leaf)}: {_shown(value, leaf, secret)}"
        for leaf, value in zip(leaves, values, strict=True)
    ]
    return truncated("; ".join(parts), MAX_SUMMARY)


def patch_summary(operations: Sequence[Mapping[str, Any]], obj: Object) -> tuple[str, str]:
    """Before: the values at the paths the patch changes. After: the operations applied."""
    secret = is_secret_object(obj)
    paths: list[str] = []
    steps: list[str] = []
    for op in operations:
        paths.extend(p for p in (op.get("from"), op["path"]) if p is not None and p not in paths)
        step = f"{op['op']} {op['path']}"
        if "value" in op:
            step += f": {_shown(op['value'], parse_pointer(op['path']), secret)}"
        if "from" in op:
            step += f" from {op['from']}"
        steps.append(step)
    leaves = [parse_pointer(p) for p in paths]
    before = values_summary(leaves, [value_at(obj, leaf) for leaf in leaves], secret)
    return before, truncated("; ".join(steps), MAX_SUMMARY)


def patch_failure(
    label: str, number: int, patch: jsonpatch.JsonPatch, obj: Object, error: Exception
) -> str:
    """Why an operation failed, without the document jsonpointer quotes after a missing
    member; for a Secret, only the error's type if the message could still hold a value."""
    op = next(iter(patch))
    reason = _QUOTED_DOCUMENT.sub(r"\1", one_line(str(error)))
    if is_secret_object(obj) and _mentions_secret_data(reason, obj):
        reason = type(error).__name__
    where = f"{label}: jsonPatch operation {number} ({op['op']} {op['path']})"
    return truncated(f"{where}: {reason}", MAX_REASON)


def _mentions_secret_data(text: str, obj: Object) -> bool:
    values = [
        value
        for field in ("data", "stringData")
        if isinstance(obj.get(field), dict)
        for value in obj[field].values()
    ]
    return any(isinstance(value, str) and value in text for value in values)


def one_line(text: str) -> str:
    return " ".join(text.split())


def truncated(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_kind(value: Any) -> str:
    """A loaded value's JSON Schema type name, as the schema's own messages would use."""
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def a(noun: str) -> str:
    """``an array``, ``a string``; ``null`` as it is."""
    if noun == "null":
        return noun
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"
