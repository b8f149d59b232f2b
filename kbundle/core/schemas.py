"""The JSON Schemas kbundle ships (``schemas/`` at the repository root, linked into the
package as ``kbundle/schemas`` so installed copies carry them)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from kbundle.core.errors import KbundleError

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


@functools.cache
def packaged_schema(name: str) -> dict[str, Any]:
    """One schema by file name, read once."""
    path = SCHEMAS / name
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KbundleError(
            f"the schema {name} is missing: {path}",
            hint="reinstall kbundle: the package ships its schemas",
        ) from None
    return schema
