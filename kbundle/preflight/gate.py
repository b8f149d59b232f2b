"""The checks ``import`` runs before its first write (``--preflight=warn|strict|off``).

Only the quick depth: a few list and review requests, and dry runs of the objects that
exist and differ, so an import of thousands of new objects stays as fast as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kbundle.apply.engine import LevelObjects
from kbundle.apply.live import LiveView
from kbundle.apply.options import ApplyOptions
from kbundle.cluster import Cluster
from kbundle.core.errors import KbundleError
from kbundle.core.model import ProgressCallback
from kbundle.preflight.mode import PreflightMode
from kbundle.preflight.model import PreflightReport
from kbundle.preflight.runner import run_preflight


class PreflightBlocked(KbundleError):
    """``--preflight=strict`` found blockers: nothing was written. ``report`` holds them."""

    def __init__(self, report: PreflightReport) -> None:
        blockers = report.blockers
        first = blockers[0]
        more = f" (and {len(blockers) - 1} more blockers)" if len(blockers) > 1 else ""
        super().__init__(
            f"preflight: {first.message}{more}; nothing was applied",
            hint=first.way_out or None,
        )
        self.report = report


def check_before_import(
    cluster: Cluster,
    levels: Sequence[LevelObjects],
    apply: ApplyOptions,
    mode: PreflightMode = PreflightMode.WARN,
    *,
    on_live: Callable[[LiveView], None] | None = None,
    progress: ProgressCallback | None = None,
) -> PreflightReport | None:
    """The quick checks for ``levels`` as ``apply`` would import them: None when ``mode`` is
    off; with strict, PreflightBlocked when any blocker was found (before any write)."""
    if mode is PreflightMode.OFF:
        return None
    report = run_preflight(
        cluster, levels, thorough=False, apply=apply, on_live=on_live, progress=progress
    )
    if mode is PreflightMode.STRICT and report.blockers:
        raise PreflightBlocked(report)
    return report
