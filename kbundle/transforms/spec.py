"""A transform as asked for, before anything is loaded (light: the CLI builds these)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RULES = "rules"  # args: {"file": PATH}
PLUGIN = "plugin"  # args: {"name": ENTRY_POINT_NAME or "package.module:callable"}


@dataclass(frozen=True)
class TransformSpec:
    """One transform: a built-in's name (``map-namespace``...), ``rules`` or ``plugin``, with
    the arguments its factory takes (``kbundle.transforms.catalog``)."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
