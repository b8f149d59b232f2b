"""One object reduced to what a user set, so two versions of it compare on real differences.

The server fills in identity, bookkeeping and status on every write: two reads of an
untouched object differ there, and a bundle never carries them. They are dropped from both
sides, exactly the fields export strips (``SERVER_METADATA``), and status.
"""

from __future__ import annotations

from typing import Any

from kbundle.clean.core import drop_if_empty
from kbundle.clean.metadata import SERVER_METADATA
from kbundle.core.model import Object

__all__ = ["comparable"]

_SERVER_METADATA = frozenset(SERVER_METADATA)


def comparable(obj: Object) -> Object:
    """A deep copy of ``obj`` without status and server metadata, and without empty label
    or annotation maps (the API treats them as absent)."""
    result: Object = {}
    for key, value in obj.items():
        if key == "status":
            continue
        if key == "metadata" and isinstance(value, dict):
            metadata = {k: _copy(v) for k, v in value.items() if k not in _SERVER_METADATA}
            drop_if_empty(metadata, "annotations")
            drop_if_empty(metadata, "labels")
            result[key] = metadata
        else:
            result[key] = _copy(value)
    return result


def _copy(value: Any) -> Any:
    """Deep copy of a JSON tree, several times faster than ``copy.deepcopy``; the dropped
    fields (managedFields, status: the bulk of a live object) are never copied."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
