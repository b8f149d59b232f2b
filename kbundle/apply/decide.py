"""What import does with one object, and what the report says, decided without I/O.

Kept apart from the requests so that every rule (``--existing``, the dry runs, "already as
the bundle wants it") can be read in one place and tested as a table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from kbundle.apply.compare import satisfied_by
from kbundle.apply.options import ApplyOptions, DryRunMode, ExistingMode
from kbundle.apply.outcome import Action
from kbundle.apply.writes import Written
from kbundle.core.model import Object


class Verdict(StrEnum):
    EXISTS = "exists"  # --existing=skip leaves it as it is
    SATISFIED = "satisfied"  # the live object already has every field the bundle sets
    PLANNED = "planned"  # a client dry run: the plan, nothing sent
    NAMESPACE_FIRST = "namespace-first"  # a server dry run cannot check it yet
    CRD_FIRST = "crd-first"  # a dry run of a custom resource whose CRD the bundle brings
    NOT_SERVED = "not-served"  # the destination does not serve its kind
    WRITE = "write"  # send it; the server's answer settles what the report says


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    action: Action  # what the report shows (for WRITE, until the server has answered)
    message: str = ""


def decide(
    intended: Object,
    live: Object | None,
    options: ApplyOptions,
    namespace_present: Callable[[str], bool],
) -> Decision:
    """What to do with ``intended`` given the ``live`` object (None when absent).

    ``namespace_present`` is asked only when the answer decides: in a server dry run, for an
    object that would be written, so a namespace is looked up no more often than needed.
    """
    if live is not None and options.existing is ExistingMode.SKIP:
        return Decision(Verdict.EXISTS, Action.SKIP, "exists; --existing=skip leaves it untouched")
    if live is not None and satisfied_by(intended, live):
        return Decision(Verdict.SATISFIED, Action.UNCHANGED)
    if options.dry_run is DryRunMode.CLIENT:
        return Decision(Verdict.PLANNED, Action.CREATE if live is None else Action.UPDATE)
    namespace = str((intended.get("metadata") or {}).get("namespace") or "")
    if options.dry_run is DryRunMode.SERVER and namespace and not namespace_present(namespace):
        return Decision(
            Verdict.NAMESPACE_FIRST,
            Action.SKIP,
            f"not checked: namespace {namespace} is created by this import first",
        )
    return Decision(Verdict.WRITE, Action.CREATE if live is None else Action.UPDATE)


def after_write(live: Object | None, written: Written) -> Decision:
    """What the report says once the server took the write: ``written`` is its answer (read
    for an update only), with the server's refusal when the object was deleted and created
    again."""
    if written.recreated is not None:
        return Decision(
            Verdict.WRITE, Action.UPDATE, f"deleted and created again: {written.recreated}"
        )
    if live is None:
        return Decision(Verdict.WRITE, Action.CREATE)
    stored = written.stored
    unchanged = (stored.get("metadata") or {}).get("resourceVersion") == (
        live.get("metadata") or {}
    ).get("resourceVersion")
    return Decision(Verdict.WRITE, Action.UNCHANGED if unchanged else Action.UPDATE)


def not_served(options: ApplyOptions, crd_in_bundle: bool, why: str) -> Decision:
    """An object whose kind the destination does not serve (``why``: what it serves instead).
    In a dry run, the CRD that would serve it may be one the import has not created."""
    if options.dry and crd_in_bundle:
        return Decision(
            Verdict.CRD_FIRST,
            Action.CREATE if options.dry_run is DryRunMode.CLIENT else Action.SKIP,
            "its CRD is created by this import first",
        )
    return Decision(Verdict.NOT_SERVED, Action.FAIL, why)
