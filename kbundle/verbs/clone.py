"""``kbundle clone``: export from one cluster straight into another, with no file between.

The export is written into a pipe that verification reads from, so the destination still
receives only a bundle that verified; nothing is applied until the whole stream has.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kbundle.apply.options import ApplyOptions
from kbundle.bundle.trust import ReadyBundle, TrustPolicy, accept_bundle
from kbundle.cluster import Cluster, open_cluster
from kbundle.core.errors import KbundleError
from kbundle.core.model import Manifest, ProgressCallback
from kbundle.core.scratch import scratch_folder
from kbundle.preflight.mode import PreflightMode
from kbundle.preflight.model import PreflightReport
from kbundle.select.selection import Selection
from kbundle.transforms.catalog import TransformRequest, build_transforms
from kbundle.verbs.common import ClusterTarget
from kbundle.verbs.export import ExportRequest, export_bundle, export_request
from kbundle.verbs.importing import ImportResult, replay

# A stream is read once, so a faster level costs little: the bundle is never stored.
CLONE_COMPRESSION_LEVEL = 3


@dataclass(frozen=True)
class CloneOptions:
    """``kbundle clone``: what to read from ``source``, and how to apply it to
    ``destination``. Status and last-applied annotations are never kept."""

    source: ClusterTarget
    destination: ClusterTarget
    selection: Selection = Selection()
    transforms: Sequence[TransformRequest] = ()
    apply: ApplyOptions = ApplyOptions()
    preflight: PreflightMode = PreflightMode.WARN  # quick checks of the destination first


@dataclass(frozen=True)
class CloneResult:
    exported: Manifest  # what was read from the source
    imported: ImportResult


def clone(
    options: CloneOptions,
    *,
    progress: ProgressCallback | None = None,
    on_exported: Callable[[Manifest], None] | None = None,
    on_preflight: Callable[[PreflightReport], None] | None = None,
) -> CloneResult:
    """Export, verify the stream, then import; ``on_exported`` hears of the verified export
    before the first object is applied."""
    transforms = build_transforms(options.transforms)
    selection = replace(options.selection, keep_status=False, keep_last_applied=False)
    with scratch_folder("kbundle-clone-") as work:
        source = open_cluster(options.source.kubeconfig, options.source.context)
        destination = open_cluster(
            options.destination.kubeconfig,
            options.destination.context,
            pool_size=options.apply.parallel + 4,
        )
        request = export_request(source, selection, CLONE_COMPRESSION_LEVEL)
        ready = stream_export(source, request, work)
        if on_exported is not None:
            on_exported(ready.bundle.manifest)
        report = replay(
            destination,
            ready,
            transforms,
            options.apply,
            progress=progress,
            preflight=options.preflight,
            on_preflight=on_preflight,
        )
    return CloneResult(ready.bundle.manifest, ImportResult(report, destination.target.context))


def stream_export(source: Cluster, request: ExportRequest, work: Path) -> ReadyBundle:
    """Export into a pipe that verification reads from; the export's own error wins."""
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        with os.fdopen(write_end, "wb") as stream:
            try:
                export_bundle(source, request, stream)
            except BaseException as error:
                failure.append(error)

    producer = threading.Thread(target=produce, name="kbundle-export", daemon=True)
    producer.start()
    try:
        with os.fdopen(read_end, "rb") as stream:
            ready = accept_bundle(stream, work, TrustPolicy())
    except KbundleError:
        producer.join()
        if failure:
            raise failure[0] from None
        raise
    producer.join()
    if failure:
        raise failure[0]
    return ready
