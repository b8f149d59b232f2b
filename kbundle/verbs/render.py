"""``kbundle render``: a bundle as plain YAML, one file per level, for GitOps or
``kubectl apply``.

Nothing can rebuild ownerReferences or allocate clusterIPs there, so those are removed (and
listed) the way import would handle them. Secrets go to their own files, created mode 0600.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kbundle.apply.prepare import clear_cluster_ips
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.trust import ReadyBundle, TrustPolicy
from kbundle.bundle.yaml_codec import dump_documents
from kbundle.core.errors import UsageError
from kbundle.core.model import Object, ObjectRef, Rewrite, is_secret
from kbundle.core.scratch import scratch_folder
from kbundle.select.selection import Selection
from kbundle.transforms.base import Transform, TransformContext
from kbundle.transforms.catalog import TransformRequest, build_transforms
from kbundle.transforms.runner import run_transforms
from kbundle.verbs.common import BundleSource, ready_bundle
from kbundle.verbs.inbound import check_selection, chosen_objects


@dataclass(frozen=True)
class RenderOptions:
    """``kbundle render``: which bundle, checked and rewritten how, into which folder."""

    bundle: BundleSource
    folder: Path  # new or empty
    transforms: Sequence[TransformRequest] = ()
    require_signature: tuple[Path, ...] = ()
    passphrase: PassphraseSource = PassphraseSource()  # read only for encrypted Secrets
    selection: Selection = Selection()  # of the bundle's objects, before transforms


@dataclass(frozen=True)
class RenderResult:
    objects: int
    files: tuple[str, ...]  # names inside the folder, in apply order
    rewrites: tuple[Rewrite, ...]
    dropped_owner_references: tuple[ObjectRef, ...]


def render(options: RenderOptions) -> RenderResult:
    """Write one YAML file per level (``00-crds.yaml``...) into a new or empty folder."""
    transforms = build_transforms(options.transforms)
    check_selection(options.selection)
    with scratch_folder("kbundle-render-") as work:
        ready = ready_bundle(
            options.bundle, work, TrustPolicy(options.require_signature, options.passphrase)
        )
        return render_ready(ready, transforms, options.folder, options.selection)


def render_ready(
    ready: ReadyBundle,
    transforms: Sequence[Transform],
    folder: Path,
    selection: Selection = Selection(),
) -> RenderResult:
    """``render`` of what ``selection`` takes of a bundle already accepted (kind names as
    the bundle knows them); refuses sealed Secrets."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"-o {folder}: exists and is not an empty folder")
    ready.refuse_sealed_secrets()
    bundle = ready.bundle
    only = chosen_objects(ready, selection)
    context = TransformContext(manifest=bundle.manifest)
    names = {level.number: level.name for level in bundle.manifest.levels}
    by_level: dict[int, list[Object]] = {}
    dropped: list[ObjectRef] = []
    for entry in bundle.entries:
        documents = bundle.documents(entry)
        taken = [d for d in documents if only is None or ObjectRef.of(d) in only]
        objects = [obj for d in taken for obj in run_transforms(d, transforms, context)]
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
        stem = f"{level:02d}-{names.get(level, f'level-{level}')}"
        secrets = [o for o in objects if is_secret(o["apiVersion"], o["kind"])]
        others = [o for o in objects if not is_secret(o["apiVersion"], o["kind"])]
        if secrets:
            written.append(_write_rendered(folder / f"{stem}.secrets.yaml", secrets, 0o600))
        if others:
            written.append(_write_rendered(folder / f"{stem}.yaml", others, 0o644))
    total = sum(len(objects) for objects in by_level.values())
    return RenderResult(total, tuple(written), tuple(context.rewrites), tuple(dropped))


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
