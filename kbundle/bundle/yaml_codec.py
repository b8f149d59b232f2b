"""Deterministic YAML for object files, and safe loading of any YAML kbundle reads.

Writing: the same objects always give the same bytes (canonical key order, no line folding,
multi-line strings as literal blocks so Secrets and scripts stay readable in a diff).
Reading: safe loaders only; values stay JSON-like (timestamps and the YAML 1.1 ``=`` scalar
load as strings, as the Kubernetes API would read them).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

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
_CUT = re.compile(rb"\n---(?=[ \t\r\n]|\Z)")  # a document start after a line end
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
        if value.__class__ is yaml.ScalarNode and value.tag == _STR_TAG:
            data[key.value] = value.value  # what construct_object gives a string, sooner
        else:
            data[key.value] = loader.construct_object(value, deep=False)


_PLAIN_TAGS: dict[str, str] = {}  # plain scalar -> its resolved tag, for the short ones
_PLAIN_TAGS_LIMIT = 1 << 12  # a few hundred KiB at most; the recurring ones come first
_PLAIN_TAG_LENGTH = 32


def _resolve(loader: Any, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
    """``BaseResolver.resolve`` for a loader without path resolvers (kbundle's has none),
    with the tags of short plain scalars remembered: keys and values such as ``name``,
    ``true`` or ``80`` recur in every object, and resolving each anew was a fifth of parsing
    a bundle."""
    if kind is not yaml.ScalarNode:
        tag: str = (
            loader.DEFAULT_MAPPING_TAG if kind is yaml.MappingNode else loader.DEFAULT_SEQUENCE_TAG
        )
        return tag
    if not implicit[0]:
        return str(loader.DEFAULT_SCALAR_TAG)
    known = _PLAIN_TAGS.get(value)
    if known is not None:
        return known
    tag = str(loader.DEFAULT_SCALAR_TAG)
    for candidate, pattern in loader.yaml_implicit_resolvers.get(value[:1], ()):
        if pattern.match(value):
            tag = candidate
            break
    if len(value) <= _PLAIN_TAG_LENGTH and len(_PLAIN_TAGS) < _PLAIN_TAGS_LIMIT:
        _PLAIN_TAGS[value] = tag
    return tag


def _make_loader() -> type[Any]:
    loader: type[Any] = type("KbundleLoader", (_BASE_LOADER,), {"resolve": _resolve})
    # No path resolvers and no resolvers for any first character (None): what _resolve skips.
    assert not loader.yaml_path_resolvers and None not in loader.yaml_implicit_resolvers
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


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


# -- writing: YAML nodes built directly ---------------------------------------------------
#
# PyYAML's representer walks every value through generic Python dispatch and is most of an
# export's YAML time. kbundle writes JSON-like data only, so nodes are built here in one pass
# that also applies the canonical key order, and handed to libyaml's serializer. The nodes
# are exactly those SafeRepresenter (with ``_represent_str``, no aliases, block style) would
# build, so the bytes are the same: tests/unit/test_yaml_nodes.py checks it against PyYAML.

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_Node = yaml.Node
_ScalarNode = yaml.ScalarNode
_MappingNode = yaml.MappingNode
_SequenceNode = yaml.SequenceNode
_FALLBACK = Dumper(None)  # SafeRepresenter for what JSON data never holds (floats, say)


def _scalar(value: Any) -> _Node | None:
    kind = type(value)
    if kind is str:
        return _ScalarNode(_STR_TAG, value, style="|" if "\n" in value else None)
    if kind is bool:
        return _ScalarNode(_BOOL_TAG, "true" if value else "false")
    if kind is int:
        return _ScalarNode(_INT_TAG, str(value))
    if value is None:
        return _ScalarNode(_NULL_TAG, "null")
    return None


def _node(value: Any, ordered: bool) -> _Node:
    """The node of ``value``; mapping keys sorted (``ordered``) or as given."""
    node = _scalar(value)
    if node is not None:
        return node
    if isinstance(value, dict):
        keys = sorted(value, key=str) if ordered else value
        return _MappingNode(
            _MAP_TAG,
            [(_node(key, ordered), _node(value[key], ordered)) for key in keys],
            flow_style=False,
        )
    if isinstance(value, list | tuple):
        return _SequenceNode(_SEQ_TAG, [_node(item, ordered) for item in value], flow_style=False)
    fallback: _Node = _FALLBACK.represent_data(value)
    return fallback


def _mapping_node(mapping: dict[Any, Any], first: Sequence[str]) -> _Node:
    """``_ordered``'s order as a node: keys of ``first``, then the rest sorted."""
    head = [key for key in first if key in mapping]
    rest = sorted((key for key in mapping if key not in first), key=str)
    pairs = []
    for key in head + rest:
        value = mapping[key]
        if key == "metadata" and first is _TOP_LEVEL_ORDER and isinstance(value, dict):
            value_node = _mapping_node(value, _METADATA_ORDER)
        else:
            value_node = _node(value, True)
        pairs.append((_node(key, True), value_node))
    return _MappingNode(_MAP_TAG, pairs, flow_style=False)


def object_node(obj: dict[str, Any]) -> _Node:
    """The node of ``canonical_object(obj)``, built without the intermediate copy."""
    return _mapping_node(obj, _TOP_LEVEL_ORDER)


def _serialize(nodes: Iterable[_Node], stream: Writable | None = None) -> bytes | None:
    """One emitter for all documents: with a stream, each document is written as soon as it
    is emitted, so memory holds one document, not the file."""
    text: bytes | None = yaml.serialize_all(
        nodes,
        stream=stream,
        Dumper=Dumper,
        allow_unicode=True,
        width=_NO_FOLDING,
        encoding="utf-8",
    )
    return text


def dump_documents(objects: Sequence[dict[str, Any]]) -> bytes:
    """Multi-document YAML (``---`` between documents) in canonical order, byte-stable."""
    text = _serialize([object_node(obj) for obj in objects])
    assert text is not None
    return text


def stream_documents(objects: Iterable[dict[str, Any]], out: Writable) -> None:
    """``dump_documents`` written to ``out`` as the objects come: the same bytes, while only
    one object at a time is held."""
    _serialize((object_node(obj) for obj in objects), out)


def dump_document(data: Any) -> bytes:
    """One document in the key order given (the manifest reads best in its own field order)."""
    text = _serialize([_node(data, False)])
    assert text is not None
    return text


def _count_depth(events: Iterator[Any], limit: int) -> None:
    """Parser events counted, never composed: nothing recurses however deep the input."""
    depth = 0
    for event in events:
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
    _check_windows(io.BytesIO(data))
    return list(_mappings(yaml.load_all(data, Loader=Loader)))


def iter_documents(path: Path, span: Span | None = None) -> Iterator[dict[str, Any]]:
    """``load_documents`` of a file, one document at a time: the same checks and errors,
    while memory holds one document and a window of the file, never the whole file (the
    size and nesting checks read it in windows first; libyaml then parses it as a stream).
    ``span``: only the documents within these bytes (``document_spans``)."""
    with path.open("rb") as handle:
        source: _Readable = handle if span is None else _SpanReader(handle, span)
        _check_windows(source)
        source.seek(0)
        yield from _mappings(yaml.load_all(source, Loader=Loader))


Span = tuple[int, int]  # a file's bytes from the first offset up to the second


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, /) -> Any: ...


