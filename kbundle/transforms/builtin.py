"""The built-in transforms a user asks for with flags, in the order they run."""

from __future__ import annotations

from collections.abc import Sequence

from kbundle.transforms.base import Transform
from kbundle.transforms.namespaces import NamespaceMapping, parse_namespace_mappings


def build_import_transforms(*, namespace_mappings: Sequence[str] = ()) -> list[Transform]:
    """Transforms for ``--map-namespace`` (validated: a bad flag is a UsageError)."""
    transforms: list[Transform] = []
    mapping = parse_namespace_mappings(namespace_mappings)
    if mapping:
        transforms.append(NamespaceMapping(mapping))
    return transforms
