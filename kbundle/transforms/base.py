"""The transform contract: one object in, zero or more objects out, every change recorded.

Transforms run between reading a verified bundle and applying it (``kbundle import`` and
``clone``), or writing it again (``kbundle transform`` and ``render``). They are pure: no I/O,
no mutation of their input. A transform that wants to tell the user what it changed records
a ``Rewrite``. This module is the plugin API: ``Transform``, ``TransformContext``,
``TransformOutput`` and ``Rewrite``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kbundle.core.model import Manifest, Object, ObjectRef, Rewrite

if TYPE_CHECKING:
    from kbundle.cluster.discovery import Discovery

__all__ = [
    "ABSENT",
    "SECRET_VALUE",
    "Rewrite",
    "Transform",
    "TransformContext",
    "TransformOutput",
    "describe",
]

TransformOutput = Object | list[Object] | None  # None drops the object

# What a Rewrite shows in place of a value: none there (the before of an added field, the
# after of a removed one), or one that could hold a Secret's data.
ABSENT = "(absent)"
SECRET_VALUE = "(secret value)"


@dataclass
class TransformContext:
    """What a transform may know besides the object: the bundle's manifest, and the
    destination's discovery when connected (``None`` offline: transform, render)."""

    manifest: Manifest | None = None
    discovery: Discovery | None = None
    rewrites: list[Rewrite] = field(default_factory=list)

    def record(self, transform: str, ref: ObjectRef, path: str, before: str, after: str) -> None:
        self.rewrites.append(Rewrite(transform, ref, path, before, after))


class Transform(Protocol):
    """A named step; ``name`` appears in errors and in the report."""

    @property
    def name(self) -> str: ...

    def __call__(self, obj: Object, context: TransformContext) -> TransformOutput: ...


def describe(transform: Transform) -> dict[str, Any]:
    """What a bundle's manifest records about a transform that ran on it."""
    described = getattr(transform, "describe", None)
    if callable(described):
        result: dict[str, Any] = described()
        return result
    return {"name": transform.name}
