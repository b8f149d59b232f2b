"""Read everything in scope from a cluster once: objects spooled to disk, and their facts.

Every listable resource discovery offers is read at its preferred version, kinds
concurrently and pages sequentially. Each page goes to an on-disk spool (``SpoolFile``) as
it arrives, so memory holds whole objects only for the pages being read. Facts (small, with
the object's place in the spool) stay in memory for the objects every namespace's plan
consults (cluster-scoped objects, Roles and RoleBindings) and go to disk, by namespace, for
the others (``FactStore``): an export plans one namespace at a time. A list that fails
mid-way (an expired continue token, a 5xx, a dropped connection) is read again from its
start, that list alone. A kind the user may not list becomes a warning, never a crash and
never a silent gap.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from kbundle.cluster import ApiError, ApiResource, Cluster, Unreachable
from kbundle.cluster.retry import is_transient
from kbundle.core.model import (
    ManifestWarning,
    ObjectRef,
    ProgressCallback,
    SkipCount,
    group_kind,
)
from kbundle.core.progress import LISTING, begin_phase
from kbundle.core.spool import SpoolFile
from kbundle.select.compact import Uid, sharing
from kbundle.select.fact_store import FactStore, Written
from kbundle.select.facts import ObjectFacts, facts_of
from kbundle.select.rules import NOT_EXPORTED_KINDS

log = logging.getLogger(__name__)
LIST_ATTEMPTS = 3  # reads of one list from its start before it becomes a warning
# Objects per list request. Eight lists in flight hold eight pages, and what a page leaves
# behind fragments the heap: at 80,000 listed objects, 250 rather than the apiserver-friendly
# 500 took 45 MiB off the peak of the export, and 100 rather than 250 another 15, for no
# measurable time.
LIST_PAGE_SIZE = 100


@dataclass(frozen=True)
class Scope:
    """Which lists to run: namespaces (None: all), and whether cluster-scoped kinds count."""

    namespaces: tuple[str, ...] | None
    cluster_scoped: bool
    all_cluster_scoped: bool = False  # every cluster-scoped object is selected, not only deps
    skip_kinds: frozenset[str] = frozenset()  # group kinds not worth reading at all


# Namespaced kinds every namespace's plan consults: a RoleBinding can bind a ServiceAccount
# of another namespace, and grant it a Role of its own namespace.
SHARED_KINDS = frozenset(
    {("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding")}
)


@dataclass(frozen=True)
class ObjectGroup:
    """Facts of some of the objects read, one per object, and the resource each of a type
    that two resources list was read from (``Snapshot.resource_key_of``)."""

    facts: list[ObjectFacts]
    resource_of: dict[ObjectRef, str] = field(default_factory=dict)


@dataclass
class Snapshot:
    """What was read: facts by object, the objects themselves on disk, what went wrong."""

    server_version: str
    context: str
    shared: ObjectGroup  # cluster-scoped objects, Roles and RoleBindings
    namespaced: FactStore  # every other object's facts, by namespace
    resources: dict[str, ApiResource]  # resource key -> resource
    stored: SpoolFile  # every object read, at the place its facts say
    custom_resource_kinds: frozenset[str]  # group kinds served by CRDs
    warnings: list[ManifestWarning] = field(default_factory=list)
    not_read: list[SkipCount] = field(default_factory=list)
    # The resource each object was read from. Objects carry the apiVersion and kind of their
    # list, so one table by those two serves nearly all; a group's ``resource_of`` keys by
    # ref only the objects of a type that two resources list (a dict per object was 5 MiB
    # at 80,000).
    resource_by_type: dict[tuple[str, str], str] = field(default_factory=dict)

    def resource_key_of(self, fact: ObjectFacts, group: ObjectGroup) -> str:
        """The key of the resource ``fact``'s object (one of ``group``) was read from."""
        key = self.resource_by_type.get((fact.api_version, fact.ref.kind))
        return key if key is not None else group.resource_of[fact.ref]

    def namespaces(self) -> list[str]:
        """The namespaces with objects outside ``shared``, in order."""
        return self.namespaced.namespaces()

    def namespace(self, name: str) -> ObjectGroup:
        """The objects of namespace ``name`` outside ``shared``, read back from disk."""
        by_resource: dict[str, list[ObjectFacts]] = defaultdict(list)
        for key, facts in self.namespaced.load(name):
            by_resource[key] += facts
        return _deduplicated(by_resource, self.resources, self.resource_by_type)

    def whole(self) -> ObjectGroup:
        """Every object read: for a plan that follows references across namespaces."""
        facts = list(self.shared.facts)
        resource_of = dict(self.shared.resource_of)
        for name in self.namespaces():
            group = self.namespace(name)
            facts += group.facts
            resource_of |= group.resource_of
        return ObjectGroup(facts, resource_of)


