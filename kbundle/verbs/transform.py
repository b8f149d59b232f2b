"""``kbundle transform``: rewrite a bundle into a new bundle, with no cluster.

The new bundle has new checksums, and its manifest appends the transforms that ran and
records the namespaces its objects are now in (``--map-namespace`` moves them).
Encrypted Secrets stay sealed (transforms see their metadata only), so no passphrase is
needed; the old signature cannot survive a new manifest, so the new bundle is signed only
when asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from kbundle.bundle.signing import signer_from
from kbundle.bundle.trust import ReadyBundle, TrustPolicy
from kbundle.bundle.writer import CREATED_AT_FORMAT, BundleWriter, Signer, creation_time
from kbundle.core.errors import UsageError
from kbundle.core.model import (
    ClusterScopedEntry,
    FileEntry,
    LevelInfo,
    Manifest,
    Object,
    ObjectRef,
    Rewrite,
    SecretsInfo,
    SelectionInfo,
    group_kind,
    group_of,
    is_sealed,
    is_secret,
    secret_objects,
)
from kbundle.core.scratch import scratch_folder
from kbundle.core.version import __version__
from kbundle.transforms.base import Transform, TransformContext, describe
from kbundle.transforms.catalog import TransformRequest, build_transforms
from kbundle.transforms.runner import transformed_files
from kbundle.verbs.common import (
    BundleSource,
    BundleTarget,
    checked_output,
    deliver,
    display_name,
    ready_bundle,
    size_of,
)


@dataclass(frozen=True)
class TransformOptions:
    """``kbundle transform``: which bundle, rewritten how, written where."""

    bundle: BundleSource
    output: BundleTarget
    transforms: Sequence[TransformRequest] = ()
    require_signature: tuple[Path, ...] = ()  # of the input
    sign_with: Path | None = None  # sign the output with this Ed25519 private key


@dataclass(frozen=True)
class TransformResult:
    manifest: Manifest  # of the new bundle
    objects: int
    transforms: int  # how many ran
    rewrites: tuple[Rewrite, ...]
    written_to: str  # the file, "stdout", or the remote reference
    size: int | None  # bytes; None for a stream or a remote
    digest: str | None = None  # of the artifact, when published to a registry or layout


def transform(options: TransformOptions) -> TransformResult:
    """Write ``options.bundle`` rewritten by its transforms as a new bundle."""
    transforms = build_transforms(options.transforms)
    signer = signer_from(options.sign_with)
    target = checked_output(options.output)
    with scratch_folder("kbundle-transform-") as work:
        ready = ready_bundle(options.bundle, work / "in", TrustPolicy(options.require_signature))
        counted: list[tuple[int, tuple[Rewrite, ...]]] = []

        def write(output: Path | BinaryIO) -> Manifest:
            manifest, objects, rewrites = rewrite_bundle(ready, transforms, output, work, signer)
            counted.append((objects, rewrites))
            return manifest

        manifest, digest = deliver(target, write)
    objects, rewrites = counted[0]
    return TransformResult(
        manifest,
        objects,
        len(transforms),
        rewrites,
        display_name(target, "stdout"),
        size_of(target),
        digest,
    )


def rewrite_bundle(
    ready: ReadyBundle,
    transforms: Sequence[Transform],
    output: Path | BinaryIO,
    work: Path,
    signer: Signer | None = None,
) -> tuple[Manifest, int, tuple[Rewrite, ...]]:
    """Write the transformed bundle; its manifest, object count and the rewrites made."""
    bundle = ready.bundle
    context = TransformContext(manifest=bundle.manifest)
    grouped: dict[tuple[int, str, str], list[Object]] = {}
    for entry, objects in transformed_files(bundle, transforms, context):
        for obj in objects:
            grouped.setdefault((entry.level, obj["apiVersion"], obj["kind"]), []).append(obj)
    created_at = creation_time()
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
                objects=_sorted(objects),
            )
            kinds_by_level.setdefault(level, set()).add(group_kind(kind, group_of(api_version)))
        _check_secrets_stay_sealed(bundle.manifest, grouped)
        manifest = replace(
            bundle.manifest,
            selection=_held_namespaces(bundle.manifest.selection, grouped),
            secrets=_recounted(bundle.manifest.secrets, writer.entries),
            tool_version=__version__,
            created_at=created_at.strftime(CREATED_AT_FORMAT),
            levels=tuple(
                LevelInfo(n, names.get(n, f"level-{n}"), tuple(sorted(k)))
                for n, k in sorted(kinds_by_level.items())
            ),
            files=writer.entries,
            transforms=(*bundle.manifest.transforms, *(describe(t) for t in transforms)),
            cluster_scoped=_still_held(bundle.manifest.cluster_scoped, grouped, context.rewrites),
        )
        writer.finish(manifest, signer=signer)
    total = sum(len(objects) for objects in grouped.values())
    return manifest, total, tuple(context.rewrites)


def _sorted(objects: list[Object]) -> list[Object]:
    return sorted(
        objects, key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"])
    )


def _still_held(
    entries: tuple[ClusterScopedEntry, ...] | None,
    grouped: dict[tuple[int, str, str], list[Object]],
    rewrites: Sequence[Rewrite],
) -> tuple[ClusterScopedEntry, ...] | None:
    """The export's reasons for the cluster-scoped objects the new bundle still holds, under
    their new names where a transform renamed them (a Namespace under --map-namespace)."""
    if entries is None:
        return None
    renamed = {
        (r.ref.group_kind, r.ref.name): r.after
        for r in rewrites
        if not r.ref.namespace and r.path == "metadata.name"
    }
    held = {
        (group_kind(kind, group_of(api_version)), obj["metadata"]["name"])
        for (_, api_version, kind), objects in grouped.items()
        for obj in objects
        if not obj["metadata"].get("namespace")
    }
    kept = [replace(e, name=renamed.get((e.kind, e.name), e.name)) for e in entries]
    return tuple(
        sorted((e for e in kept if (e.kind, e.name) in held), key=lambda e: (e.kind, e.name))
    )


def _held_namespaces(
    selection: SelectionInfo, grouped: dict[tuple[int, str, str], list[Object]]
) -> SelectionInfo:
    """The selection with the namespaces the new bundle holds, after the transforms: what
    verification bounds its namespaced objects by (``--map-namespace`` moves them)."""
    held = {
        str(obj["metadata"].get("namespace") or obj["metadata"]["name"])
        for (_, api_version, kind), objects in grouped.items()
        for obj in objects
        if obj["metadata"].get("namespace") or (api_version, kind) == ("v1", "Namespace")
    }
    return replace(selection, namespaces=tuple(sorted(held)))


def _recounted(secrets: SecretsInfo | None, entries: Sequence[FileEntry]) -> SecretsInfo | None:
    return None if secrets is None else replace(secrets, objects=secret_objects(entries))


def _check_secrets_stay_sealed(
    manifest: Manifest, grouped: dict[tuple[int, str, str], list[Object]]
) -> None:
    """A transform cannot add a plaintext Secret to an encrypted bundle (nor the reverse)."""
    secrets = manifest.secrets
    encrypted = manifest.secrets_encrypted
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
