"""The built-in transforms, listed once, each built from its arguments by one factory.

A factory takes the mapping a rules file gives (``builtin: {name, args}``) or a flag is
turned into, and returns a ready, validated transform; it raises ``UsageError`` naming the
bad argument. Every built-in has ``name`` and ``describe() -> {"name": ..., "args": ...}``,
and ``factory(describe()["args"])`` rebuilds it. Rules files and plugins are built through
the same contract (``kbundle.transforms.catalog``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.transforms import fields, images, ips, metadata, namespaces, storage
from kbundle.transforms.base import Transform

Factory = Callable[[Mapping[str, Any]], Transform]

# In the order flags apply them (docs/transforms.md): mappings first, then edits.
BUILTINS: dict[str, Factory] = {
    namespaces.NAME: namespaces.namespace_mapping,
    ips.NAME: ips.ip_mapping,
    images.NAME: images.registry_mapping,
    storage.NAME: storage.storage_class_mapping,
    metadata.SET_LABELS: metadata.set_labels,
    metadata.REMOVE_LABELS: metadata.remove_labels,
    metadata.SET_ANNOTATIONS: metadata.set_annotations,
    metadata.REMOVE_ANNOTATIONS: metadata.remove_annotations,
    fields.REMOVE_FIELDS: fields.remove_fields,
}


def builtin(name: str, args: Mapping[str, Any]) -> Transform:
    """The built-in ``name`` made with ``args`` (UsageError for an unknown name)."""
    factory = BUILTINS.get(name)
    if factory is None:
        raise UsageError(f"no built-in transform {name!r} (have: {', '.join(names())})")
    return factory(args)


def names() -> list[str]:
    return sorted(BUILTINS)
