"""``kbundle diff A.kbundle B.kbundle``: what differs between two bundles, offline.

Two snapshots of the same namespaces taken on different days, or a bundle before and after
``kbundle transform``: objects pair by identity (group, kind, namespace, name; the version
may differ), and each pair is compared as ``kbundle.diff.compare`` does for a live diff, so
the output forms and exit codes are the same. Both bundles are verified, signature-checked
and opened exactly as import would; without the passphrase, encrypted Secrets are reported
as not compared and everything else still is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.trust import ReadyBundle, TrustPolicy
from kbundle.core.errors import ExitCode, UsageError
from kbundle.core.model import Object, ObjectRef
from kbundle.core.scratch import scratch_folder
from kbundle.diff.compare import compare
from kbundle.diff.model import DiffReport
from kbundle.verbs.common import BundleSource, display_name, ready_bundle

__all__ = ["DiffBundlesOptions", "DiffResult", "diff_bundles"]


@dataclass(frozen=True)
class DiffBundlesOptions:
    """``kbundle diff BEFORE AFTER``: two bundles, trusted and opened the same way."""

    before: BundleSource
    after: BundleSource
    require_signature: tuple[Path, ...] = ()  # trusted public keys: both must be signed
    passphrase: PassphraseSource | None = None  # opens the encrypted Secrets of both


@dataclass(frozen=True)
class DiffResult:
    """The report of ``kbundle diff``, of two bundles or of a bundle and a cluster."""

    report: DiffReport

    @property
    def exit_code(self) -> ExitCode:
        """kubectl diff's convention: 0 when nothing differs, 1 when something does
        (errors, raised as ``KbundleError``, end with 1 or 2 as for every command)."""
        return ExitCode.FAILED if self.report.differs else ExitCode.OK


def diff_bundles(options: DiffBundlesOptions) -> DiffResult:
    """Compare every object of ``options.before`` with the same object in ``options.after``."""
    if options.before is options.after and not isinstance(options.before, Path):
        raise UsageError("only one of the two bundles can come from stdin")
    before_label = display_name(options.before)
    after_label = display_name(options.after)
    policy = TrustPolicy(options.require_signature, options.passphrase)
    with scratch_folder("kbundle-diff-") as work:
        before = _objects(ready_bundle(options.before, work / "before", policy))
        after = _objects(ready_bundle(options.after, work / "after", policy))
    diffs = []
    for ref in sorted(before.keys() | after.keys()):
        old, new = before.get(ref), after.get(ref)
        api_version = str((new if new is not None else old or {}).get("apiVersion", ""))
        diffs.append(
            compare(
                ref,
                api_version,
                old,
                new,
                before_label=before_label,
                after_label=after_label,
            )
        )
    return DiffResult(DiffReport(tuple(diffs), before_label, after_label))


def _objects(ready: ReadyBundle) -> dict[ObjectRef, Object]:
    """Every object of a bundle by identity (verification refused duplicates)."""
    bundle = ready.bundle
    return {ObjectRef.of(obj): obj for entry in bundle.entries for obj in bundle.documents(entry)}
