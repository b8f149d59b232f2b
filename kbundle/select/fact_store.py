"""Facts of a cluster's namespaced objects on disk, one namespace read back at a time.

An export plans one namespace at a time (``kbundle.select.by_namespace``), so the facts of
the others need not be in memory: each list's facts are written here as it ends, by
namespace, and read back when that namespace's turn comes. At 80,000 listed objects the
facts held in memory were 54 MiB; here they are the largest namespace's.

Pickle, not a format of our own: facts are small frozen dataclasses that only this process
writes and reads back, in a file deleted when it closes.
"""

from __future__ import annotations

import pickle
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from kbundle.core.spool import SpoolFile
from kbundle.select.facts import ObjectFacts

Chunk = tuple[str, list[ObjectFacts]]  # a resource key and facts of objects it listed


@dataclass(frozen=True)
class Written:
    """A chunk on disk, not yet part of its namespace (``FactStore.commit``)."""

    namespace: str
    place: int  # in the spool file
    count: int


class FactStore:
    """Chunks of facts by namespace, records of a spool file. Lists write their pages' facts
    as they go (``write``, from any thread) and commit them once the list has been read
    whole: a list read again after a failure leaves its first attempt's chunks in the file,
    where no namespace points at them."""

    def __init__(self, folder: Path | None = None) -> None:
        self._file = SpoolFile(folder)
        self._chunks: dict[str, list[int]] = defaultdict(list)
        self._lock = threading.Lock()
        self.count = 0  # facts committed

    def write(self, namespace: str, key: str, facts: list[ObjectFacts]) -> Written:
        """Put ``facts`` (objects of ``namespace`` listed by resource ``key``) on disk."""
        data = pickle.dumps((key, facts), protocol=pickle.HIGHEST_PROTOCOL)
        return Written(namespace, self._file.append_bytes(data), len(facts))

    def commit(self, written: list[Written]) -> None:
        """Make chunks part of their namespaces, after those committed before."""
        with self._lock:
            for chunk in written:
                self._chunks[chunk.namespace].append(chunk.place)
                self.count += chunk.count

    def add(self, namespace: str, key: str, facts: list[ObjectFacts]) -> None:
        """``write`` and ``commit`` at once."""
        self.commit([self.write(namespace, key, facts)])

    def namespaces(self) -> list[str]:
        """The namespaces with facts here, in order."""
        return sorted(self._chunks)

    def load(self, namespace: str) -> list[Chunk]:
        """Every chunk of ``namespace``, in the order they were committed."""
        chunks: list[Chunk] = []
        for place in self._chunks.get(namespace, ()):
            chunk: Chunk = pickle.loads(self._file.read_bytes(place))
            chunks.append(chunk)
        return chunks
