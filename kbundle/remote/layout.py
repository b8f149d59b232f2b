"""Bundles in an OCI image layout (image-spec ``image-layout.md``): a folder, or an
uncompressed ``.tar`` of one, for carrying a bundle across an air gap and into the registry
on the other side with standard tools (``oras cp --from-oci-layout PATH:TAG``,
``skopeo copy oci:PATH:TAG`` or ``oci-archive:FILE.tar:TAG``).

A layout holds ``oci-layout`` (``{"imageLayoutVersion": "1.0.0"}``), ``index.json`` (an
image index whose manifest descriptors carry their tag in
``org.opencontainers.image.ref.name``) and ``blobs/sha256/<hex>``. A push adds or replaces
one tag and keeps every other; blobs are written first and ``index.json`` last, each by an
atomic rename, so an interrupted push leaves no tag pointing at a half-written artifact.
A ``.tar`` is rewritten whole (streamed, member by member) and renamed into place.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kbundle.core.model import ProgressCallback
from kbundle.remote.artifact import (
    ANNOTATION_REF_NAME,
    ARTIFACT_TYPE,
    MAX_OCI_MANIFEST_BYTES,
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST,
    Descriptor,
)
from kbundle.remote.blobs import (
    CHUNK,
    BlobCheck,
    describe_file,
    read_chunks,
    receive,
    receive_bytes,
)
from kbundle.remote.errors import NotFound, RemoteError
from kbundle.remote.refs import LayoutRef

__all__ = ["LayoutSource", "is_tarball", "open_layout", "push_layout", "updated_index"]

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
LAYOUT_VERSION = "1.0.0"
LAYOUT_DOC = json.dumps({"imageLayoutVersion": LAYOUT_VERSION}).encode()
MAX_INDEX_BYTES = 4 * 1024 * 1024
MAX_TAR_MEMBERS = 100_000  # a hostile tarball's headers are read before anything else
_BLOB_NAME = re.compile(r"blobs/sha256/[0-9a-f]{64}")

Content = Path | bytes  # a blob to write: a file, or bytes in memory (small ones)


def is_tarball(path: Path) -> bool:
    """A layout tarball: an existing file, or a path to be created ending in ``.tar``."""
    return path.is_file() or (not path.exists() and path.suffix == ".tar")


def blob_name(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/", 1)


# -- index.json ---------------------------------------------------------------------------


def parse_index(raw: bytes, where: str) -> dict[str, Any]:
    """``index.json`` as a dict, with the fields kbundle relies on checked."""
    try:
        doc = json.loads(raw)
    except ValueError:
        raise RemoteError(f"{where}: {INDEX_FILE} is not JSON") from None
    if (
        not isinstance(doc, dict)
        or doc.get("schemaVersion") != 2
        or not isinstance(doc.get("manifests", []), list)
    ):
        raise RemoteError(f"{where}: {INDEX_FILE} is not an OCI image index (schemaVersion 2)")
    return doc


def updated_index(index: Mapping[str, Any] | None, manifest: Descriptor, tag: str) -> bytes:
    """``index.json`` with ``tag`` pointing at ``manifest``: every other entry (other tags,
    untagged manifests, other fields) kept as it was, an earlier entry of ``tag`` dropped."""
    doc = dict(index or {"schemaVersion": 2})
    doc.setdefault("mediaType", MEDIA_TYPE_OCI_INDEX)
    kept = [
        entry
        for entry in doc.get("manifests", [])
        if not (isinstance(entry, dict) and _tag_of(entry) == tag)
    ]
    kept.append(
        {
            "mediaType": MEDIA_TYPE_OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "digest": manifest.digest,
            "size": manifest.size,
            "annotations": {ANNOTATION_REF_NAME: tag},
        }
    )
    doc["manifests"] = kept
    return json.dumps(doc, indent=2).encode() + b"\n"


def find_tag(index: Mapping[str, Any], tag: str, where: str) -> Descriptor:
    """The manifest descriptor tagged ``tag``: exactly one, or NotFound naming the tags."""
    entries = [e for e in index.get("manifests", []) if isinstance(e, dict)]
    found = [e for e in entries if _tag_of(e) == tag]
    if not found:
        tags = sorted({t for t in (_tag_of(e) for e in entries) if t})
        have = f"it has {', '.join(tags)}" if tags else "it has no tags"
        raise NotFound(f"{where}: no tag {tag!r} in the layout ({have})")
    if len(found) > 1:
        raise RemoteError(f"{where}: the layout has {len(found)} manifests tagged {tag!r}")
    return Descriptor.from_dict(found[0], where)


def _tag_of(entry: Mapping[str, Any]) -> str | None:
    annotations = entry.get("annotations")
    tag = annotations.get(ANNOTATION_REF_NAME) if isinstance(annotations, dict) else None
    return tag if isinstance(tag, str) else None


# -- reading ------------------------------------------------------------------------------


@dataclass
class LayoutSource:
    """A layout opened for reading: a folder, or a tarball read member by member."""

    ref: LayoutRef
    _tar: tarfile.TarFile | None = None
    _members: dict[str, tarfile.TarInfo] | None = None

    def get_manifest(self) -> tuple[bytes, str]:
        """The tagged manifest's bytes and digest, checked against the index."""
        where = str(self.ref)
        index = parse_index(self._read_small(INDEX_FILE, MAX_INDEX_BYTES, where), where)
        descriptor = find_tag(index, self.ref.tag, where)
        if descriptor.size > MAX_OCI_MANIFEST_BYTES:
            raise RemoteError(f"{where}: the manifest is larger than 4 MiB: not a bundle")
        with self.blob_chunks(descriptor) as chunks:
            raw = receive_bytes(chunks, descriptor, where)
        return raw, descriptor.digest

    @contextlib.contextmanager
    def blob_chunks(self, blob: Descriptor) -> Iterator[Iterator[bytes]]:
        name = blob_name(blob.digest)
        with self._open(name) as handle:
            yield iter(lambda: handle.read(CHUNK), b"")

    def blob_names(self) -> list[str]:
        """The blobs of a tarball layout (what a rewrite copies across)."""
        return [name for name in self._members or {} if _BLOB_NAME.fullmatch(name)]

    def copy_blobs_into(self, out: tarfile.TarFile) -> dict[str, Any]:
        """Copy a tarball layout's blobs into ``out``; its index, to be updated."""
        where = str(self.ref)
        index = parse_index(self._read_small(INDEX_FILE, MAX_INDEX_BYTES, where), where)
        for name in self.blob_names():
            member = (self._members or {})[name]
            with self._open(name) as handle:
                info = tarfile.TarInfo(name)
                info.mode, info.mtime, info.size = 0o644, 0, member.size
                out.addfile(info, handle)
        return index

    def _read_small(self, name: str, limit: int, where: str) -> bytes:
        with self._open(name) as handle:
            raw = handle.read(limit + 1)
        if len(raw) > limit:
            raise RemoteError(f"{where}: {name} is larger than {limit} bytes")
        return raw

    @contextlib.contextmanager
    def _open(self, name: str) -> Iterator[IO[bytes]]:
        if self._members is None:
            path = self.ref.path / name
            if not path.is_file():
                raise NotFound(f"{self.ref}: the layout has no {name}")
            with path.open("rb") as handle:
                yield handle
            return
        member = self._members.get(name)
        extracted = self._tar.extractfile(member) if self._tar and member else None
        if extracted is None:
            raise NotFound(f"{self.ref}: the layout tarball has no {name}")
        with extracted:
            yield extracted


