"""What the apiserver serves: every resource of every group/version, read from discovery.

Nothing here knows a kind by heart. Group/versions that fail to answer (an aggregated API
whose backend is down) are recorded as failures, so callers can warn instead of crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from kbundle.cluster.transport import ApiError, Transport, Unreachable


@dataclass(frozen=True)
class ApiResource:
    """One listable-or-not resource type at one group/version."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: frozenset[str]
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    preferred: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        """``Deployment.apps``, ``ConfigMap`` (the core group has no suffix)."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def group_resource(self) -> str:
        """``deployments.apps``, ``configmaps``: how kubectl names a resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """URL path of the collection, or of one object when ``name`` is given."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name is not None else base

    @property
    def listable(self) -> bool:
        return "list" in self.verbs

    def names(self) -> set[str]:
        """Every name kubectl accepts for this resource (lower case), without group."""
        return {
            self.plural,
            self.singular or self.kind.lower(),
            self.kind.lower(),
            *self.short_names,
        }


@dataclass
class Discovery:
    """The server's resources; ``preferred`` holds one version per resource."""

    resources: list[ApiResource]
    failures: dict[str, str] = field(default_factory=dict)  # group/version -> reason
    # (apiVersion, kind) -> the first resource serving it: ``find`` runs once per object an
    # import writes, and a scan of every resource cost more than the rest of its lookups.
    _found: dict[tuple[str, str], ApiResource] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def preferred(self) -> list[ApiResource]:
        return [r for r in self.resources if r.preferred]

    def find(self, api_version: str, kind: str) -> ApiResource | None:
        """The resource serving ``kind`` at exactly ``api_version``, if served."""
        if self._found is None:
            found: dict[tuple[str, str], ApiResource] = {}
            for resource in self.resources:
                found.setdefault((resource.api_version, resource.kind), resource)
            self._found = found
        return self._found.get((api_version, kind))

    def preferred_for(self, group: str, kind: str) -> ApiResource | None:
        """The preferred version of ``kind`` in ``group`` (any served version as fallback)."""
        matches = [r for r in self.resources if r.group == group and r.kind == kind]
        return next((r for r in matches if r.preferred), matches[0] if matches else None)

    def served_versions(self, group: str) -> list[str]:
        return sorted({r.version for r in self.resources if r.group == group})

    def resolve(self, text: str) -> list[ApiResource]:
        """Preferred resources named by ``text`` as kubectl understands it.

        ``deployments``, ``deploy``, ``Deployment``, ``deployments.apps``,
        ``deployments.v1.apps`` and ``widgets.example.com`` all work; a bare name that
        several groups serve resolves to all of them.
        """
        wanted = text.strip().lower()
        candidates = self.preferred
        exact = [r for r in candidates if wanted in r.names()]
        if exact:
            return _prefer_core(exact)
        matches = []
        for resource in self.resources:
            for name in resource.names():
                group = resource.group.lower()
                if wanted in (f"{name}.{group}", f"{name}.{resource.version}.{group}"):
                    matches.append(resource)
        versioned = [r for r in matches if wanted.count(".") >= 2 and f".{r.version}." in wanted]
        if versioned:
            return versioned
        return [r for r in matches if r.preferred] or matches[:1]


def _prefer_core(matches: list[ApiResource]) -> list[ApiResource]:
    """Like kubectl, a bare name served by several groups means all of them (deduplicated)."""
    seen: dict[tuple[str, str], ApiResource] = {}
    for resource in matches:
        seen.setdefault((resource.group, resource.plural), resource)
    return list(seen.values())


def discover(transport: Transport, *, workers: int = 8) -> Discovery:
    """Read /api and /apis and every group/version below them (concurrently).

    A resource's preferred version is the first version, in the group's priority order
    (the preferred version first), that serves it: in 1.20 ``batch`` prefers v1, yet
    CronJob exists only in v1beta1, so a per-group choice would lose every CronJob.
    """
    versions: list[tuple[str, str, int]] = []  # (group, version, priority: 0 is highest)
    core = transport.request("GET", "/api")
    versions += [("", v, rank) for rank, v in enumerate(core.get("versions", []))]
    groups = transport.request("GET", "/apis")
    for group in groups.get("groups", []):
        preferred = (group.get("preferredVersion") or {}).get("version")
        ordered = [e["version"] for e in group.get("versions", [])]
        ordered.sort(key=lambda v: v != preferred)  # stable: the server's order otherwise
        versions += [(group["name"], v, rank) for rank, v in enumerate(ordered)]

    def fetch(item: tuple[str, str, int]) -> tuple[str, str, int, Any, str | None]:
        group, version, rank = item
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            return group, version, rank, transport.request("GET", path), None
        except ApiError as error:
            return group, version, rank, None, f"{error.status} {error.server_message}"

    ranked: list[tuple[int, ApiResource]] = []
    failures: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for group, version, rank, document, failure in pool.map(fetch, versions):
            if failure is not None:
                failures[f"{group}/{version}" if group else version] = failure
                continue
            ranked += [(rank, r) for r in _parse_resources(group, version, document)]
    best: dict[tuple[str, str], int] = {}
    for rank, resource in ranked:
        identity = (resource.group, resource.plural)
        best[identity] = min(rank, best.get(identity, rank))
    resources = [
        replace(resource, preferred=rank == best[(resource.group, resource.plural)])
        for rank, resource in ranked
    ]
    return Discovery(resources=resources, failures=failures)


def _parse_resources(group: str, version: str, document: Any) -> Iterable[ApiResource]:
    for entry in (document or {}).get("resources", []):
        if "/" in entry["name"]:  # subresources such as deployments/scale
            continue
        yield ApiResource(
            group=entry.get("group") or group,
            version=entry.get("version") or version,
            plural=entry["name"],
            kind=entry["kind"],
            namespaced=bool(entry.get("namespaced")),
            verbs=frozenset(entry.get("verbs") or ()),
            singular=entry.get("singularName") or "",
            short_names=tuple(entry.get("shortNames") or ()),
            categories=tuple(entry.get("categories") or ()),
        )


__all__ = ["ApiResource", "Discovery", "Unreachable", "discover"]
