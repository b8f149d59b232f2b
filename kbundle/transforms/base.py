"""The transform contract: one object in, zero or more objects out, every change recorded.

Transforms run between reading a verified bundle and applying it (and, later, in
``kbundle transform`` and ``kbundle render``). They are pure: no I/O, no mutation of their
input. A transform that wants to tell the user what it changed records a ``Rewrite``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from kbundle.cluster.discovery import Discovery
from kbundle.model import Manifest, Object, ObjectRef

TransformResult = Object | list[Object] | None  # None drops the object


@dataclass(frozen=True)
class Rewrite:
    """One change a transform made, for the import report (never carries Secret data)."""

    transform: str
    ref: ObjectRef
    path: str  # where in the object, e.g. "subjects[1].namespace"
    before: str
    after: str


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

    def __call__(self, obj: Object, context: TransformContext) -> TransformResult: ...


def describe(transform: Transform) -> dict[str, Any]:
    """What a bundle's manifest records about a transform that ran on it."""
    described = getattr(transform, "describe", None)
    if callable(described):
        result: dict[str, Any] = described()
        return result
    return {"name": transform.name}
