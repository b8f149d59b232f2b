"""Facts of a cluster's namespaced objects on disk, one namespace read back at a time.

An export plans one namespace at a time (``kbundle.select.by_namespace``), so the facts of
the others need not be in memory: each list's facts are written here as it ends, by
namespace, and read back when that namespace's turn comes. At 80,000 listed objects the
facts held in memory were 54 MiB; here they are the largest namespace's.

Pickle, not a format of our own: facts are small frozen dataclasses that only this process
writes and reads back, in a file deleted when it closes.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections import defaultdict
from pathlib import Path

from kbundle.select.facts import ObjectFacts

Chunk = tuple[str, list[ObjectFacts]]  # a resource key and facts of objects it listed


class FactStore:
    """Chunks of facts by namespace, appended to one temporary file (not thread-safe: the
    thread that gathers the lists writes them)."""

    def __init__(self, folder: Path | None = None) -> None:
        self._file = tempfile.TemporaryFile(prefix="kbundle-facts-", dir=folder)  # noqa: SIM115 (owned)
        self._fd = self._file.fileno()
        self._size = 0
        self._chunks: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.count = 0  # facts written

    def add(self, namespace: str, key: str, facts: list[ObjectFacts]) -> None:
        """Keep ``facts`` (objects of ``namespace`` listed by resource ``key``) on disk."""
        data = pickle.dumps((key, facts), protocol=pickle.HIGHEST_PROTOCOL)
        os.pwrite(self._fd, data, self._size)
        self._chunks[namespace].append((self._size, len(data)))
        self._size += len(data)
        self.count += len(facts)

    def namespaces(self) -> list[str]:
        """The namespaces with facts here, in order."""
        return sorted(self._chunks)

    def load(self, namespace: str) -> list[Chunk]:
        """Every chunk of ``namespace``, in the order they were added."""
        chunks: list[Chunk] = []
        for offset, length in self._chunks.get(namespace, ()):
            chunk: Chunk = pickle.loads(os.pread(self._fd, length, offset))
            chunks.append(chunk)
        return chunks

    def close(self) -> None:
        self._file.close()
