"""A unified diff of two objects as kbundle writes them, like ``kubectl diff`` shows.

Both sides are dumped the way bundle files are (``kbundle.bundle.yaml_codec``: apiVersion,
kind and metadata first, then keys in alphabetical order, multi-line strings as literal
blocks), so a change of key order is no change and a changed script reads line by line.
"""

from __future__ import annotations

import difflib

from kbundle.bundle.yaml_codec import dump_documents
from kbundle.core.model import Object

__all__ = ["CONTEXT_LINES", "unified"]

CONTEXT_LINES = 3


def unified(
    before: Object | None, after: Object | None, before_label: str, after_label: str
) -> str:
    """Plain text (no colour): ``--- before_label`` / ``+++ after_label`` and the hunks; a
    missing side is empty, so a new object shows whole as added; "" when both are equal."""
    old, new = _lines(before), _lines(after)
    if old == new:
        return ""
    return "".join(difflib.unified_diff(old, new, before_label, after_label, n=CONTEXT_LINES))


def _lines(obj: Object | None) -> list[str]:
    if obj is None:
        return []
    return dump_documents([obj]).decode("utf-8").splitlines(keepends=True)
