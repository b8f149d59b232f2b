"""``kbundle import``: a bundle verified, trusted and opened, transformed, replayed into a
cluster.

Only a ``ReadyBundle`` reaches a cluster, and only one whose Secrets are open: a bundle that
did not verify, lacks a required signature or still holds sealed Secrets is refused before
the first request. Transforms run on every object before anything is applied; an object a
transform fails on is reported with the transform's name and not applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from pathlib import Path

from kbundle.apply.engine import Importer, LevelObjects, refuse_sealed
from kbundle.apply.live import LiveView
from kbundle.apply.options import ApplyOptions, DryRunMode
from kbundle.apply.outcome import Action, ImportReport, Outcome, sorted_outcomes
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.trust import ReadyBundle, TrustPolicy
from kbundle.cluster import Cluster, open_cluster
from kbundle.core.collector import only_young_collected
from kbundle.core.errors import ExitCode, TransformError
from kbundle.core.model import FileEntry, ObjectRef, ProgressCallback
from kbundle.core.progress import READING_BUNDLE, Every, begin_phase
from kbundle.core.scratch import scratch_folder
from kbundle.core.spool import ObjectSpool
from kbundle.preflight.gate import PreflightBlocked, check_before_import
from kbundle.preflight.mode import PreflightMode
from kbundle.preflight.model import PreflightReport
from kbundle.select.selection import Selection
from kbundle.transforms.base import Transform, TransformContext
from kbundle.transforms.catalog import TransformRequest, build_transforms
from kbundle.transforms.runner import run_transforms
from kbundle.verbs.common import BundleSource, ClusterTarget, ready_bundle
from kbundle.verbs.inbound import apply_options, check_selection, chosen_objects

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportOptions:
    """``kbundle import``: which bundle, checked how, rewritten how, into which cluster."""

    bundle: BundleSource
    cluster: ClusterTarget = ClusterTarget()
    transforms: Sequence[TransformRequest] = ()
    apply: ApplyOptions = ApplyOptions()
    require_signature: tuple[Path, ...] = ()  # trusted public keys: any of them
    passphrase: PassphraseSource = PassphraseSource()  # read only for encrypted Secrets
    selection: Selection = Selection()  # of the bundle's objects, before transforms
    preflight: PreflightMode = PreflightMode.WARN  # quick checks of the destination first


@dataclass(frozen=True)
class ImportResult:
    report: ImportReport  # one outcome per object, in level order
    context: str  # the destination's kubeconfig context
    preflight: PreflightReport | None = None  # what the checks found first (None: off)

    @property
    def exit_code(self) -> ExitCode:
        """OK; PARTIAL when objects failed and a re-run finishes; FAILED for a dry run that
        found objects the destination would refuse (nothing was applied)."""
        if self.report.ok:
            return ExitCode.OK
        return ExitCode.PARTIAL if self.report.dry_run is DryRunMode.NONE else ExitCode.FAILED


def import_bundle(
    options: ImportOptions,
    *,
    progress: ProgressCallback | None = None,
    on_preflight: Callable[[PreflightReport], None] | None = None,
) -> ImportResult:
    """Verify, check the signature, open the Secrets, check the destination, then apply:
    nothing is sent to the cluster unless the bundle held, and nothing is written under
    ``--preflight=strict`` while a blocker stands. ``on_preflight`` hears what the checks
    found before the first write."""
    transforms = build_transforms(options.transforms)
    check_selection(options.selection)
    with scratch_folder("kbundle-import-") as work:
        ready = ready_bundle(  # before any request
            options.bundle,
            work,
            TrustPolicy(options.require_signature, options.passphrase),
            progress,
        )
        cluster = open_cluster(
            options.cluster.kubeconfig,
            options.cluster.context,
            pool_size=options.apply.parallel + 4,
        )
        checked: list[PreflightReport] = []

        def heard(found: PreflightReport) -> None:
            checked.append(found)
            if on_preflight is not None:
                on_preflight(found)

        report = replay(
            cluster,
            ready,
            transforms,
            options.apply,
            progress=progress,
            selection=options.selection,
            preflight=options.preflight,
            on_preflight=heard,
        )
    return ImportResult(report, cluster.target.context, checked[0] if checked else None)


@only_young_collected()  # the run's tables are walked by no full pass
def replay(
    cluster: Cluster,
    ready: ReadyBundle,
    transforms: Sequence[Transform],
    options: ApplyOptions,
    *,
    progress: ProgressCallback | None = None,
    selection: Selection = Selection(),
    preflight: PreflightMode = PreflightMode.OFF,
    on_preflight: Callable[[PreflightReport], None] | None = None,
) -> ImportReport:
    """Transform and apply what ``selection`` takes of ``ready``; the report has one outcome
    per object. A bundle whose Secrets are still sealed is refused before any request; the
    ``preflight`` checks run before the first write (strict: a blocker stops the import)."""
    ready.refuse_sealed_secrets()
    bundle = ready.bundle
    context = TransformContext(manifest=bundle.manifest, discovery=cluster.discovery())
    only = chosen_objects(ready, selection, context.discovery, cluster.target.context)
    levels, failures = transformed_levels(ready, transforms, context, only, progress)
    log.info(
        "importing %d objects in %d levels into %s",
        sum(len(level.objects) for level in levels),
        len(levels),
        cluster.target.context,
    )
    apply = apply_options(options, selection)
    try:
        read: list[LiveView] = []
        found = check_before_import(
            cluster, levels, apply, preflight, on_live=read.append, progress=progress
        )
    except PreflightBlocked as blocked:
        if on_preflight is not None:
            on_preflight(blocked.report)  # what stopped it, before the one-line error
        raise
    if found is not None and on_preflight is not None:
        on_preflight(found)
    importer = Importer(cluster, apply, progress, known=read[0] if read else None)
    outcomes = importer.run(levels)
    outcomes.extend(failures)
    return ImportReport(
        outcomes=sorted_outcomes(outcomes),
        rewrites=tuple(context.rewrites),
        level_names={level.number: level.name for level in bundle.manifest.levels},
        dry_run=options.dry_run,
        aborted=importer.gave_up,
    )


def transformed_levels(
    ready: ReadyBundle,
    transforms: Sequence[Transform],
    context: TransformContext,
    only: Container[ObjectRef] | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[list[LevelObjects], list[Outcome]]:
    """The bundle's objects (those in ``only``, when given) by level after every transform;
    failures and objects a transform dropped as outcomes."""
    bundle = ready.bundle
    names = {level.number: level.name for level in bundle.manifest.levels}
    # On disk, not in memory: a bundle's objects cost a small int each until applied.
    parts: dict[int, list[ObjectSpool]] = {}  # per level: spools adopted or written here
    writing: dict[int, ObjectSpool] = {}  # per level: the spool this pass appends to
    failures: list[Outcome] = []
    begin_phase(progress, READING_BUNDLE)
    read = Every(progress, sum(entry.objects for entry in bundle.entries))
    for entry in bundle.entries:
        adopted = _as_verified(ready, entry) if not transforms and only is None else None
        if adopted is not None:
            parts.setdefault(entry.level, []).append(adopted)
            writing.pop(entry.level, None)  # what follows goes after it, in a spool of its own
            read.advance(entry.path, entry.objects)
            continue
        for document in bundle.stream(entry):
            read.advance(entry.path)
            ref = ObjectRef.of(document)
            if only is not None and ref not in only:
                continue
            try:
                results = run_transforms(document, transforms, context)
            except TransformError as error:
                failures.append(
                    Outcome(entry.level, ref, entry.api_version, Action.FAIL, str(error))
                )
                continue
            if not results:
                failures.append(
                    Outcome(
                        entry.level, ref, entry.api_version, Action.SKIP, "dropped by a transform"
                    )
                )
            spool = writing.get(entry.level)
            if spool is None:  # not setdefault: that made a file per object
                spool = writing[entry.level] = ObjectSpool()
                parts.setdefault(entry.level, []).append(spool)
            for result in results:
                refuse_sealed(result)  # here, once: not read again from disk to check
                spool.append(result)
    levels = []
    for number, spools in sorted(parts.items()):
        objects = ObjectSpool.joined(spools)
        name = names.get(number, str(number))
        levels.append(LevelObjects(number, name, objects, objects.owners(), secrets_open=True))
    return levels, failures


def _as_verified(ready: ReadyBundle, entry: FileEntry) -> ObjectSpool | None:
    """The spool verification wrote ``entry`` to, when its objects go to the cluster as they
    are: reading 50,000 objects back and spooling them again cost 0.3 s. A file of sealed
    Secrets is never taken whole: ``refuse_sealed`` checks it, object by object."""
    return None if ready.sealed(entry) else ready.bundle.spooled(entry)
