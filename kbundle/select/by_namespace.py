"""Plan an export one namespace at a time, so that memory holds one namespace's facts.

A selection by namespaces, labels or kinds (not ``--object``) pulls in only cluster-scoped
objects beyond what it selects, so everything a namespaced object's fate depends on lies in
its own namespace (owners, its Service, its ServiceAccount) or among the objects every plan
consults (``Snapshot.shared``: cluster-scoped objects, Roles and RoleBindings, which may
bind a ServiceAccount of another namespace). Each namespace is planned with
``plan_from`` over those shared objects and its own, and the result is the same as
``plan_export`` over the whole cluster:

- a namespaced object is chosen, kept or left out by what the plan of its namespace sees,
  which is all that the whole plan would consult for it;
- a cluster-scoped object is chosen when some namespace's plan (or the cluster-scoped
  selection's own) reaches it, and whether it is left out depends only on what it
  reaches itself, the same from every plan;
- its reason is that of the fewest steps from the selection over all plans (a distance
  from a union of starts is the least of the distances from each), ties broken as
  ``reasons.chosen`` breaks them.
"""

from __future__ import annotations

from collections import defaultdict

from kbundle.core.model import ObjectRef
from kbundle.select.compact import Uid
from kbundle.select.facts import ObjectFacts
from kbundle.select.layout import ExportLayout
from kbundle.select.plan import (
    ExportPlan,
    ObjectIndex,
    SelectionRequest,
    plan_from,
    selection_base,
)
from kbundle.select.reasons import Pick
from kbundle.select.snapshot import ObjectGroup, Snapshot


def plan_by_namespace(snapshot: Snapshot, request: SelectionRequest) -> ExportLayout:
    """The layout ``layout_of(plan_export(...))`` gives for the whole cluster, planned one
    namespace at a time. Not for ``--object`` selections (their closure follows references
    from one namespace into others)."""
    if request.roots:
        raise ValueError("a selection of --object roots is planned over the whole cluster")
    shared = snapshot.shared
    index = ObjectIndex(shared.facts)
    shared_by_namespace: dict[str, list[ObjectFacts]] = defaultdict(list)
    for fact in shared.facts:
        if fact.namespaced:
            shared_by_namespace[fact.ref.namespace].append(fact)
    cluster = _ClusterScoped(selection_base([f for f in shared.facts if not f.namespaced], request))
    layout = ExportLayout()

    cluster.take(plan_from(index, request, dict(cluster.base)))
    for namespace in sorted(set(snapshot.namespaces()) | set(shared_by_namespace)):
        own = snapshot.namespace(namespace)
        mine = ObjectGroup(
            [*own.facts, *shared_by_namespace.get(namespace, ())],
            {**shared.resource_of, **own.resource_of},
        )
        with index.holding(own.facts):
            plan = plan_from(index, request, selection_base(mine.facts, request))
            cluster.take(plan)
            _lay_out_namespaced(plan, snapshot, mine, layout)

    for ref in sorted(cluster.exported, key=lambda r: r.name):
        fact = cluster.exported[ref]
        layout.add(fact, snapshot.resource_key_of(fact, shared), cluster.exports_uid)
        layout.cluster_scoped[ref] = cluster.reason(ref)
    for fact, reason in cluster.skipped.values():
        layout.skip(fact, reason)
    return layout


def _lay_out_namespaced(
    plan: ExportPlan, snapshot: Snapshot, group: ObjectGroup, layout: ExportLayout
) -> None:
    """The namespaced objects of one namespace's plan, by name (namespaces come in order, so
    each file's objects come by namespace, then name)."""
    for ref in sorted((r for r in plan.exported if r.namespace), key=lambda r: r.name):
        fact = plan.exported[ref]
        layout.add(fact, snapshot.resource_key_of(fact, group), plan.exports_uid)
    for fact, reason in plan.skipped:
        if fact.namespaced:
            layout.skip(fact, reason)


class _ClusterScoped:
    """The cluster-scoped objects of every plan, each with the reason of the fewest steps
    from the selection (``base``: those the selection holds itself)."""

    def __init__(self, base: dict[ObjectRef, str]) -> None:
        self.base = base
        self.exported: dict[ObjectRef, ObjectFacts] = {}
        self.skipped: dict[ObjectRef, tuple[ObjectFacts, str]] = {}
        self._picks: dict[ObjectRef, Pick] = {}
        self._uids: set[Uid] = set()

    def take(self, plan: ExportPlan) -> None:
        for ref, fact in plan.exported.items():
            if ref.namespace:
                continue
            if ref not in self.exported:
                self.exported[ref] = fact
                if fact.uid:
                    self._uids.add(fact.uid)
            if ref in self.base:
                continue
            pick = plan.pick(ref)
            if pick is not None and (ref not in self._picks or pick < self._picks[ref]):
                self._picks[ref] = pick
        for fact, reason in plan.skipped:
            if not fact.namespaced:
                self.skipped.setdefault(fact.ref, (fact, reason))

    def exports_uid(self, uid: Uid) -> bool:
        return uid in self._uids

    def reason(self, ref: ObjectRef) -> str:
        base = self.base.get(ref)
        return base if base is not None else self._picks[ref].reason
