"""A sequence whose items are made from their position on each access.

The tables that stand for a whole bundle's objects (heads, outcomes, spooled objects, the
preflight's planned objects) keep columns or places, not items. This base gives each of them
indexing as a list has it (negative positions, slices, IndexError) from one ``_at``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import TypeVar, overload

T = TypeVar("T")


class Positional(Sequence[T]):
    """Subclasses give ``__len__`` and ``_at`` (a position within bounds)."""

    @abstractmethod
    def _at(self, position: int) -> T: ...

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._at(position) for position in range(*index.indices(len(self)))]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(index)
        return self._at(position)
