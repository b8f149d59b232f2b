"""Deterministic YAML for object files, and safe loading of any YAML kbundle reads.

Writing: the same objects always give the same bytes (canonical key order, no line folding,
multi-line strings as literal blocks so Secrets and scripts stay readable in a diff).
Reading: safe loaders only; values stay JSON-like (timestamps and the YAML 1.1 ``=`` scalar
load as strings, as the Kubernetes API would read them).
"""

from __future__ import annotations

from collections.abc import Sequence
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


def _make_loader() -> type[Any]:
    loader: type[Any] = type("KbundleLoader", (_BASE_LOADER,), {})
    # YAML 1.1 resolves a bare "=" to the "value" tag, which safe loaders cannot construct.
    loader.add_constructor("tag:yaml.org,2002:value", _construct_as_str)
    # Kubernetes reads unquoted timestamps as strings; datetime objects would not be JSON.
    loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_as_str)
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


def load_documents(data: bytes) -> list[dict[str, Any]]:
    """Every non-empty document, each of which must be a mapping.

    Raises ``yaml.YAMLError`` for invalid YAML and ``ValueError`` for a non-mapping document
    (documents are numbered from 1, empty ones not counted).
    """
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