class _SpanReader:
    """A span of a file read as if it were the whole file (from 0 to its length)."""

    def __init__(self, handle: BinaryIO, span: Span) -> None:
        self._handle = handle
        self._start, self._end = span
        self._at = self._start
        handle.seek(self._start)

    def read(self, size: int = -1, /) -> bytes:
        left = self._end - self._at
        data = self._handle.read(left if size < 0 or size > left else size)
        self._at += len(data)
        return data

    def seek(self, offset: int, /) -> int:
        self._at = self._handle.seek(self._start + offset)
        return self._at - self._start


def document_spans(path: Path, about: int) -> list[Span]:
    """The file in spans of about ``about`` bytes, each but the first beginning at a
    document start (a column-0 ``---``): the spans parsed apart, by several processes,
    give the documents the whole file gives. One span when the file is short, or cannot be
    cut safely: a directive (``%YAML``, ``%TAG``) belongs to the document after it, and a
    UTF-16 or UTF-32 file says its encoding in its first bytes only."""
    size = path.stat().st_size
    if size < 2 * about:
        return [(0, size)]
    with path.open("rb") as handle:
        if not _cuttable(handle):
            return [(0, size)]
        cuts = [0]
        while 2 * (size - cuts[-1]) >= 3 * about:  # no last span over one and a half
            cut = _next_document_start(handle, cuts[-1] + about)
            if cut is None:
                break
            cuts.append(cut)
    return list(zip(cuts, [*cuts[1:], size], strict=True))


