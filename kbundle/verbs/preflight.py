"""``kbundle preflight``: what the destination lacks for a bundle, before anything is sent.

The bundle is accepted exactly as import accepts it (verified, signature, Secrets opened),
transformed with the same flags, then every check runs, with a server dry run of every
object. Nothing is written: reads, access reviews and dry runs only. Exit 0 without
blockers, 1 with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kbundle.apply.options import ApplyOptions
from kbundle.apply.outcome import Action, Outcome
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.trust import TrustPolicy
from kbundle.cluster import open_cluster
from kbundle.core.errors import ExitCode
from kbundle.core.model import ProgressCallback
from kbundle.core.scratch import scratch_folder
from kbundle.preflight.model import Code, Finding, PreflightReport, Severity
from kbundle.preflight.runner import run_preflight
from kbundle.select.selection import Selection
from kbundle.transforms.base import TransformContext
from kbundle.transforms.catalog import TransformRequest, build_transforms
from kbundle.verbs.common import BundleSource, ClusterTarget, ready_bundle
from kbundle.verbs.importing import transformed_levels
from kbundle.verbs.inbound import apply_options, check_selection, chosen_objects


@dataclass(frozen=True)
class PreflightOptions:
    """``kbundle preflight``: which bundle, checked how, rewritten how, against which
    cluster (the same as import's)."""

    bundle: BundleSource
    cluster: ClusterTarget = ClusterTarget()
    transforms: Sequence[TransformRequest] = ()
    selection: Selection = Selection()  # of the bundle's objects, before transforms
    require_signature: tuple[Path, ...] = ()  # trusted public keys: any of them
    passphrase: PassphraseSource = PassphraseSource()  # read only for encrypted Secrets


@dataclass(frozen=True)
class PreflightResult:
    report: PreflightReport
    context: str  # the destination's kubeconfig context

    @property
    def exit_code(self) -> ExitCode:
        """OK without blockers; FAILED with blockers (nothing was written either way)."""
        return ExitCode.OK if self.report.ok else ExitCode.FAILED


def preflight(
    options: PreflightOptions, *, progress: ProgressCallback | None = None
) -> PreflightResult:
    """Accept the bundle as import does, transform it, and run every check against the
    cluster, a server dry run of every object included."""
    transforms = build_transforms(options.transforms)
    check_selection(options.selection)
    apply = apply_options(ApplyOptions(), options.selection)
    with scratch_folder("kbundle-preflight-") as work:
        ready = ready_bundle(  # before any request
            options.bundle,
            work,
            TrustPolicy(options.require_signature, options.passphrase),
            progress,
        )
        ready.refuse_sealed_secrets()
        cluster = open_cluster(
            options.cluster.kubeconfig, options.cluster.context, pool_size=apply.parallel + 4
        )
        context = TransformContext(manifest=ready.bundle.manifest, discovery=cluster.discovery())
        only = chosen_objects(ready, options.selection, context.discovery, cluster.target.context)
        levels, failures = transformed_levels(ready, transforms, context, only)
        report = run_preflight(cluster, levels, thorough=True, apply=apply, progress=progress)
    failed = transform_failures(failures)
    if failed:
        report = PreflightReport.of([*report.findings, *failed], thorough=report.thorough)
    return PreflightResult(report, cluster.target.context)


def transform_failures(outcomes: Sequence[Outcome]) -> list[Finding]:
    """A transform that failed on an object: import would fail that object too."""
    return [
        Finding(
            Code.TRANSFORM_FAILED,
            Severity.BLOCKER,
            f"{outcome.ref}: {outcome.message}",
            (outcome.ref,),
            "fix the transform or its arguments, or leave the object out (a rules file with "
            "action drop)",
        )
        for outcome in outcomes
        if outcome.action is Action.FAIL
    ]