def resource_key(resource: ApiResource) -> str:
    return f"{resource.group or 'core'}.{resource.version}.{resource.plural}"


def take_snapshot(
    cluster: Cluster,
    scope: Scope,
    spool: Path,
    *,
    workers: int = 8,
    progress: ProgressCallback | None = None,
) -> Snapshot:
    """List everything in ``scope``, objects to a spool in the folder ``spool``; return the
    index of what was found."""
    begin_phase(progress, LISTING)
    discovery = cluster.discovery(refresh=True)
    warnings = [
        ManifestWarning(
            "discovery-failed", f"{gv}: {reason} (kinds of this API could not be exported)"
        )
        for gv, reason in sorted(discovery.failures.items())
    ]
    crd_names = _custom_resource_names(cluster, warnings)
    readable = [
        r
        for r in discovery.preferred
        if r.listable and "get" in r.verbs and (r.namespaced or scope.cluster_scoped)
    ]
    to_read = [
        r
        for r in readable
        if r.group_kind not in NOT_EXPORTED_KINDS and r.group_kind not in scope.skip_kinds
    ]
    to_count = _worth_counting(readable, scope)
    tasks = [(r, ns) for r in to_read for ns in _namespaces_for(r, scope)]

    resources = {resource_key(r): r for r in to_read}
    shared: dict[str, list[ObjectFacts]] = defaultdict(list)
    namespaced = FactStore(spool)
    stored = SpoolFile(spool)
    done = 0
    with sharing(), ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            pool.submit(
                _read,
                cluster,
                r,
                ns,
                stored,
                spill=namespaced,
                crd_name=crd_names.get((r.group, r.plural)),
            ): (r, ns)
            for r, ns in tasks
        }
        for future in as_completed(futures):
            resource, namespace = futures.pop(future)  # its result goes with it
            done += 1
            try:
                consulted, written = future.result()
            except (ApiError, Unreachable) as error:
                warnings.append(_list_warning(resource, namespace, error))
            else:
                shared[resource_key(resource)] += consulted
                namespaced.commit(written)
            if progress is not None:
                progress(done, len(tasks), resource.group_resource)
        counts = list(pool.map(lambda r: _count(cluster, r, scope), to_count))

    by_type = _unambiguous_types(resources)
    return Snapshot(
        server_version=cluster.server_version(),
        context=cluster.target.context,
        shared=_deduplicated(shared, resources, by_type),
        namespaced=namespaced,
        resources=resources,
        stored=stored,
        custom_resource_kinds=frozenset(
            group_kind(r.kind, r.group)
            for r in discovery.resources
            if (r.group, r.plural) in crd_names
        ),
        warnings=warnings,
        not_read=[c for c in counts if c.count],
        resource_by_type=by_type,
    )


def consulted_everywhere(fact: ObjectFacts) -> bool:
    """Whether every namespace's plan consults the object: its facts stay in memory."""
    return not fact.ref.namespace or (fact.ref.group, fact.ref.kind) in SHARED_KINDS


def _worth_counting(readable: list[ApiResource], scope: Scope) -> list[ApiResource]:
    """Never-exported kinds in the selected scope, one resource per kind name (Events are
    served by two groups)."""
    chosen: dict[str, ApiResource] = {}
    for resource in sorted(readable, key=_stability):
        if resource.group_kind not in NOT_EXPORTED_KINDS:
            continue
        if resource.namespaced or scope.all_cluster_scoped:
            chosen.setdefault(resource.kind, resource)
    return sorted(chosen.values(), key=lambda r: r.group_kind)


def _namespaces_for(resource: ApiResource, scope: Scope) -> list[str | None]:
    if not resource.namespaced or scope.namespaces is None:
        return [None]
    return list(scope.namespaces)


