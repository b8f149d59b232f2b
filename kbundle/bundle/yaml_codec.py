"""Deterministic YAML for object files, and safe loading of any YAML kbundle reads.

Writing: the same objects always give the same bytes (canonical key order, no line folding,
multi-line strings as literal blocks so Secrets and scripts stay readable in a diff).
Reading: safe loaders only; values stay JSON-like (timestamps and the YAML 1.1 ``=`` scalar
load as strings, as the Kubernetes API would read them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

# libyaml is an order of magnitude faster; the pure-Python classes give the same output.
_BASE_DUMPER: type[Any] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_BASE_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Wide enough that no scalar is ever folded; libyaml stores the width in a C int.
_NO_FOLDING = 1 << 30

_TOP_LEVEL_ORDER = ("apiVersion", "kind", "metadata", "spec", "data", "stringData")
_METADATA_ORDER = ("name", "namespace", "labels", "annotations", "ownerReferences")

_STR_TAG = "tag:yaml.org,2002:str"

# No Kubernetes object comes near these; the API server takes at most 3 MiB per request.
# libyaml's composer recurses once per nesting level and crashes the interpreter (a segfault,
# not an exception) somewhere past 20,000 levels, so depth is checked before composing.
MAX_DEPTH = 1000
MAX_DOCUMENT_SIZE = 8 << 20
_DOCUMENT_START = re.compile(rb"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_OPENERS = (b"[", b"{")
_EMPTY_FLOWS = (b"[]", b"{}")


def _represent_str(dumper: Any, data: str) -> yaml.ScalarNode:
    """Literal block style for multi-line strings; the emitter falls back when YAML forbids it."""
    style = "|" if "\n" in data else None
    node: yaml.ScalarNode = dumper.represent_scalar(_STR_TAG, data, style=style)
    return node


def _never_alias(_dumper: Any, _data: Any) -> bool:
    """Anchors and aliases make files harder to read and to check: always write values out."""
    return True


def _construct_as_str(loader: Any, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


def _make_dumper() -> type[Any]:
    dumper: type[Any] = type("KbundleDumper", (_BASE_DUMPER,), {})
    dumper.add_representer(str, _represent_str)
    dumper.ignore_aliases = _never_alias
    return dumper


def _refuse_not_json(_loader: Any, node: yaml.Node) -> None:
    """Safe loaders still build bytes (``!!binary``), sets and ordered pairs: not JSON, so
    not something the API server would receive as written."""
    raise yaml.constructor.ConstructorError(
        None, None, f"{node.tag.rsplit(':', 1)[-1]} values are not JSON", node.start_mark
    )


def _construct_finite_float(loader: Any, node: yaml.ScalarNode) -> float:
    value: float = yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value} is not a JSON number", node.start_mark
        )
    return value


def _construct_string_keyed_map(loader: Any, node: yaml.MappingNode) -> Iterator[dict[str, Any]]:
    """A mapping whose keys are all strings, each once, as in JSON: ``80:`` or ``on:`` would
    be an int or a bool key, which JSON would silently turn into another string, and tools
    disagree on which of two equal keys wins. (Also faster than the generic constructor.)"""
    data: dict[str, Any] = {}
    yield data
    for key, value in node.value:
        if key.tag != _STR_TAG:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"mapping key {key.value!r} is not a string (quote it; YAML 1.1 reads "
                "numbers and yes/no/on/off unquoted as other types)",
                key.start_mark,
            )
        if key.value in data:
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key {key.value!r} appears twice", key.start_mark
            )
        data[key.value] = loader.construct_object(value, deep=False)


def _make_loader() -> type[Any]:
    loader: type[Any] = type("KbundleLoader", (_BASE_LOADER,), {})
    # YAML 1.1 resolves a bare "=" to the "value" tag, which safe loaders cannot construct.
    loader.add_constructor("tag:yaml.org,2002:value", _construct_as_str)
    # Kubernetes reads unquoted timestamps as strings; datetime objects would not be JSON.
    loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_as_str)
    for tag in ("binary", "set", "omap", "pairs"):
        loader.add_constructor(f"tag:yaml.org,2002:{tag}", _refuse_not_json)
    loader.add_constructor("tag:yaml.org,2002:float", _construct_finite_float)
    loader.add_constructor("tag:yaml.org,2002:map", _construct_string_keyed_map)
    return loader


Dumper = _make_dumper()
Loader = _make_loader()


def _ordered(mapping: dict[Any, Any], first: Sequence[str]) -> dict[Any, Any]:
    """Keys of ``first`` in that order, then every other key alphabetically, values canonical."""
    head = [key for key in first if key in mapping]
    rest = sorted((key for key in mapping if key not in first), key=str)
    return {key: _canonical(mapping[key]) for key in head + rest}


def _canonical(value: Any) -> Any:
    """Fresh containers with sorted keys (fresh, so the dumper never sees shared nodes)."""
    if isinstance(value, dict):
        return _ordered(value, ())
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def canonical_object(obj: dict[str, Any]) -> dict[str, Any]:
    """An object with kbundle's key order: the fields people look for first, then the rest."""
    ordered = _ordered(obj, _TOP_LEVEL_ORDER)
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        ordered["metadata"] = _ordered(metadata, _METADATA_ORDER)
    return ordered


