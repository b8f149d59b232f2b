"""``kbundle diff BUNDLE``: what an import would change in the destination, field by field.

The import itself answers, with nothing written: the bundle is accepted and transformed as
import does, then the importer runs as a server-side dry run and tells, for each object, the
live object and the server's answer to the apply (defaulting, admission and field ownership
are the server's). Each pair is compared cleaned of what the server owns, Secret values
never shown. An object the server could not check yet (its namespace or CRD comes with the
import) is compared as the bundle writes it, and says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kbundle.apply.decide import Verdict
from kbundle.apply.engine import Importer, Observation
from kbundle.apply.options import ApplyOptions, DryRunMode
from kbundle.apply.outage import conflicting_owners, describe
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.secret_encryption import PASSPHRASE_ENV
from kbundle.bundle.trust import ReadyBundle, TrustPolicy
from kbundle.cluster import ApiError, Cluster, KindNotServed, Unreachable, open_cluster
from kbundle.core.model import Object, ObjectRef, ProgressCallback, is_sealed
from kbundle.core.scratch import scratch_folder
from kbundle.diff.compare import compare
from kbundle.diff.model import DiffReport, DiffStatus, ObjectDiff
from kbundle.select.orphans import orphans_of
from kbundle.select.selection import Selection
from kbundle.transforms.base import Transform, TransformContext
from kbundle.transforms.catalog import TransformRequest, build_transforms
from kbundle.verbs.common import BundleSource, ClusterTarget, ready_bundle
from kbundle.verbs.diff_bundles import DiffResult
from kbundle.verbs.importing import transformed_levels
from kbundle.verbs.inbound import check_selection, chosen_objects

log = logging.getLogger(__name__)
LIVE = "live"
AFTER = "after import"  # the server's answer to a dry run of each write
FIELD_MANAGER = ApplyOptions().field_manager


@dataclass(frozen=True)
class DiffOptions:
    """``kbundle diff BUNDLE``: the bundle, checked and rewritten as import would, against
    the cluster it would be imported into."""

    bundle: BundleSource
    cluster: ClusterTarget = ClusterTarget()
    transforms: Sequence[TransformRequest] = ()
    selection: Selection = Selection()
    require_signature: tuple[Path, ...] = ()
    # Encrypted Secrets are compared only when their passphrase is at hand; otherwise they
    # are reported as not compared. None: $KBUNDLE_PASSPHRASE when it is set.
    passphrase: PassphraseSource | None = None
    show_orphans: bool = False
    parallel: int = 16


def diff(options: DiffOptions, *, progress: ProgressCallback | None = None) -> DiffResult:
    """Compare what an import of ``options.bundle`` would leave with what the cluster holds;
    nothing in the cluster changes (every write is a server-side dry run)."""
    transforms = build_transforms(options.transforms)
    check_selection(options.selection)
    with scratch_folder("kbundle-diff-") as work:
        policy = TrustPolicy(options.require_signature, _passphrase_at_hand(options.passphrase))
        ready = ready_bundle(options.bundle, work, policy, progress)  # before any request
        cluster = open_cluster(
            options.cluster.kubeconfig, options.cluster.context, pool_size=options.parallel + 4
        )
        report = diff_ready(cluster, ready, transforms, options, progress=progress)
    return DiffResult(report)


def diff_ready(
    cluster: Cluster,
    ready: ReadyBundle,
    transforms: Sequence[Transform],
    options: DiffOptions,
    *,
    progress: ProgressCallback | None = None,
) -> DiffReport:
    """The report of ``diff`` for a bundle already accepted."""
    context = TransformContext(manifest=ready.bundle.manifest, discovery=cluster.discovery())
    only = chosen_objects(ready, options.selection, context.discovery, cluster.target.context)
    levels, failures = transformed_levels(ready, transforms, context, only)
    sealed = [o for level in levels for o in level.objects if is_sealed(o)]
    levels = [
        replace(level, objects=[o for o in level.objects if not is_sealed(o)]) for level in levels
    ]
    seen: list[Observation] = []
    importer = Importer(
        cluster,
        ApplyOptions(dry_run=DryRunMode.SERVER, parallel=options.parallel),
        progress,
        observer=seen.append,
    )
    importer.run(levels)
    objects = [_object_diff(cluster, observation) for observation in seen]
    objects += [
        ObjectDiff(
            ObjectRef.of(obj),
            str(obj.get("apiVersion")),
            DiffStatus.NOT_COMPARED,
            message="encrypted: give the passphrase to compare it",
        )
        for obj in sealed
    ]
    objects += [
        ObjectDiff(o.ref, o.api_version, DiffStatus.FAIL, message=o.message) for o in failures
    ]
    orphans = (
        orphans_of(cluster, [o for level in levels for o in level.objects])
        if options.show_orphans
        else []
    )
    before = f"{LIVE} ({cluster.target.context})"
    return DiffReport(tuple(sorted(objects, key=lambda d: d.ref)), before, AFTER, tuple(orphans))


def _object_diff(cluster: Cluster, seen: Observation) -> ObjectDiff:
    api_version = str(seen.intended.get("apiVersion", ""))
    if isinstance(seen.error, ApiError) and conflicting_owners(seen.error):
        # What the import would change once it takes the fields over (--force-conflicts),
        # shown with the conflict: a dry run again, forced.
        taken = _forced_dry_run(cluster, seen)
        shown = _compare(seen, api_version, taken) if taken is not None else None
        return ObjectDiff(
            seen.ref,
            api_version,
            DiffStatus.CONFLICT,
            shown.changes if shown else (),
            shown.text if shown else "",
            describe(seen.error),
        )
    if seen.error is not None:
        return ObjectDiff(seen.ref, api_version, DiffStatus.FAIL, message=describe(seen.error))
    if seen.verdict is Verdict.SATISFIED:
        return _compare(seen, api_version, seen.live)
    if seen.verdict is Verdict.WRITE and seen.stored is not None:
        return _compare(seen, api_version, seen.stored)
    if seen.verdict in (Verdict.NAMESPACE_FIRST, Verdict.CRD_FIRST):
        found = _compare(seen, api_version, seen.intended)
        return replace(found, message=f"shown as the bundle writes it ({seen.message})")
    return ObjectDiff(seen.ref, api_version, DiffStatus.FAIL, message=seen.message)


def _forced_dry_run(cluster: Cluster, seen: Observation) -> Object | None:
    """The server's answer to the apply with the conflicting fields taken over; None when
    even that is refused (the conflict's message then says enough)."""
    try:
        resource = cluster.resource_for(seen.intended)
        stored: Object = cluster.apply(
            resource, seen.intended, field_manager=FIELD_MANAGER, force=True, dry_run=True
        )
    except (ApiError, Unreachable, KindNotServed):
        return None
    return stored


def _compare(seen: Observation, api_version: str, after: Object | None) -> ObjectDiff:
    return compare(seen.ref, api_version, seen.live, after, before_label=LIVE, after_label=AFTER)


def _passphrase_at_hand(source: PassphraseSource | None) -> PassphraseSource | None:
    """The passphrase when one was given or ``$KBUNDLE_PASSPHRASE`` holds one; None leaves
    encrypted Secrets sealed (diff then says it could not compare them)."""
    if source is not None and (source.named or source.value is not None):
        return source
    return PassphraseSource() if os.environ.get(PASSPHRASE_ENV) else None
