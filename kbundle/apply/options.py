"""How an import treats the destination: the choices a user makes, as enums end to end."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ExistingMode(StrEnum):
    """What happens to an object that already exists in the destination."""

    UPDATE = "update"  # server-side apply: the bundle's fields win, others stay
    SKIP = "skip"  # left untouched
    RECREATE = "recreate"  # updated, or deleted and created again when refused as immutable


class DryRunMode(StrEnum):
    NONE = "none"  # apply for real
    CLIENT = "client"  # the plan, from what exists; nothing is sent but reads
    SERVER = "server"  # the apiserver validates every write and changes nothing


@dataclass(frozen=True)
class ApplyOptions:
    existing: ExistingMode = ExistingMode.UPDATE
    force_conflicts: bool = False  # take over fields other field managers own
    dry_run: DryRunMode = DryRunMode.NONE
    parallel: int = 16  # objects applied at once within a level
    wait_timeout: float = 60.0  # CRDs established, namespaces active, deletions finished
    retry_timeout: float = 120.0  # how long a destination may stay unreachable
    field_manager: str = "kbundle"
    # Create the namespaces the objects need that neither the bundle nor the destination
    # has; False (--include-cluster-resources=false) creates no cluster-scoped object at all.
    create_namespaces: bool = True

    @property
    def dry(self) -> bool:
        """True for either dry run: nothing in the destination may change."""
        return self.dry_run is not DryRunMode.NONE