@contextlib.contextmanager
def open_layout(ref: LayoutRef) -> Iterator[LayoutSource]:
    """Open a layout folder or tarball for reading; NotFound when there is none."""
    path = ref.path
    if not path.exists():
        raise NotFound(f"{ref}: no OCI layout at {path}")
    if path.is_dir():
        if not (path / LAYOUT_FILE).is_file():
            raise NotFound(f"{ref}: {path} is not an OCI layout (no {LAYOUT_FILE} file)")
        yield LayoutSource(ref)
        return
    try:
        # an OCI archive is an uncompressed tar; closed by the ``with`` below
        archive = tarfile.open(path, "r:")  # noqa: SIM115
    except (tarfile.TarError, OSError) as error:
        raise RemoteError(f"{ref}: {path} is not an OCI layout tarball ({error})") from None
    with archive:
        members: dict[str, tarfile.TarInfo] = {}
        for count, member in enumerate(archive, 1):
            if count > MAX_TAR_MEMBERS:
                raise RemoteError(f"{ref}: {path} has more than {MAX_TAR_MEMBERS} members")
            if member.isfile():
                members[_normalized(member.name)] = member
        if LAYOUT_FILE not in members:
            raise NotFound(f"{ref}: {path} is not an OCI layout tarball (no {LAYOUT_FILE})")
        yield LayoutSource(ref, archive, members)


def _normalized(name: str) -> str:
    return name[2:] if name.startswith("./") else name


# -- writing ------------------------------------------------------------------------------


def push_layout(
    ref: LayoutRef,
    manifest_raw: bytes,
    blobs: Sequence[tuple[Descriptor, Content]],
    progress: ProgressCallback | None = None,
) -> str:
    """Write ``blobs`` (in order), then the manifest, then the tag; the manifest digest."""
    manifest = Descriptor.of_bytes(manifest_raw, MEDIA_TYPE_OCI_MANIFEST)
    everything = [*blobs, (manifest, manifest_raw)]
    if is_tarball(ref.path):
        _push_tarball(ref, everything, manifest, progress)
    else:
        _push_folder(ref, everything, manifest, progress)
    return manifest.digest


