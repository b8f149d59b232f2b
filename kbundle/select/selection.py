"""What to export, as a user gives it (light: the CLI builds one before anything loads)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Selection:
    """What to export, exactly as given: namespaces (none: the context's), label selector,
    kubectl kind names, ``KIND/NAME`` roots; and what of each object to keep."""

    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    selector: str | None = None
    include_kinds: tuple[str, ...] = ()
    exclude_kinds: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    include_cluster_resources: str = "auto"
    include_owned: bool = False
    keep_status: bool = False
    keep_last_applied: bool = False
