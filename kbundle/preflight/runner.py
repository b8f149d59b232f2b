"""Every check over one bundle and one destination, at one of two depths.

Quick (``thorough=False``, what ``import`` runs first): checks that cost a few list and
review requests (kinds, references, addresses, webhooks, quotas, access) and a dry run of
the objects that exist and differ. Thorough (``kbundle preflight``): the same, with a server
dry run of every object instead of the probe. Neither writes anything: reads, access reviews
(which store nothing) and dry runs only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from kbundle.apply.engine import LevelObjects, refuse_sealed_secrets
from kbundle.apply.live import LiveView
from kbundle.apply.options import ApplyOptions
from kbundle.apply.workers import Workers
from kbundle.cluster import Cluster
from kbundle.core.model import ProgressCallback
from kbundle.preflight.access import check_access
from kbundle.preflight.addresses import check_addresses
from kbundle.preflight.conflicts import dry_run_everything, probe_changed, settled
from kbundle.preflight.grants import check_grants
from kbundle.preflight.kinds import check_kinds
from kbundle.preflight.model import Finding, PreflightReport
from kbundle.preflight.quotas import check_quotas
from kbundle.preflight.references import check_references
from kbundle.preflight.scene import gather
from kbundle.preflight.webhooks import check_webhooks

CHECKS = (
    check_kinds,
    check_references,
    check_addresses,
    check_webhooks,
    check_quotas,
    check_access,
    check_grants,
)

log = logging.getLogger(__name__)


def run_preflight(
    cluster: Cluster,
    levels: Sequence[LevelObjects],
    *,
    thorough: bool,
    apply: ApplyOptions = ApplyOptions(),
    progress: ProgressCallback | None = None,
    on_live: Callable[[LiveView], None] | None = None,
) -> PreflightReport:
    """What the destination lacks for ``levels`` (the bundle's objects after transforms),
    as ``apply`` would import them. ``progress`` follows the thorough dry run; ``on_live``
    gets the live objects read, for an import that follows at once."""
    refuse_sealed_secrets(levels)  # before any request, as import
    workers = Workers(max(1, apply.parallel))
    try:
        scene = gather(cluster, levels, apply, workers, progress)
        findings: list[Finding] = []
        for check in CHECKS:
            found = check(scene)
            log.info("preflight %s: %d findings", check.__name__, len(found))
            findings += found
        skip = settled(findings)
        if thorough:
            findings += dry_run_everything(scene, levels, skip, progress)
        else:
            findings += probe_changed(scene, skip)
        findings += scene.notes
        if on_live is not None:
            on_live(scene.live_view())
    finally:
        workers.close()
    return PreflightReport.of(findings, thorough=thorough)