def _push_folder(
    ref: LayoutRef,
    blobs: Sequence[tuple[Descriptor, Content]],
    manifest: Descriptor,
    progress: ProgressCallback | None,
) -> None:
    root, where = ref.path, str(ref)
    if root.is_dir() and any(root.iterdir()) and not (root / LAYOUT_FILE).is_file():
        raise RemoteError(
            f"{where}: {root} is a folder but not an OCI layout (no {LAYOUT_FILE} file)",
            hint="name a new or empty folder, or an existing layout",
        )
    index: dict[str, Any] | None = None
    if (root / INDEX_FILE).is_file():
        index = parse_index((root / INDEX_FILE).read_bytes(), where)
    _check_layout_file(root / LAYOUT_FILE, where)
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    if not (root / LAYOUT_FILE).is_file():
        _write_atomic(root / LAYOUT_FILE, LAYOUT_DOC)
    for blob, content in blobs:
        target = root / blob_name(blob.digest)
        if target.is_file() and _holds(target, blob):
            continue
        receive(_chunks(content), blob, target, where, progress)
    _write_atomic(root / INDEX_FILE, updated_index(index, manifest, ref.tag))


def _push_tarball(
    ref: LayoutRef,
    blobs: Sequence[tuple[Descriptor, Content]],
    manifest: Descriptor,
    progress: ProgressCallback | None,
) -> None:
    """A new tarball beside the old one: ``oci-layout``, the old blobs copied across, the
    new ones added, ``index.json`` last; then renamed over the old one."""
    path, where = ref.path, str(ref)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with contextlib.ExitStack() as stack:
            old = stack.enter_context(open_layout(ref)) if path.exists() else None
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            raw = stack.enter_context(os.fdopen(fd, "wb"))
            stack.callback(_sync, raw)  # after the tar's end blocks, before the close
            out = stack.enter_context(
                tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT)
            )
            _add(out, LAYOUT_FILE, LAYOUT_DOC)
            _add_dir(out, "blobs/")
            _add_dir(out, "blobs/sha256/")
            index = old.copy_blobs_into(out) if old is not None else None
            written = set(old.blob_names()) if old is not None else set()
            for blob, content in blobs:
                name = blob_name(blob.digest)
                if name not in written:
                    _add_checked(out, name, blob, content, where=where, progress=progress)
                    written.add(name)
            _add(out, INDEX_FILE, updated_index(index, manifest, ref.tag))
        partial.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise


def _sync(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _add(out: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime, info.size = 0o644, 0, len(content)
    out.addfile(info, io.BytesIO(content))


def _add_dir(out: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
    out.addfile(info)


class _CheckedReader:
    """A blob's content for ``tarfile.addfile``, hashed as the tar copies it."""

    def __init__(
        self, source: IO[bytes], check: BlobCheck, what: str, progress: ProgressCallback | None
    ) -> None:
        self.source, self.check, self.what, self.progress = source, check, what, progress

    def read(self, amount: int = -1) -> bytes:
        block = self.source.read(amount)
        self.check.update(block)
        if self.progress is not None and block:
            self.progress(self.check.size, self.check.expected.size, self.what)
        return block


def _add_checked(
    out: tarfile.TarFile,
    name: str,
    blob: Descriptor,
    content: Content,
    *,
    where: str,
    progress: ProgressCallback | None,
) -> None:
    """Add a blob, hashing it as it is copied: a file that changed since it was described
    fails the push instead of landing under a digest it does not have."""
    check = BlobCheck(blob, where)
    with contextlib.ExitStack() as stack:
        handle: IO[bytes] = (
            io.BytesIO(content)
            if isinstance(content, bytes)
            else stack.enter_context(content.open("rb"))
        )
        info = tarfile.TarInfo(name)
        info.mode, info.mtime, info.size = 0o644, 0, blob.size
        reader = _CheckedReader(handle, check, blob.label, progress)
        try:
            out.addfile(info, reader)
        except OSError:  # tarfile's "unexpected end of data": shorter than described
            check.finish()
            raise
        if handle.read(1):
            check.update(b"x")  # longer than described
        check.finish()


def _chunks(content: Content) -> Iterator[bytes]:
    if isinstance(content, bytes):
        yield content
    else:
        yield from read_chunks(content)


def _holds(path: Path, blob: Descriptor) -> bool:
    """Whether a blob already in the layout is the right one (re-hashed, not trusted)."""
    return path.stat().st_size == blob.size and describe_file(path, "").digest == blob.digest


def _check_layout_file(path: Path, where: str) -> None:
    if not path.is_file():
        return
    try:
        version = json.loads(path.read_bytes()).get("imageLayoutVersion")
    except (ValueError, AttributeError):
        version = None
    if version != LAYOUT_VERSION:
        raise RemoteError(f"{where}: {path} is not an OCI layout of version {LAYOUT_VERSION}")


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with partial.open("wb") as handle:
            handle.write(data)
            _sync(handle)
        partial.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
