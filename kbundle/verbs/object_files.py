"""An export's object files: each kind's objects read from the snapshot's spool, cleaned,
sealed (Secrets, when encrypted) and rendered as the bundle's YAML.

Rendering is most of writing a large bundle (a third of a 50,000-object export) and one
interpreter renders on one core, so a large export renders its files in worker processes
(``kbundle.core.apart``) and in this one at once, one file each. A worker reads its objects
from the spool file it inherits and writes its YAML to the file the bundle writer reserved:
the same bytes as in one process, as rendering is deterministic. Files of sealed Secrets
are rendered here only: the key never leaves this process.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from kbundle.clean import CleanContext, CleanOptions
from kbundle.core.apart import extra_processes, run_apart
from kbundle.core.levels import Level, level_for
from kbundle.core.model import FileEntry, LevelInfo, ManifestWarning, ProgressCallback, is_secret
from kbundle.core.progress import WRITING, Every, begin_phase
from kbundle.verbs.file_rendering import RenderJob, cleaned_objects, render_file, ticking

if TYPE_CHECKING:  # a worker process imports this module: it needs none of these
    from kbundle.bundle.secret_encryption import SecretKey
    from kbundle.bundle.writer import BundleWriter
    from kbundle.select.layout import ExportLayout
    from kbundle.select.snapshot import Snapshot

# Objects an export holds before its files are rendered in worker processes: below, starting
# a worker costs more than it saves.
APART_FROM = 5000


@dataclass(frozen=True)
class _File:
    """One object file to write: its resource, level, and objects in file order."""

    key: str  # the snapshot's resource key
    level: Level
    places: Sequence[int]  # spool places, by namespace, then name
    owners: frozenset[str]  # UIDs of exported owners its objects name
    seal: SecretKey | None


def write_object_files(
    snapshot: Snapshot,
    layout: ExportLayout,
    options: CleanOptions,
    writer: BundleWriter,
    *,
    seal_with: SecretKey | None,
    progress: ProgressCallback | None,
) -> tuple[list[FileEntry], tuple[LevelInfo, ...], list[ManifestWarning]]:
    """Write the object files of ``layout`` (Secrets sealed with ``seal_with``, if given);
    their entries, the levels they make, and what cleaning noted."""
    context = CleanContext(
        exported_uids=frozenset(),  # each file's own: the owners its objects name
        exported_persistent_volumes=layout.persistent_volumes,
        generated_token_secrets=frozenset(layout.generated_token_secrets),
        options=options,
    )
    files = _files(snapshot, layout, seal_with)
    begin_phase(progress, WRITING)
    written = Every(progress, layout.objects)
    notes: list[ManifestWarning] = []
    rendered = _render_apart(snapshot, files, writer, context=context, written=written, notes=notes)
    entries: list[FileEntry] = []
    for number, file in enumerate(files):
        resource = snapshot.resources[file.key]
        if number in rendered:
            entries.append(rendered[number])
            continue
        cleaned = cleaned_objects(
            snapshot.stored.read_all(file.places),
            replace(context, exported_uids=file.owners),
            file.seal,
            notes,
        )
        entries.append(
            writer.add_object_file(
                level=file.level.number,
                level_name=file.level.name,
                api_version=resource.api_version,
                kind=resource.kind,
                namespaced=resource.namespaced,
                objects=ticking(cleaned, functools.partial(written.advance, resource.group_kind)),
            )
        )
    kinds_by_level: dict[Level, set[str]] = defaultdict(set)
    for file in files:
        kinds_by_level[file.level].add(snapshot.resources[file.key].group_kind)
    levels = tuple(
        LevelInfo(level.number, level.name, tuple(sorted(kinds)))
        for level, kinds in sorted(kinds_by_level.items(), key=lambda i: i[0].number)
    )
    return entries, levels, notes


def _files(snapshot: Snapshot, layout: ExportLayout, seal_with: SecretKey | None) -> list[_File]:
    """The object files, in the order the manifest lists them (level, then resource)."""
    files = []
    for key, laid_out in layout.files.items():
        resource = snapshot.resources[key]
        seal = seal_with if is_secret(resource.api_version, resource.kind) else None
        level = level_for(
            resource.group_kind,
            is_custom_resource=resource.group_kind in snapshot.custom_resource_kinds,
            referenced=laid_out.referenced,
        )
        files.append(_File(key, level, laid_out.places, frozenset(laid_out.owners), seal))
    return sorted(files, key=lambda f: (f.level.number, f.key))


def _render_apart(
    snapshot: Snapshot,
    files: list[_File],
    writer: BundleWriter,
    *,
    context: CleanContext,
    written: Every,
    notes: list[ManifestWarning],
) -> dict[int, FileEntry]:
    """Render the files worth it on several cores; their entries by file number. Nothing
    for a small export, or where no worker can run (the caller renders those files)."""
    apart = [n for n, f in enumerate(files) if f.seal is None]
    workers = extra_processes(len(apart))
    if sum(len(f.places) for f in files) < APART_FROM or not workers:
        return {}
    spool_fd = snapshot.stored.fileno()
    jobs: dict[int, RenderJob] = {}
    for number in sorted(apart, key=lambda n: -len(files[n].places)):  # the largest first
        file = files[number]
        resource = snapshot.resources[file.key]
        path, out = writer.reserve_object_file(
            level=file.level.number,
            level_name=file.level.name,
            api_version=resource.api_version,
            kind=resource.kind,
        )
        jobs[number] = RenderJob(
            path=path,
            out=out,
            api_version=resource.api_version,
            kind=resource.kind,
            spool_fd=spool_fd,
            places=file.places,
            context=replace(context, exported_uids=file.owners),
        )
    results = run_apart(
        render_file,
        [(job,) for job in jobs.values()],
        workers=workers,
        on_tick=lambda count: written.advance("object files", count),
        pass_fds=(spool_fd,),
    )
    entries: dict[int, FileEntry] = {}
    for (number, job), result in zip(jobs.items(), results, strict=True):
        notes += result.notes
        namespaced = snapshot.resources[files[number].key].namespaced
        entries[number] = writer.add_rendered_file(
            job.path,
            namespaced=namespaced,
            level=files[number].level.number,
            rendered=result.rendered,
        )
    return entries
