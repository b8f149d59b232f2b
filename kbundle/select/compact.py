"""Small, shared values for facts: a cluster's worth of facts stays in memory while it is read.

Equal values are stored once (the label sets of a Deployment's pods, the references of every
workload in a namespace, a ConfigMap and each ref naming it), and a label set is one flat
tuple rather than a dict: at 80,000 listed objects a dict per label set, and the tuple that
keyed its sharing, were 7 MiB of the export's peak.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from kbundle.core.model import ObjectRef


class _Table:
    values: dict[Any, Any] | None = None  # None: not sharing (outside a cluster read)


_SHARED = _Table()
# Entries; past it the table starts afresh (sharing is only a saving). Small: the table keeps
# what it shares alive, and an export keeps the facts of most objects on disk, not here.
_SHARED_LIMIT = 1 << 14


@contextlib.contextmanager
def sharing() -> Iterator[None]:
    """Share equal values while a cluster is read; the table (megabytes at cluster scale)
    goes when the read is done, and values already shared stay shared. Outside, facts are
    made one at a time (a preflight's) and nothing is kept. Sharing is only a saving: two
    reads at once in one process share less, never wrongly."""
    _SHARED.values = {}
    try:
        yield
    finally:
        _SHARED.values = None


def shared(value: Any) -> Any:
    """One instance per distinct (hashable) value while sharing; else ``value`` itself."""
    table = _SHARED.values
    if table is None:
        return value
    if len(table) >= _SHARED_LIMIT:
        table.clear()
    return table.setdefault(value, value)


def shared_ref(ref: ObjectRef) -> ObjectRef:
    """``ref`` with interned group, kind and namespace, one instance per distinct ref."""
    one: ObjectRef = shared(ref.interned())
    return one


class Labels(Mapping[str, str]):
    """An immutable label set kept as one flat ``(key, value, key, value...)`` tuple. Label
    sets are small, so a lookup scans; equal to any mapping with the same items."""

    __slots__ = ("_flat",)

    def __init__(self, flat: tuple[str, ...] = ()) -> None:
        self._flat = flat

    def __getitem__(self, key: str) -> str:
        flat = self._flat
        for at in range(0, len(flat), 2):
            if flat[at] == key:
                return flat[at + 1]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._flat[::2])

    def __len__(self) -> int:
        return len(self._flat) // 2

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._flat == other._flat
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Labels, self._flat))

    def __repr__(self) -> str:
        return f"Labels({dict(self.items())!r})"


NO_LABELS = Labels()

Uid = str | int  # int: a UUID, as a number (compact_uid)


# Set on every compact UID: it is never 0 (false), even for the nil UUID.
_MARK = 1 << 128


def compact_uid(value: Any) -> Uid:
    """A UID as one int when it is a UUID as Kubernetes writes them (lowercase, with
    hyphens), 48 bytes in memory rather than 85 as text (or 64 as its 16 bytes); any other
    text as it is. Two compact UIDs are equal exactly when their texts are."""
    text = str(value or "")
    if len(text) != 36:
        return text
    digits = text.replace("-", "")
    try:
        number = int(digits, 16)
    except ValueError:
        return text
    uid = number | _MARK
    if _uuid_text(uid) != text:  # upper case, signs, underscores, misplaced hyphens
        return text
    return uid


def uid_text(uid: Uid) -> str:
    """The UID as the apiserver writes it."""
    return _uuid_text(uid) if isinstance(uid, int) else uid


def _uuid_text(uid: int) -> str:
    digits = f"{uid ^ _MARK:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def labels_of(labels: Any) -> Labels:
    """Labels as a shared, never-mutated mapping (facts are frozen), keys and values interned
    (a handful of distinct keys and values recur across a cluster)."""
    if not labels:
        return NO_LABELS
    flat = tuple(sys.intern(str(part)) for pair in labels.items() for part in pair)
    one: Labels = shared(Labels(flat))
    return one
