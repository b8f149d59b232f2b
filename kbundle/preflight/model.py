"""What preflight reports: findings with a severity, the objects each affects, the way out.

A finding is one line naming the culprit (a class, a webhook, a quota, a verb, a field
manager) plus the concrete way out (a flag, or what to create first). Findings name objects
and never hold an object's data: a Secret's value cannot reach a report, text or JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kbundle.core.model import ObjectRef


class Severity(StrEnum):
    """``blocker``: the import would be refused for these objects, or what it restores cannot
    work until something cluster-wide is added; ``warning``: it lands, but may not work until
    something is created, or kbundle could not check."""

    BLOCKER = "blocker"
    WARNING = "warning"


class Code(StrEnum):
    """Stable, machine-readable names of findings (the JSON report's ``code``)."""

    KIND_NOT_SERVED = "kind-not-served"
    STORAGE_CLASS_MISSING = "storage-class-missing"
    INGRESS_CLASS_MISSING = "ingress-class-missing"
    PRIORITY_CLASS_MISSING = "priority-class-missing"
    RUNTIME_CLASS_MISSING = "runtime-class-missing"
    REFERENCE_MISSING = "reference-missing"
    SCHEDULER_UNKNOWN = "scheduler-unknown"
    CLUSTER_IP_OUT_OF_RANGE = "cluster-ip-out-of-range"
    CLUSTER_IP_TAKEN = "cluster-ip-taken"
    NODE_PORT_TAKEN = "node-port-taken"
    NODE_PORT_OUT_OF_RANGE = "node-port-out-of-range"
    WEBHOOK_UNAVAILABLE = "webhook-unavailable"
    QUOTA_EXCEEDED = "quota-exceeded"
    ACCESS_DENIED = "access-denied"
    FIELD_CONFLICT = "field-conflict"
    SERVER_REFUSED = "server-refused"
    TRANSFORM_FAILED = "transform-failed"
    GRANT_NOT_SERVED = "grant-not-served"
    NOT_CHECKED = "not-checked"


MOST_NAMED = 3  # objects a message names before "and N more"


def named(refs: Iterable[ObjectRef], most: int = MOST_NAMED) -> str:
    """``ConfigMap shop/a, ConfigMap shop/b and 3 more``: objects in a one-line message."""
    ordered = sorted(set(refs))
    shown = ", ".join(str(ref) for ref in ordered[:most])
    return f"{shown} and {len(ordered) - most} more" if len(ordered) > most else shown


@dataclass(frozen=True)
class Finding:
    code: Code
    severity: Severity
    message: str  # one line naming the culprit
    objects: tuple[ObjectRef, ...] = ()  # the bundle's objects it affects
    way_out: str = ""  # a flag, or what to create first

    def text(self) -> str:
        """The finding as one line of text."""
        way_out = f"; {self.way_out}" if self.way_out else ""
        return f"{self.severity}: {self.message}{way_out}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "severity": str(self.severity),
            "message": self.message,
            "wayOut": self.way_out,
            "objects": [
                {
                    "group": ref.group,
                    "kind": ref.kind,
                    "namespace": ref.namespace or None,
                    "name": ref.name,
                }
                for ref in self.objects
            ],
        }


def _order(finding: Finding) -> tuple[bool, bool, str, tuple[ObjectRef, ...], str]:
    """Blockers first; what could not be checked last."""
    return (
        finding.severity is not Severity.BLOCKER,
        finding.code is Code.NOT_CHECKED,
        str(finding.code),
        finding.objects,
        finding.message,
    )


@dataclass(frozen=True)
class PreflightReport:
    """Every finding, blockers first; ``thorough`` when a server dry run of every object ran
    (``kbundle preflight``), not only the quick checks ``import`` makes first."""

    findings: tuple[Finding, ...] = ()
    thorough: bool = False

    @classmethod
    def of(cls, findings: Sequence[Finding], *, thorough: bool) -> PreflightReport:
        """Sorted, and each finding once."""
        return cls(tuple(sorted(set(findings), key=_order)), thorough)

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.BLOCKER]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """No blocker: the import can go on."""
        return not self.blockers

    def lines(self) -> list[str]:
        """One line per finding, blockers first."""
        return [finding.text() for finding in self.findings]

    def summary(self) -> str:
        depth = "every check and a server dry run" if self.thorough else "the quick checks"
        return f"preflight ({depth}): {len(self.blockers)} blockers, {len(self.warnings)} warnings"

    def to_dict(self) -> dict[str, Any]:
        return {
            "thorough": self.thorough,
            "totals": {"blocker": len(self.blockers), "warning": len(self.warnings)},
            "findings": [finding.to_dict() for finding in self.findings],
        }