def _read(
    cluster: Cluster,
    resource: ApiResource,
    namespace: str | None,
    stored: SpoolFile,
    *,
    spill: FactStore,
    crd_name: str | None,
) -> tuple[list[ObjectFacts], list[Written]]:
    """List one resource in one scope into ``stored``: the facts of the objects every plan
    consults, and the chunks of the others' facts written to ``spill`` page by page (to be
    committed), each fact with its object's place. A failure mid-way reads this list again
    from its start; what the failed attempt wrote stays on disk, but nothing points at it."""
    key = resource_key(resource)
    attempt = 1
    while True:
        consulted: list[ObjectFacts] = []
        written: list[Written] = []
        try:
            for page in cluster.list_pages(resource, namespace=namespace, page_size=LIST_PAGE_SIZE):
                by_namespace: dict[str, list[ObjectFacts]] = defaultdict(list)
                for obj in page:
                    fact = facts_of(obj, crd_name=crd_name, place=stored.append(obj))
                    if consulted_everywhere(fact):
                        consulted.append(fact)
                    else:
                        by_namespace[fact.ref.namespace].append(fact)
                written += [spill.write(ns, key, facts) for ns, facts in by_namespace.items()]
            return consulted, written
        except (ApiError, Unreachable) as error:
            if attempt >= LIST_ATTEMPTS or not _worth_reading_again(error):
                raise
            where = f" in {namespace}" if namespace else ""
            log.warning(
                "listing %s%s failed (%s); reading it again from the start",
                resource.group_resource,
                where,
                error,
            )
            attempt += 1


def _worth_reading_again(error: ApiError | Unreachable) -> bool:
    """An expired continue token (410) or a transient failure; a 403 or 404 would only
    answer the same again."""
    return (isinstance(error, ApiError) and error.status == 410) or is_transient(error)


def _custom_resource_names(
    cluster: Cluster, warnings: list[ManifestWarning]
) -> dict[tuple[str, str], str]:
    """(group, plural) -> CRD name for every CRD, from a metadata-only list."""
    crds = cluster.discovery().preferred_for("apiextensions.k8s.io", "CustomResourceDefinition")
    if crds is None:
        return {}
    try:
        page = cluster.transport.request(
            "GET",
            crds.path(),
            accept="application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        )
    except (ApiError, Unreachable) as error:
        warnings.append(
            ManifestWarning(
                "crds-unreadable",
                f"cannot list CRDs ({error}); custom resources are placed by what they reference",
            )
        )
        return {}
    names = {}
    for item in page.get("items") or []:
        name = item["metadata"]["name"]
        plural, _, group = name.partition(".")
        names[(group, plural)] = name
    return names


def _count(cluster: Cluster, resource: ApiResource, scope: Scope) -> SkipCount:
    """How many objects of a never-exported kind are in scope (one cheap request each)."""
    total = 0
    for namespace in _namespaces_for(resource, scope):
        try:
            page = cluster.transport.request("GET", resource.path(namespace), query={"limit": 1})
        except (ApiError, Unreachable):
            continue
        meta = page.get("metadata") or {}
        total += len(page.get("items") or []) + int(meta.get("remainingItemCount") or 0)
    return SkipCount(resource.group_kind, NOT_EXPORTED_KINDS[resource.group_kind], total)


def _list_warning(
    resource: ApiResource, namespace: str | None, error: ApiError | Unreachable
) -> ManifestWarning:
    where = f" in namespace {namespace}" if namespace else ""
    if isinstance(error, ApiError) and error.status == 403:
        return ManifestWarning(
            "forbidden",
            f"not allowed to list {resource.group_resource}{where}; none of them were exported",
        )
    return ManifestWarning(
        "list-failed", f"could not list {resource.group_resource}{where}: {error}"
    )


def _unambiguous_types(resources: dict[str, ApiResource]) -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> resource key, for the types exactly one resource lists."""
    keys: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, resource in resources.items():
        keys[(resource.api_version, resource.kind)].append(key)
    return {served: found[0] for served, found in keys.items() if len(found) == 1}


def _deduplicated(
    facts_by_resource: dict[str, list[ObjectFacts]],
    resources: dict[str, ApiResource],
    by_type: dict[tuple[str, str], str],
) -> ObjectGroup:
    """One entry per object even when two groups serve it (extensions and networking
    Ingresses, core and events.k8s.io Events): same UID, keep the most stable version (both
    are in the same namespace, so in the same group). Also the resource of each object whose
    type ``by_type`` cannot tell."""
    facts: list[ObjectFacts] = []
    seen: set[Uid] = set()
    resource_of: dict[ObjectRef, str] = {}
    for key in sorted(facts_by_resource, key=lambda k: (_stability(resources[k]), k)):
        resource = resources[key]
        ambiguous = (resource.api_version, resource.kind) not in by_type
        for fact in facts_by_resource.pop(key):
            if fact.uid:
                if fact.uid in seen:
                    continue
                seen.add(fact.uid)
            facts.append(fact)
            if ambiguous:
                resource_of[fact.ref] = key
    return ObjectGroup(facts, resource_of)


def _stability(resource: ApiResource) -> tuple[int, int, str]:
    """Lower is preferred: GA before beta before alpha, then the core group, then by name."""
    version = resource.version
    maturity = 2 if "alpha" in version else 1 if "beta" in version else 0
    return (maturity, 0 if resource.group == "" else 1, resource.group)