def _cuttable(handle: BinaryIO) -> bool:
    """UTF-8 (libyaml reads UTF-16 and UTF-32 only after their byte order mark) and no
    directive anywhere."""
    head = handle.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff", b"\x00\x00") or head.startswith(b"\xef\xbb\xbf%"):
        return False
    handle.seek(0)
    previous = b"\n"
    while chunk := handle.read(_WINDOW):
        if b"\n%" in previous[-1:] + chunk or b"\r%" in previous[-1:] + chunk:
            return False
        if b"\x00" in chunk:  # no UTF-8 text holds one; libyaml would refuse it anyway
            return False
        previous = chunk
    return True


def _next_document_start(handle: BinaryIO, offset: int) -> int | None:
    """Where the first column-0 ``---`` (followed by a blank or the end) at or after
    ``offset`` begins; None when there is none."""
    handle.seek(offset - 1)
    position = offset - 1  # the file's offset of chunk[0]
    tail = b""
    while True:
        chunk = handle.read(_WINDOW)
        window = tail + chunk
        for match in _CUT.finditer(window):
            if match.end() == len(window) and chunk:
                break  # what follows is in the next chunk: found again with it
            return position - len(tail) + match.start() + 1
        if not chunk:
            return None
        position += len(chunk)
        tail = window[-4:]


def _mappings(documents: Iterator[Any]) -> Iterator[dict[str, Any]]:
    number = 0
    for document in documents:
        if document is None:
            continue
        number += 1
        if not isinstance(document, dict):
            raise ValueError(f"document {number} is a {_yaml_type(document)}, not a mapping")
        yield document


_WINDOW = 1 << 20


def _windows(handle: _Readable) -> Iterator[bytes]:
    """The file in pieces of about ``_WINDOW`` bytes, each ending at a line end (or the end
    of the file), so line-anchored patterns and ``[]`` pairs never straddle two pieces."""
    pending: list[bytes] = []  # the start of a line that began in an earlier piece
    pending_size = 0
    while True:
        chunk = handle.read(_WINDOW)
        if not chunk:
            if pending:
                yield b"".join(pending)
            return
        cut = chunk.rfind(b"\n") + 1
        if cut == 0 and pending_size + len(chunk) <= MAX_DOCUMENT_SIZE:
            pending.append(chunk)
            pending_size += len(chunk)
            continue
        if cut == 0:  # one line longer than a document may be: the size check will refuse it
            cut = len(chunk)
        pending.append(chunk[:cut])
        yield b"".join(pending)
        pending, pending_size = [chunk[cut:]], len(chunk) - cut


def _check_windows(handle: _Readable) -> None:
    """Refuse a document larger than ``MAX_DOCUMENT_SIZE`` or collections nested deeper than
    ``MAX_DEPTH`` before anything is composed (libyaml holds a document whole, and its
    composer recurses once per level: a segfault somewhere past 20,000), reading the input
    in windows.

    Column-0 ``---`` always starts a document in valid YAML, so the gaps between them bound
    every document's size from above. For depth, a cheap upper bound (open flow brackets,
    plus the longest run of indentation and block indicators that starts a line) settles
    almost every file; only when it exceeds the limit are parser events counted, which never
    recurses."""
    start = position = 0
    number = 0
    flows = 0
    deep_prefix = False
    prefix = re.compile(rb"^[ ?:\-]{%d}" % (MAX_DEPTH // 2), re.MULTILINE)
    for window in _windows(handle):
        for match in _DOCUMENT_START.finditer(window):
            end = position + match.start()
            if end > start:
                number += 1
            if end - start > MAX_DOCUMENT_SIZE:
                raise ValueError(f"document {number} is larger than {MAX_DOCUMENT_SIZE >> 20} MiB")
            start = end
        position += len(window)
        flows += sum(window.count(c) for c in _OPENERS) - sum(window.count(e) for e in _EMPTY_FLOWS)
        deep_prefix = deep_prefix or prefix.search(window) is not None
    if position - start > MAX_DOCUMENT_SIZE:
        raise ValueError(f"document {number + 1} is larger than {MAX_DOCUMENT_SIZE >> 20} MiB")
    if flows < MAX_DEPTH // 2 and not deep_prefix:
        return
    handle.seek(0)
    _count_depth(yaml.parse(handle, Loader=_BASE_LOADER), MAX_DEPTH)


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
