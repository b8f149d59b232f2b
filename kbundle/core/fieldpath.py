"""Places in Kubernetes objects: how they are named, and how they are read.

One notation names a place wherever a user sees or writes one. Reports write paths
(``spec.template.spec.containers[0].image``, ``data["nginx.conf"]``), and ``--remove-field``
reads the same notation back, with ``[*]`` for every item of a list, so a path copied from
a report names the same place. Rules files' patches, and ``--remove-field`` too, take RFC
6901 JSON Pointers (``/metadata/annotations/example.com~1x``).

The readers are tolerant: an object may be hand-edited or hostile, so a missing or
mistyped field reads as absent, never as a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

__all__ = [
    "FIELD_PATH_FORMAT",
    "MISSING",
    "FieldPath",
    "FieldPathError",
    "FieldSegment",
    "Path",
    "PointerToken",
    "Segment",
    "Wildcard",
    "dict_at",
    "dicts",
    "find",
    "get",
    "indices",
    "parse_field_path",
    "parse_pointer",
    "render_path",
    "render_pointer",
    "value_at",
]

Segment = str | int  # a key in a mapping, an index in a list
Path = tuple[Segment, ...]

FIELD_PATH_FORMAT = (
    "a path is keys joined by '.', with [\"key\"] for keys holding other characters, [N] for "
    "a list item and [*] for every item (spec.template.spec.containers[*].resources), or a "
    "JSON Pointer (/metadata/annotations/example.com~1x)"
)

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")  # keys written without brackets
_INDEX = re.compile(r"\[(0|[1-9][0-9]*)\]")
_POINTER_INDEX = re.compile(r"0|[1-9][0-9]*")  # RFC 6901: no sign, no leading zero
_POINTER_ESCAPE = re.compile(r"~(?![01])")  # only ~0 and ~1 are escapes


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()  # what ``value_at`` reads where nothing is (JSON null is None)


# -- writing paths ----------------------------------------------------------------------------


def render_path(path: Sequence[Segment]) -> str:
    """``("spec", "containers", 0, "env")`` -> ``spec.containers[0].env``; keys with dots or
    slashes are quoted (``data["nginx.conf"]``) so a path names exactly one place."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _PLAIN_KEY.fullmatch(segment):
            text += f".{segment}" if text else segment
        else:
            text += f"[{json.dumps(segment)}]"
    return text


def render_pointer(tokens: Sequence[Segment]) -> str:
    """``("metadata", "annotations", "a/b")`` -> ``/metadata/annotations/a~1b`` (RFC 6901)."""
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


# -- reading paths ------------------------------------------------------------------------------


class Wildcard(Enum):
    """``[*]``: every item of a list."""

    EVERY = "*"


@dataclass(frozen=True)
class PointerToken:
    """A JSON Pointer reference token: a key in a mapping, an index in a list."""

    text: str


FieldSegment = str | int | Wildcard | PointerToken
FieldPath = tuple[FieldSegment, ...]


class FieldPathError(ValueError):
    """Why a path cannot be read; the message is the reason alone (``empty path``), for the
    caller to put after the flag or file it came from."""


def parse_field_path(text: str) -> FieldPath:
    """``spec.template.spec.containers[*].resources``, or the JSON Pointer
    ``/spec/replicas``, as segments; FieldPathError if it is empty or malformed."""
    if not text:
        raise FieldPathError("empty path")
    if text.startswith("/"):
        return tuple(PointerToken(token) for token in parse_pointer(text))
    return _dotted(text)


def parse_pointer(text: str) -> tuple[str, ...]:
    """RFC 6901: ``/a~1b/0`` -> ``("a/b", "0")`` (read as key or index where used);
    ``""``, the whole document, -> ``()``."""
    if not text:
        return ()
    if not text.startswith("/"):
        raise _malformed(0)
    escape = _POINTER_ESCAPE.search(text)
    if escape is not None:
        raise _malformed(escape.start())
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/"))


def _malformed(position: int) -> FieldPathError:
    return FieldPathError(f"malformed path at character {position + 1}")


def _dotted(text: str) -> FieldPath:
    """``a.b["c.d"][0][*]``: what ``render_path`` writes, plus ``[*]``."""
    segments: list[FieldSegment] = []
    position = 0
    while position < len(text):
        if text.startswith("[", position):
            segment, position = _bracket(text, position)
        else:
            if segments:
                if not text.startswith(".", position):
                    raise _malformed(position)
                position += 1
            match = _PLAIN_KEY.match(text, position)
            if match is None:
                raise _malformed(position)
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
        raise _malformed(position)
    try:
        key, end = json.JSONDecoder().raw_decode(text, position + 1)
    except ValueError:
        raise _malformed(position + 1) from None
    if not text.startswith("]", end):
        raise _malformed(end)
    return str(key), end + 1


# -- reading objects ----------------------------------------------------------------------------


def value_at(document: Any, tokens: Sequence[Segment]) -> Any:
    """What is at ``tokens``, or ``MISSING``. A token is a key, an index, or a JSON Pointer
    token, which indexes a list when it is an RFC 6901 index (``0``, not ``00``)."""
    node = document
    for token in tokens:
        node = _child(node, _as_pointer_token(node, token))
        if node is MISSING:
            break
    return node


def _child(node: Any, key: Segment) -> Any:
    """``node[key]`` for a key of a mapping or an index of a list, else ``MISSING``."""
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key, MISSING)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return MISSING


def _as_pointer_token(node: Any, token: Segment) -> Segment:
    """A JSON Pointer token read against ``node``: in a list, an index (-1 if malformed)."""
    if isinstance(node, list) and isinstance(token, str):
        return int(token) if _POINTER_INDEX.fullmatch(token) else -1
    return token


def get(parent: Any, key: Segment) -> Any:
    """``parent[key]``, or None where there is no such item."""
    value = _child(parent, key)
    return None if value is MISSING else value


def dict_at(node: Any, *keys: Segment) -> dict[str, Any] | None:
    """The mapping at ``keys`` under ``node``, or None if any step is missing or no mapping."""
    found = value_at(node, keys)
    return found if isinstance(found, dict) else None


def dicts(node: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Index and item of each mapping in the list ``node[key]``, skipping anything else."""
    items = get(node, key)
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield index, item


def indices(node: Any, key: str) -> range:
    """The indices of the list ``node[key]``; none if it is no list."""
    items = get(node, key)
    return range(len(items)) if isinstance(items, list) else range(0)


Found = tuple[Any, Segment, Path]  # parent, key in it, path from the document's root


def find(document: Any, segments: FieldPath) -> Iterator[Found]:
    """Every existing place ``segments`` names under ``document``, in document order."""
    yield from _find(document, segments, ())


def _find(node: Any, segments: FieldPath, at: Path) -> Iterator[Found]:
    first, rest = segments[0], segments[1:]
    for key in _keys(node, first):
        if rest:
            yield from _find(node[key], rest, (*at, key))
        else:
            yield node, key, (*at, key)


def _keys(node: Any, segment: FieldSegment) -> list[Segment]:
    """The keys or indices of ``node`` that ``segment`` names and that exist."""
    if segment is Wildcard.EVERY:
        return list(range(len(node))) if isinstance(node, list) else []
    if isinstance(segment, PointerToken):
        segment = _as_pointer_token(node, segment.text)
    return [segment] if _child(node, segment) is not MISSING else []
