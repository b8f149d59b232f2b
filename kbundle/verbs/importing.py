"""``kbundle import``: a bundle verified, trusted and opened, transformed, replayed into a
cluster.

Only a ``ReadyBundle`` reaches a cluster, and only one whose Secrets are open: a bundle that
did not verify, lacks a required signature or still holds sealed Secrets is refused before
the first request. Transforms run on every object before anything is applied; an object a
transform fails on is reported with the transform's name and not applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kbundle.apply.engine import Importer, LevelObjects
from kbundle.apply.options import ApplyOptions, DryRunMode
from kbundle.apply.outcome import Action, ImportReport, Outcome, sorted_outcomes
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.trust import ReadyBundle, TrustPolicy
from kbundle.cluster import Cluster, open_cluster
from kbundle.core.errors import ExitCode, TransformError
from kbundle.core.model import Object, ObjectRef, ProgressCallback
from kbundle.core.scratch import scratch_folder
from kbundle.transforms.base import Transform, TransformContext
from kbundle.transforms.catalog import TransformRequest, build_transforms
from kbundle.transforms.runner import run_transforms
from kbundle.verbs.common import BundleSource, ClusterTarget, ready_bundle

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


@dataclass(frozen=True)
class ImportResult:
    report: ImportReport  # one outcome per object, in level order
    context: str  # the destination's kubeconfig context

    @property
    def exit_code(self) -> ExitCode:
        """OK; PARTIAL when objects failed and a re-run finishes; FAILED for a dry run that
        found objects the destination would refuse (nothing was applied)."""
        if self.report.ok:
            return ExitCode.OK
        return ExitCode.PARTIAL if self.report.dry_run is DryRunMode.NONE else ExitCode.FAILED


def import_bundle(
    options: ImportOptions, *, progress: ProgressCallback | None = None
) -> ImportResult:
    """Verify, check the signature, open the Secrets, then apply: nothing is sent to the
    cluster unless all of that held."""
    transforms = build_transforms(options.transforms)
    with scratch_folder("kbundle-import-") as work:
        ready = ready_bundle(  # before any request
            options.bundle,
            work,
            TrustPolicy(options.require_signature, options.passphrase),
        )
        cluster = open_cluster(
            options.cluster.kubeconfig,
            options.cluster.context,
            pool_size=options.apply.parallel + 4,
        )
        report = replay(cluster, ready, transforms, options.apply, progress=progress)
    return ImportResult(report, cluster.target.context)


def replay(
    cluster: Cluster,
    ready: ReadyBundle,
    transforms: Sequence[Transform],
    options: ApplyOptions,
    *,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Transform and apply ``ready``; the report has one outcome per object. A bundle whose
    Secrets are still sealed is refused before any request."""
    ready.refuse_sealed_secrets()
    bundle = ready.bundle
    context = TransformContext(manifest=bundle.manifest, discovery=cluster.discovery())
    levels, failures = transformed_levels(ready, transforms, context)
    log.info(
        "importing %d objects in %d levels into %s",
        sum(len(level.objects) for level in levels),
        len(levels),
        cluster.target.context,
    )
    importer = Importer(cluster, options, progress)
    outcomes = importer.run(levels)
    return ImportReport(
        outcomes=sorted_outcomes([*outcomes, *failures]),
        rewrites=tuple(context.rewrites),
        level_names={level.number: level.name for level in bundle.manifest.levels},
        dry_run=options.dry_run,
        aborted=importer.gave_up,
    )


def transformed_levels(
    ready: ReadyBundle, transforms: Sequence[Transform], context: TransformContext
) -> tuple[list[LevelObjects], list[Outcome]]:
    """The bundle's objects by level after every transform; failures and objects a
    transform dropped as outcomes."""
    bundle = ready.bundle
    names = {level.number: level.name for level in bundle.manifest.levels}
    by_level: dict[int, list[Object]] = {}
    failures: list[Outcome] = []
    for entry in bundle.entries:
        for document in bundle.documents(entry):
            ref = ObjectRef.of(document)
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
            by_level.setdefault(entry.level, []).extend(results)
    levels = [
        LevelObjects(number, names.get(number, str(number)), objects)
        for number, objects in sorted(by_level.items())
    ]
    return levels, failures
