"""The Secret-safe view of a pair of objects: key names, never values.

A diff must say that a Secret's password changed without saying what it was or became, and
a hash would not do (a short password's hash is brute-forced in seconds). So in a core
Secret every value of ``data`` and ``stringData``, and the last-applied annotation (which
repeats them in clear), is replaced on both sides by a placeholder that tells only equal,
changed, added and removed apart. ``stringData`` is folded into ``data`` first, as the API
server stores it, so a Secret written with ``stringData`` and read back as ``data`` is
unchanged. A sealed envelope (an encrypted bundle's Secret) shows as one placeholder.
"""

from __future__ import annotations

import base64
from typing import Any

from kbundle.core.fieldpath import MISSING
from kbundle.core.model import LAST_APPLIED, SEALED_FIELD, Object, is_secret_object
from kbundle.diff.changes import equal

__all__ = ["CHANGED_SECRET_VALUE", "ENCRYPTED", "SECRET_VALUE", "secret_safe"]

SECRET_VALUE = "(secret value)"
CHANGED_SECRET_VALUE = "(changed secret value)"
ENCRYPTED = "(encrypted secret values)"

_VALUE_FIELDS = ("data", "stringData")


def secret_safe(before: Object | None, after: Object | None) -> tuple[Object | None, Object | None]:
    """``before`` and ``after`` as they are, unless either is a Secret: then copies with
    every value masked (the inputs are not changed)."""
    if not any(obj is not None and is_secret_object(obj) for obj in (before, after)):
        return before, after
    old, new = _folded(before), _folded(after)
    for field in _VALUE_FIELDS:
        _mask_field(old, new, field)
    _mask_last_applied(old, new)
    for side in (old, new):
        if side is not None and SEALED_FIELD in side:
            side[SEALED_FIELD] = ENCRYPTED
    return old, new


def _folded(obj: Object | None) -> Object | None:
    """A shallow copy with ``stringData`` merged into ``data`` as base64 (its keys win, as
    on the server); a malformed pair of fields is left as it is (and masked whole)."""
    if obj is None:
        return None
    result = dict(obj)
    data, string_data = result.get("data", MISSING), result.get("stringData", MISSING)
    if isinstance(string_data, dict) and (data is MISSING or isinstance(data, dict)):
        merged = dict(data) if isinstance(data, dict) else {}
        for key, value in string_data.items():
            merged[key] = _base64(value) if isinstance(value, str) else value
        del result["stringData"]
        if merged or data is not MISSING:
            result["data"] = merged
    return result


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _placeholders(before: Any, after: Any) -> tuple[Any, Any]:
    """What each side shows for one value (``MISSING`` where it is absent)."""
    if before is MISSING or after is MISSING:
        return (
            MISSING if before is MISSING else SECRET_VALUE,
            MISSING if after is MISSING else SECRET_VALUE,
        )
    if equal(before, after):
        return SECRET_VALUE, SECRET_VALUE
    return SECRET_VALUE, CHANGED_SECRET_VALUE


def _get(obj: Object | None, key: str) -> Any:
    return MISSING if obj is None else obj.get(key, MISSING)


def _put(obj: Object | None, key: str, value: Any) -> None:
    if obj is not None and value is not MISSING:
        obj[key] = value


def _mask_field(old: Object | None, new: Object | None, field: str) -> None:
    """Mask one value map on both sides, key by key (or whole, if it is not a map)."""
    before, after = _get(old, field), _get(new, field)
    if before is MISSING and after is MISSING:
        return
    if _map_or_absent(before) and _map_or_absent(after):
        old_map = before if isinstance(before, dict) else {}
        new_map = after if isinstance(after, dict) else {}
        masked_old: dict[str, Any] = {}
        masked_new: dict[str, Any] = {}
        for key in [*old_map, *(k for k in new_map if k not in old_map)]:
            shown_old, shown_new = _placeholders(
                old_map.get(key, MISSING), new_map.get(key, MISSING)
            )
            _put(masked_old, key, shown_old)
            _put(masked_new, key, shown_new)
        _put(old, field, masked_old if before is not MISSING else MISSING)
        _put(new, field, masked_new if after is not MISSING else MISSING)
    else:
        shown_old, shown_new = _placeholders(before, after)
        _put(old, field, shown_old)
        _put(new, field, shown_new)


def _map_or_absent(value: Any) -> bool:
    return value is MISSING or isinstance(value, dict)


def _annotations(obj: Object | None) -> dict[str, Any] | None:
    """A fresh copy of ``obj``'s annotations, put back in a fresh copy of its metadata."""
    if obj is None:
        return None
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("annotations"), dict):
        return None
    annotations = dict(metadata["annotations"])
    obj["metadata"] = {**metadata, "annotations": annotations}
    return annotations


def _mask_last_applied(old: Object | None, new: Object | None) -> None:
    before, after = _annotations(old), _annotations(new)
    shown_old, shown_new = _placeholders(_get(before, LAST_APPLIED), _get(after, LAST_APPLIED))
    _put(before, LAST_APPLIED, shown_old)
    _put(after, LAST_APPLIED, shown_new)
