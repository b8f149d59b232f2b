"""Small bundles and hand-built containers shared by the bundle, reader and verify tests."""

from __future__ import annotations

import copy
import hashlib
import io
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import zstandard

from kbundle.bundle.layout import CHECKSUMS, SIGNATURE
from kbundle.bundle.writer import BundleWriter, checksums_text, created_at
from kbundle.core.model import FileEntry, LevelInfo, Manifest, SelectionInfo, SourceInfo

MTIME = 1_795_244_400  # 2026-11-21T07:00:00Z

NAMESPACES = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}]
CONFIGMAPS = [
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app", "namespace": "shop"},
        "data": {"run.sh": "#!/bin/sh\necho hi\n", "op": "="},
    },
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web", "namespace": "shop"},
        "data": {"greeting": "héllo"},
    },
]
DEPLOYMENTS = [
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
    }
]
LEVELS = (
    LevelInfo(0, "namespaces", ("Namespace",)),
    LevelInfo(6, "configuration", ("ConfigMap",)),
    LevelInfo(9, "workloads", ("Deployment.apps",)),
)


def add_sample_files(writer: BundleWriter) -> tuple[FileEntry, ...]:
    """A namespace, two config maps and a deployment, added out of level order on purpose."""
    return (
        writer.add_object_file(
            level=9,
            level_name="workloads",
            api_version="apps/v1",
            kind="Deployment",
            namespaced=True,
            objects=DEPLOYMENTS,
        ),
        writer.add_object_file(
            level=0,
            level_name="namespaces",
            api_version="v1",
            kind="Namespace",
            namespaced=False,
            objects=NAMESPACES,
        ),
        writer.add_object_file(
            level=6,
            level_name="configuration",
            api_version="v1",
            kind="ConfigMap",
            namespaced=True,
            objects=CONFIGMAPS,
        ),
    )


def sample_manifest(files: tuple[FileEntry, ...], **changes: Any) -> Manifest:
    values: dict[str, Any] = {
        "tool_version": "0.1.0",
        "created_at": created_at(MTIME),
        "source": SourceInfo("kbundle-source", "v1.31.0"),
        "selection": SelectionInfo(namespaces=("shop",)),
        "levels": LEVELS,
        "files": files,
    }
    values.update(changes)
    return Manifest(**values)


def write_sample_bundle(path: Path, mtime: int = MTIME) -> Manifest:
    with BundleWriter(path, mtime=mtime) as writer:
        manifest = sample_manifest(add_sample_files(writer))
        writer.finish(manifest)
    return manifest


def tar_bytes(bundle: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompressobj().decompress(bundle)


def tar_members(bundle: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(bundle)), mode="r:") as tar:
        return [(info, tar.extractfile(info).read()) for info in tar]  # type: ignore[union-attr]


Entry = tuple[tarfile.TarInfo, bytes | None]


def regular(name: str, data: bytes = b"x: 1\n", **pax: str) -> Entry:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.pax_headers = dict(pax)
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> Entry:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def pack_tar(members: Sequence[Entry]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def pack(members: Sequence[Entry]) -> bytes:
    """A hand-built bundle container: any members, in the order given."""
    return compress(pack_tar(members))


Members = list[Entry]  # (header, content) in archive order; content None for links


def fitted(members: Members) -> Members:
    """The same headers, each copied and with its size set to the content it now carries."""
    result: Members = []
    for info, data in members:
        header = copy.copy(info)
        header.pax_headers = dict(info.pax_headers)
        if data is not None:
            header.size = len(data)
        result.append((header, data))
    return result


def repack(members: Members) -> bytes:
    """A bundle of these members, each header fitted to its (possibly changed) content."""
    return pack(fitted(members))


def replaced(members: Members, name: str, data: bytes) -> Members:
    """``name`` with new content and its original header."""
    assert name in [info.name for info, _ in members]
    return [(info, data if info.name == name else old) for info, old in members]


def resealed(members: Members) -> Members:
    """The same members with a checksums file that matches them again (the signature, made
    after the checksums, is never listed)."""
    digests = {
        info.name: hashlib.sha256(data).hexdigest()
        for info, data in members
        if info.name not in (CHECKSUMS, SIGNATURE) and data is not None
    }
    return replaced(members, CHECKSUMS, checksums_text(digests))


def write_bundle(
    path: Path,
    levels: Sequence[tuple[int, str, Sequence[dict[str, Any]]]],
    **manifest: Any,
) -> None:
    """A bundle holding these objects, one file per kind, as a hand-made bundle would;
    ``manifest`` changes fields of its manifest (its selection names the objects'
    namespaces unless given: verification bounds them by it)."""
    held = {
        o["metadata"]["namespace"]
        for _, _, objs in levels
        for o in objs
        if o["metadata"].get("namespace")
    }
    manifest.setdefault("selection", SelectionInfo(namespaces=tuple(sorted(held)) or ("shop",)))
    with BundleWriter(path, mtime=MTIME) as writer:
        kinds_by_level: dict[tuple[int, str], set[str]] = {}
        for number, name, objects in levels:
            by_kind: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for obj in objects:
                by_kind.setdefault((obj["apiVersion"], obj["kind"]), []).append(obj)
            for (api_version, kind), group in sorted(by_kind.items()):
                writer.add_object_file(
                    level=number,
                    level_name=name,
                    api_version=api_version,
                    kind=kind,
                    namespaced=bool(group[0]["metadata"].get("namespace")),
                    objects=group,
                )
                group_name = api_version.rpartition("/")[0]
                kinds_by_level.setdefault((number, name), set()).add(
                    f"{kind}.{group_name}" if group_name else kind
                )
        levels_info = tuple(
            LevelInfo(number, name, tuple(sorted(kinds)))
            for (number, name), kinds in sorted(kinds_by_level.items())
        )
        writer.finish(sample_manifest(writer.entries, levels=levels_info, **manifest))


CANARY = "kbundle-canary-value-7f3a"  # a Secret value that must never be shown anywhere
SECRETS = [
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "type": "Opaque",
        "stringData": {"password": CANARY},
    }
]


def write_encrypted_bundle(path: Path, passphrase: bytes) -> None:
    """A namespace, a ConfigMap and SECRETS sealed with ``passphrase``, as export writes them."""
    from kbundle.bundle.secret_encryption import SecretKey  # noqa: PLC0415 - costs a KDF run
    from kbundle.core.model import SECRETS_ENCRYPTED, SecretsInfo  # noqa: PLC0415

    key, info = SecretKey.create(passphrase)
    sealed = [key.seal(secret) for secret in SECRETS]
    write_bundle(
        path,
        [(0, "namespaces", NAMESPACES), (6, "configuration", [CONFIGMAPS[0], *sealed])],
        secrets=SecretsInfo(SECRETS_ENCRYPTED, len(sealed), info.to_dict()),
    )
