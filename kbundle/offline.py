"""``kbundle transform``, ``render`` and ``sign``: rewrite a verified bundle with no cluster.

``transform`` writes a new bundle (new checksums; the manifest appends the transforms that
ran). ``render`` writes plain YAML, one multi-document file per level, for GitOps or
``kubectl apply``; since nothing can rebuild ownerReferences or allocate clusterIPs there,
those are removed (and listed) the way import would handle them. Secrets go to their own
files, mode 0600. ``sign`` adds a signature and changes nothing else.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from kbundle import __version__
from kbundle.apply.prepare import clear_cluster_ips
from kbundle.bundle.layout import CHECKSUMS, MANIFEST, SIGNATURE
from kbundle.bundle.secret_encryption import is_sealed
from kbundle.bundle.writer import (
    CREATED_AT_FORMAT,
    BundleWriter,
    Signer,
    epoch_of,
    write_members,
)
from kbundle.bundle.yaml_codec import dump_documents
from kbundle.errors import UsageError
from kbundle.model import (
    FileEntry,
    LevelInfo,
    Manifest,
    Object,
    ObjectRef,
    SecretsInfo,
    group_kind,
    group_of,
    is_secret,
    secret_objects,
)
from kbundle.replay import TransformFailed, run_transforms
from kbundle.transforms.base import Rewrite, Transform, TransformContext, describe
from kbundle.verify import VerifiedBundle


@dataclass(frozen=True)
class OfflineResult:
    objects: int
    files: tuple[str, ...]
    rewrites: tuple[Rewrite, ...]
    dropped_owner_references: tuple[ObjectRef, ...] = ()


def _transformed(
    bundle: VerifiedBundle, transforms: Sequence[Transform], context: TransformContext
) -> list[tuple[FileEntry, list[Object]]]:
    """Each file's objects after the transforms; a transform failure stops everything
    (offline there is no partial result worth writing)."""
    result = []
    for entry in bundle.entries:
        objects: list[Object] = []
        for document in bundle.documents(entry):
            try:
                objects += run_transforms(document, transforms, context)
            except TransformFailed as error:
                raise UsageError(str(error)) from error
        result.append((entry, objects))
    return result


def _sort(objects: list[Object]) -> list[Object]:
    return sorted(
        objects, key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"])
    )


def transform_bundle(
    bundle: VerifiedBundle,
    transforms: Sequence[Transform],
    output: Path | BinaryIO,
    created_at: datetime.datetime,
    work: Path,
    *,
    signer: Signer | None = None,
) -> tuple[Manifest, OfflineResult]:
    """Write ``bundle`` rewritten by ``transforms`` as a new bundle at ``output``.

    Encrypted Secrets stay sealed (transforms see their metadata only), so no passphrase is
    needed; the old signature cannot survive a new manifest, hence ``signer``.
    """
    context = TransformContext(manifest=bundle.manifest)
    files = _transformed(bundle, transforms, context)
    grouped: dict[tuple[int, str, str], list[Object]] = {}
    for entry, objects in files:
        for obj in objects:
            grouped.setdefault((entry.level, obj["apiVersion"], obj["kind"]), []).append(obj)
    names = {level.number: level.name for level in bundle.manifest.levels}
    namespaced = {(e.api_version, e.kind): e.namespaced for e in bundle.entries}
    kinds_by_level: dict[int, set[str]] = {}
    with BundleWriter(output, mtime=int(created_at.timestamp()), tmp_dir=work) as writer:
        for (level, api_version, kind), objects in sorted(grouped.items()):
            writer.add_object_file(
                level=level,
                level_name=names.get(level, f"level-{level}"),
                api_version=api_version,
                kind=kind,
                namespaced=namespaced.get(
                    (api_version, kind), bool(objects[0]["metadata"].get("namespace"))
                ),
                objects=_sort(objects),
            )
            kinds_by_level.setdefault(level, set()).add(group_kind(kind, group_of(api_version)))
        _check_secrets_stay_sealed(bundle, grouped)
        manifest = replace(
            bundle.manifest,
            secrets=_recounted(bundle.manifest.secrets, writer.entries),
            tool_version=__version__,
            created_at=created_at.strftime(CREATED_AT_FORMAT),
            levels=tuple(
                LevelInfo(n, names.get(n, f"level-{n}"), tuple(sorted(k)))
                for n, k in sorted(kinds_by_level.items())
            ),
            files=writer.entries,
            transforms=(*bundle.manifest.transforms, *(describe(t) for t in transforms)),
        )
        writer.finish(manifest, signer=signer)
    total = sum(len(objects) for objects in grouped.values())
    return manifest, OfflineResult(
        total, tuple(e.path for e in manifest.files), tuple(context.rewrites)
    )


def _recounted(secrets: SecretsInfo | None, entries: Sequence[FileEntry]) -> SecretsInfo | None:
    return None if secrets is None else replace(secrets, objects=secret_objects(entries))


def _check_secrets_stay_sealed(
    bundle: VerifiedBundle, grouped: dict[tuple[int, str, str], list[Object]]
) -> None:
    """A transform cannot add a plaintext Secret to an encrypted bundle (nor the reverse)."""
    secrets = bundle.manifest.secrets
    encrypted = bundle.manifest.secrets_encrypted
    for (_, api_version, kind), objects in grouped.items():
        if not is_secret(api_version, kind):
            continue
        for obj in objects:
            if is_sealed(obj) != encrypted:
                state = "a plaintext" if encrypted else "an encrypted"
                raise UsageError(
                    f"a transform made {state} Secret {ObjectRef.of(obj)} in a bundle whose "
                    f"secrets are {secrets.mode if secrets else 'not marked'}"
                )


def sign_bundle(bundle: VerifiedBundle, signer: Signer, output: Path | BinaryIO) -> None:
    """Write ``bundle`` again with a signature: every other member stays byte for byte, so
    ``kbundle export --sign`` and ``kbundle export`` then ``kbundle sign`` give one file."""
    manifest = bundle.manifest_bytes
    members: dict[str, bytes | Path] = {
        MANIFEST: manifest,
        CHECKSUMS: bundle.root / CHECKSUMS,
        SIGNATURE: signer(manifest),
    }
    for entry in bundle.entries:
        members[entry.path] = bundle.root.joinpath(*entry.path.split("/"))
    write_members(output, members, mtime=epoch_of(bundle.manifest.created_at))


def render_bundle(
    bundle: VerifiedBundle, transforms: Sequence[Transform], folder: Path
) -> OfflineResult:
    """Write one YAML file per level (``00-crds.yaml``...) into a new or empty ``folder``."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"-o {folder}: exists and is not an empty folder")
    context = TransformContext(manifest=bundle.manifest)
    names = {level.number: level.name for level in bundle.manifest.levels}
    by_level: dict[int, list[Object]] = {}
    dropped: list[ObjectRef] = []
    for entry, objects in _transformed(bundle, transforms, context):
        for obj in objects:
            if is_sealed(obj):
                raise UsageError(f"{ObjectRef.of(obj)} is still encrypted: open the secrets first")
            prepared = clear_cluster_ips(obj)
            if prepared["metadata"].get("ownerReferences"):
                dropped.append(ObjectRef.of(prepared))
                metadata = {k: v for k, v in prepared["metadata"].items() if k != "ownerReferences"}
                prepared = {**prepared, "metadata": metadata}
            by_level.setdefault(entry.level, []).append(prepared)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for level, objects in sorted(by_level.items()):
        stem = f"{level:02d}-{names.get(level, f'level-{level}')}"
        secrets = [o for o in objects if is_secret(o["apiVersion"], o["kind"])]
        others = [o for o in objects if not is_secret(o["apiVersion"], o["kind"])]
        if secrets:
            written.append(_write_rendered(folder / f"{stem}.secrets.yaml", secrets, 0o600))
        if others:
            written.append(_write_rendered(folder / f"{stem}.yaml", others, 0o644))
    total = sum(len(objects) for objects in by_level.values())
    return OfflineResult(total, tuple(written), tuple(context.rewrites), tuple(dropped))


def _write_rendered(path: Path, objects: list[Object], mode: int) -> str:
    """One multi-document file, created with ``mode`` from the start (never chmod-ed later):
    Secret values only ever land in files their owner alone can read."""
    ordered = sorted(
        objects,
        key=lambda o: (
            o["apiVersion"],
            o["kind"],
            o["metadata"].get("namespace") or "",
            o["metadata"]["name"],
        ),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(dump_documents(ordered))
    return path.name