def _dump(documents: list[Any]) -> bytes:
    text: bytes = yaml.dump_all(
        documents,
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=_NO_FOLDING,
        encoding="utf-8",
    )
    return text


def dump_documents(objects: Sequence[dict[str, Any]]) -> bytes:
    """Multi-document YAML (``---`` between documents) in canonical order, byte-stable."""
    return _dump([canonical_object(obj) for obj in objects])


def dump_document(data: Any) -> bytes:
    """One document in the key order given (the manifest reads best in its own field order)."""
    return _dump([data])


def check_document_sizes(data: bytes, limit: int = MAX_DOCUMENT_SIZE) -> None:
    """Refuse a document larger than ``limit`` before parsing it (libyaml holds it whole).

    Column-0 ``---`` always starts a document in valid YAML, so the gaps between them bound
    every document's size from above.
    """
    start, number = 0, 0
    for match in [*_DOCUMENT_START.finditer(data), None]:
        end = len(data) if match is None else match.start()
        if end > start or match is None:
            number += 1
        if end - start > limit:
            raise ValueError(f"document {number} is larger than {limit >> 20} MiB")
        start = end


def check_nesting(data: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse collections nested deeper than ``limit`` without composing them.

    A cheap upper bound (open flow brackets, plus the longest run of indentation and block
    indicators that starts a line) settles almost every file; only when it exceeds the limit
    are parser events counted, which never recurses.
    """
    flows = sum(data.count(c) for c in _OPENERS) - sum(data.count(e) for e in _EMPTY_FLOWS)
    prefix = re.search(rb"^[ ?:\-]{%d}" % (limit // 2), data, re.MULTILINE)
    if flows < limit // 2 and prefix is None:
        return
    depth = 0
    for event in yaml.parse(data, Loader=_BASE_LOADER):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > limit:
                raise ValueError(f"collections nested deeper than {limit} levels")
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def load_documents(data: bytes) -> list[dict[str, Any]]:
    """Every non-empty document, each of which must be a mapping.

    Raises ``yaml.YAMLError`` for invalid YAML and ``ValueError`` for a non-mapping document
    (documents are numbered from 1, empty ones not counted), a document over
    ``MAX_DOCUMENT_SIZE`` or nesting deeper than ``MAX_DEPTH``.
    """
    check_document_sizes(data)
    check_nesting(data)
    documents: list[dict[str, Any]] = []
    for document in yaml.load_all(data, Loader=Loader):
        if document is None:
            continue
        if not isinstance(document, dict):
            number = len(documents) + 1
            raise ValueError(f"document {number} is a {_yaml_type(document)}, not a mapping")
        documents.append(document)
    return documents


def _yaml_type(value: Any) -> str:
    if isinstance(value, list):
        return "sequence"
    return "scalar"


def describe_error(error: yaml.YAMLError | ValueError) -> str:
    """One line for a user: the problem and where it is, without libyaml's source excerpt."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        return f"{problem}{where}"
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
