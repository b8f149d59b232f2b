"""Rendering one object file: a kind's objects as the bundle's YAML, counted, and hashed
when a digest is given.

Apart from the writer so that a worker process rendering a file (``kbundle.core.apart``)
imports this alone: not the writer's archive and compression code, nor ``hashlib``, whose
OpenSSL is 4 MiB of a worker whose size counts in the export's peak. A file a worker
rendered is hashed by the writer (``add_rendered_file``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from kbundle.bundle.yaml_codec import stream_documents


@dataclass(frozen=True)
class RenderedFile:
    """What rendering one object file wrote: small enough to cross a process boundary."""

    api_version: str
    kind: str
    objects: int
    sha256: str | None  # None: not hashed as it was written
    size: int


class Digest(Protocol):
    """What rendering asks of a hash (``hashlib.sha256()``)."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


def render_object_file(
    objects: Iterable[dict[str, Any]],
    api_version: str,
    kind: str,
    path: str,
    out: Path,
    *,
    digest: Digest | None = None,
) -> RenderedFile:
    """Write one kind's objects as the bundle's YAML to ``out``, counting, and hashing into
    ``digest`` if given, as it goes; each object must be of that kind (``path`` names the
    file in errors)."""
    checked = _CheckedObjects(objects, api_version, kind, path)
    with out.open("wb") as raw:
        counting = _CountingWriter(raw, digest)
        stream_documents(checked, counting)
    sha256 = digest.hexdigest() if digest is not None else None
    return RenderedFile(api_version, kind, checked.count, sha256, counting.size)


class _CheckedObjects:
    """The objects of one file, counted and checked as they pass: an exporter mix-up is
    caught here rather than as a bundle that fails verification."""

    def __init__(self, objects: Iterable[dict[str, Any]], api_version: str, kind: str, path: str):
        self._objects = objects
        self._expected = (api_version, kind)
        self._path = path
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for obj in self._objects:
            if (obj.get("apiVersion"), obj.get("kind")) != self._expected:
                found = f"{obj.get('apiVersion')} {obj.get('kind')}"
                expected = " ".join(self._expected)
                raise ValueError(f"{self._path} holds {expected} objects, got {found}")
            self.count += 1
            yield obj


class _CountingWriter:
    """A write-only file that counts, and hashes if given a digest, what passes through to
    ``raw``."""

    def __init__(self, raw: IO[bytes], digest: Digest | None) -> None:
        self._raw = raw
        self._digest = digest
        self.size = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        if self._digest is not None:
            self._digest.update(view)
        self.size += view.nbytes
        self._raw.write(view)
        return view.nbytes
