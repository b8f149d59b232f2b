"""Strip what a source apiserver filled in, so an exported object can be applied elsewhere.

``clean_object`` is pure: it deep-copies its input, does no I/O, and gives the same result
for the same input. Every rule it runs is listed, with its reason, in
``kbundle/clean/rules.py``.
"""

from __future__ import annotations

from typing import Any

from kbundle.clean.core import CleanContext, CleanNote, CleanOptions, Rule, Target
from kbundle.clean.rules import RULES
from kbundle.core.model import Object, ObjectRef

__all__ = ["RULES", "CleanContext", "CleanNote", "CleanOptions", "Rule", "clean_object"]


def clean_object(obj: Object, context: CleanContext) -> tuple[Object, list[CleanNote]]:
    """Return a cleaned deep copy of ``obj`` and the notes the user should see about it."""
    target = Target(obj=_copy_tree(obj), original=obj, context=context, ref=ObjectRef.of(obj))
    for rule in RULES:
        if rule.applies_to(obj):
            rule.apply(target)
    return target.obj, target.notes


def _copy_tree(value: Any) -> Any:
    """Deep copy of a JSON tree (dicts, lists, scalars): what objects read from a server are.
    Several times faster than ``copy.deepcopy``, which matters at thousands of objects."""
    if isinstance(value, dict):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value
