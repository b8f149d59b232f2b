"""How import treats preflight's findings (light: the CLI reads it at start-up)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PreflightMode"]


class PreflightMode(StrEnum):
    """``import --preflight``: findings first and the import goes on (warn), blockers stop
    it before the first write (strict), or no checks at all (off)."""

    WARN = "warn"
    STRICT = "strict"
    OFF = "off"
