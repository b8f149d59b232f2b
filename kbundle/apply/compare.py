"""Is what a bundle asks for already true of the live object?

The apiserver adds defaults and controllers add fields, so "already satisfied" means every
field the intended object sets is present in the live one with the same value. When it
holds, import sends nothing: no write, no resourceVersion change, and a re-import of an
unchanged bundle costs a few list requests. When it does not hold (drift, or lists the
server extended), server-side apply decides, and an unchanged resourceVersion afterwards
still reports "unchanged".
"""

from __future__ import annotations

from typing import Any


def satisfied_by(intended: Any, live: Any) -> bool:
    """Every value ``intended`` sets is in ``live`` (lists must match item by item)."""
    if isinstance(intended, dict):
        return isinstance(live, dict) and all(
            key in live and satisfied_by(value, live[key]) for key, value in intended.items()
        )
    if isinstance(intended, list):
        return (
            isinstance(live, list)
            and len(intended) == len(live)
            and all(satisfied_by(a, b) for a, b in zip(intended, live, strict=True))
        )
    return bool(intended == live and type(intended) is type(live))
