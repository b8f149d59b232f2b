"""``kbundle transform`` and ``kbundle render``: rewrite a verified bundle with no cluster.

``transform`` writes a new bundle (new checksums; the manifest appends the transforms that
ran). ``render`` writes plain YAML, one multi-document file per level, for GitOps or
``kubectl apply``; since nothing can rebuild ownerReferences or allocate clusterIPs there,
those are removed (and listed) the way import would handle them.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from kbundle import __version__
from kbundle.apply.prepare import clear_cluster_ips
from kbundle.bundle.writer import BundleWriter
from kbundle.bundle.yaml_codec import dump_documents
from kbundle.errors import UsageError
from kbundle.model import FileEntry, LevelInfo, Manifest, Object, ObjectRef, group_kind, group_of
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
) -> tuple[Manifest, OfflineResult]:
    """Write ``bundle`` rewritten by ``transforms`` as a new bundle at ``output``."""
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
        manifest = replace(
            bundle.manifest,
            tool_version=__version__,
            created_at=created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            levels=tuple(
                LevelInfo(n, names.get(n, f"level-{n}"), tuple(sorted(k)))
                for n, k in sorted(kinds_by_level.items())
            ),
            files=writer.entries,
            transforms=(*bundle.manifest.transforms, *(describe(t) for t in transforms)),
        )
        writer.finish(manifest)
    total = sum(len(objects) for objects in grouped.values())
    return manifest, OfflineResult(
        total, tuple(e.path for e in manifest.files), tuple(context.rewrites)
    )


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
            prepared = clear_cluster_ips(obj)
            if prepared["metadata"].get("ownerReferences"):
                dropped.append(ObjectRef.of(prepared))
                metadata = {k: v for k, v in prepared["metadata"].items() if k != "ownerReferences"}
                prepared = {**prepared, "metadata": metadata}
            by_level.setdefault(entry.level, []).append(prepared)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for level, objects in sorted(by_level.items()):
        path = folder / f"{level:02d}-{names.get(level, f'level-{level}')}.yaml"
        ordered = sorted(
            objects,
            key=lambda o: (
                o["apiVersion"],
                o["kind"],
                o["metadata"].get("namespace") or "",
                o["metadata"]["name"],
            ),
        )
        path.write_bytes(dump_documents(ordered))
        written.append(path.name)
    total = sum(len(objects) for objects in by_level.values())
    return OfflineResult(total, tuple(written), tuple(context.rewrites), tuple(dropped))
