"""Decide what a bundle holds: the selection, its dependencies, minus what is derived.

1. Base: the objects the flags select (namespaces, labels, kinds), or the ``--object`` roots.
2. Closure: roots pull in everything they depend on, transitively; otherwise only the
   cluster-scoped objects the selection depends on (``--include-cluster-resources=auto``).
   Each object records why it came along (``reasons``): the manifest shows it.
3. Kind filters apply to the result, dependencies included.
4. Derived and built-in objects are left out, each with its reason.
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict, deque
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.core.model import ManifestWarning, ObjectRef
from kbundle.core.selectors import Selector
from kbundle.select import reasons, rules
from kbundle.select.compact import Uid
from kbundle.select.facts import CRD, ObjectFacts
from kbundle.select.reasons import Need, Pick, Referral


@dataclass(frozen=True)
class SelectionRequest:
    """The selection flags, resolved (kinds as group kinds, roots as references)."""

    namespaces: frozenset[str] | None = None  # None: every namespace
    selector: Selector = field(default_factory=Selector)
    include_kinds: frozenset[str] | None = None
    exclude_kinds: frozenset[str] = frozenset()
    roots: tuple[ObjectRef, ...] = ()
    cluster_resources: str = "auto"  # auto | true | false
    include_owned: bool = False


@dataclass
class ExportPlan:
    exported: dict[ObjectRef, ObjectFacts]
    skipped: list[tuple[ObjectFacts, str]]
    warnings: list[ManifestWarning]
    reasons: Mapping[ObjectRef, str] = field(default_factory=dict)  # why each exported one is in
    by_uid: Mapping[Uid, ObjectFacts] = field(default_factory=dict)  # every object indexed

    def pick(self, ref: ObjectRef) -> Pick | None:
        """For an exported object the closure added, the referral its reason names and its
        steps from the selection; None for one the selection holds itself."""
        return self.reasons.pick(ref) if isinstance(self.reasons, _Reasons) else None

    def exports_uid(self, uid: Uid) -> bool:
        """Whether the object of this compact UID (``compact_uid``) is exported."""
        fact = self.by_uid.get(uid)
        return fact is not None and fact.ref in self.exported


class ObjectIndex:
    """Facts of the objects a plan considers (every object read, or one namespace's and
    those every namespace consults), with the reverse lookups the closure needs."""

    def __init__(self, facts: Iterable[ObjectFacts]) -> None:
        self.by_ref: dict[ObjectRef, ObjectFacts] = {}
        self.by_uid: dict[Uid, ObjectFacts] = {}
        self.selecting: dict[str, list[ObjectFacts]] = defaultdict(list)  # ns -> Service/PDB
        self.autoscalers: dict[ObjectRef, list[ObjectFacts]] = defaultdict(list)
        self.bindings: dict[ObjectRef, list[ObjectFacts]] = defaultdict(list)
        # (namespace, Service) -> its Endpoints and EndpointSlices. Built when first needed
        # (a Service without a selector): a cluster holds one or two per Service.
        self._endpoints: dict[tuple[str, str], list[ObjectFacts]] | None = None
        self.claims: dict[str, list[ObjectFacts]] = defaultdict(list)
        for fact in facts:
            self.add(fact)

    def add(self, fact: ObjectFacts) -> None:
        self.by_ref[fact.ref] = fact
        if fact.uid:
            self.by_uid[fact.uid] = fact
        if fact.pod_selector is not None:
            self.selecting[fact.ref.namespace].append(fact)
        if fact.scale_target is not None:
            self.autoscalers[fact.scale_target].append(fact)
        for subject in fact.subjects:
            self.bindings[subject].append(fact)
        if self._endpoints is not None and _serves_endpoints(fact):
            self._endpoints[(fact.ref.namespace, str(fact.service_name))].append(fact)
        if (fact.ref.group, fact.ref.kind) == ("", "PersistentVolumeClaim"):
            self.claims[fact.ref.namespace].append(fact)

    @contextlib.contextmanager
    def holding(self, facts: Sequence[ObjectFacts]) -> Iterator[None]:
        """The index with ``facts`` added for the duration of the block, and as it was
        before afterwards: one namespace's facts at a time over those every namespace
        consults."""
        for fact in facts:
            self.add(fact)
        try:
            yield
        finally:
            self._remove(facts)

    def _remove(self, facts: Sequence[ObjectFacts]) -> None:
        held = {id(fact) for fact in facts}
        touched: dict[str, set[Any]] = defaultdict(set)
        for fact in facts:
            if self.by_ref.get(fact.ref) is fact:
                del self.by_ref[fact.ref]
            if fact.uid and self.by_uid.get(fact.uid) is fact:
                del self.by_uid[fact.uid]
            if fact.pod_selector is not None:
                touched["selecting"].add(fact.ref.namespace)
            if fact.scale_target is not None:
                touched["autoscalers"].add(fact.scale_target)
            touched["bindings"].update(fact.subjects)
            if (fact.ref.group, fact.ref.kind) == ("", "PersistentVolumeClaim"):
                touched["claims"].add(fact.ref.namespace)
        for name, keys in touched.items():
            table: dict[Any, list[ObjectFacts]] = getattr(self, name)
            for key in keys:
                kept = [f for f in table.get(key, ()) if id(f) not in held]
                if kept:
                    table[key] = kept
                else:
                    table.pop(key, None)
        self._endpoints = None  # built again when next needed, from what the index holds

    def dependencies(
        self, fact: ObjectFacts, *, cluster_scoped_only: bool = False
    ) -> tuple[list[Need], list[ObjectRef]]:
        """Objects ``fact`` needs (found, with how), and references to objects that do not
        exist.

        ``cluster_scoped_only`` skips the namespaced reverse lookups (Services selecting a
        workload's pods...), which cost a scan per workload and would be discarded anyway.
        """
        found: list[Need] = []
        missing: list[ObjectRef] = []
        for ref in sorted(fact.references):
            target = self.by_ref.get(ref)
            if target is None:
                missing.append(ref)
            elif fact.custom and (ref.group, ref.kind) == CRD:
                found.append(Need(target, reasons.CUSTOM_RESOURCE))
            else:
                found.append(Need(target, reasons.ROLE if ref == fact.role else reasons.REFERENCE))
        found += [
            Need(self.by_uid[o.uid], reasons.OWNER) for o in fact.owners if o.uid in self.by_uid
        ]
        if fact.ref.namespace:
            namespace = self.by_ref.get(ObjectRef("", "Namespace", "", fact.ref.namespace))
            if namespace is not None:
                found.append(Need(namespace, reasons.NAMESPACE))
        if (fact.ref.group, fact.ref.kind) == ("", "ServiceAccount"):
            bindings = sorted(self.bindings.get(fact.ref, []), key=lambda b: b.ref)
            found += [Need(b, reasons.BINDING) for b in bindings]  # ClusterRoleBindings too
            found += self._granted_crds(bindings)
        if cluster_scoped_only:
            return found, missing
        for pattern in fact.claim_patterns:
            found += [
                Need(c, reasons.CLAIM)
                for c in self.claims[fact.ref.namespace]
                if re.match(pattern, c.ref.name)
            ]
        if fact.pod_labels is not None:
            found += [
                Need(s, reasons.SELECTS)
                for s in self.selecting[fact.ref.namespace]
                if s.pod_selector is not None and s.pod_selector.matches(fact.pod_labels)
            ]
            found += [Need(a, reasons.SCALES) for a in self.autoscalers.get(fact.ref, [])]
        if (fact.ref.group, fact.ref.kind) == ("", "Service") and not fact.service_has_selector:
            found += [
                Need(e, reasons.ENDPOINTS)
                for e in self._endpoints_of(fact.ref.namespace, fact.ref.name)
            ]
        return found, missing

    def _endpoints_of(self, namespace: str, service: str) -> list[ObjectFacts]:
        if self._endpoints is None:
            self._endpoints = defaultdict(list)
            for fact in self.by_ref.values():
                if _serves_endpoints(fact):
                    self._endpoints[(fact.ref.namespace, str(fact.service_name))].append(fact)
        return self._endpoints.get((namespace, service), [])

    def _granted_crds(self, bindings: list[ObjectFacts]) -> list[Need]:
        """CRDs that exist among those named by the roles ``bindings`` grant: an operator's
        definitions, needed before any custom resource of them exists. Default roles every
        cluster has (``admin``, ``edit``...) are skipped: CRDs aggregated into them are some
        other operator's."""
        found: list[Need] = []
        for binding in bindings:
            role = self.by_ref.get(binding.role) if binding.role is not None else None
            if role is None or role.intrinsic_skip is not None:
                continue
            for ref in sorted(role.granted_crds):
                target = self.by_ref.get(ref)
                if target is not None:
                    found.append(Need(target, reasons.GRANT, (binding.ref, role.ref)))
        return found


class _Chosen(Mapping[ObjectRef, ObjectFacts]):
    """The selection's objects and those it pulled in (``added``). The selection's facts are
    read from the index, not copied: a namespace's worth of objects, a table of 2.5 MiB at
    50,000 of them."""

    def __init__(self, index: ObjectIndex, base: Mapping[ObjectRef, str]) -> None:
        self._by_ref = index.by_ref
        self._base = base
        self.added: dict[ObjectRef, ObjectFacts] = {}

    def __getitem__(self, ref: ObjectRef) -> ObjectFacts:
        found = self.added.get(ref)
        if found is not None:
            return found
        if ref in self._base:
            return self._by_ref[ref]
        raise KeyError(ref)

    def __contains__(self, ref: object) -> bool:
        return ref in self._base or ref in self.added

    def __iter__(self) -> Iterator[ObjectRef]:
        yield from self._base
        yield from self.added

    def __len__(self) -> int:
        return len(self._base) + len(self.added)


def _serves_endpoints(fact: ObjectFacts) -> bool:
    return bool(fact.service_name) and fact.ref.kind in ("Endpoints", "EndpointSlice")


def plan_export(index: ObjectIndex, request: SelectionRequest) -> ExportPlan:
    """What goes into the bundle, what is left out (with reasons), and warnings."""
    if request.roots:
        base = {_root(index, ref).ref: reasons.root(ref) for ref in request.roots}
    else:
        base = selection_base(index.by_ref.values(), request)
    return plan_from(index, request, base)


def plan_from(
    index: ObjectIndex, request: SelectionRequest, base: dict[ObjectRef, str]
) -> ExportPlan:
    """``plan_export`` from a selection already made: ``base``, objects of ``index`` with
    why each is selected."""
    warnings: list[ManifestWarning] = []
    allow_cluster = request.cluster_resources != "false"
    added_at: dict[ObjectRef, int] = {}
    if request.roots:
        chosen, referrals, added_at = _closure(
            index, base, lambda f: allow_cluster or f.namespaced, warnings
        )
    elif allow_cluster:
        chosen, referrals, added_at = _closure(
            index, base, lambda f: not f.namespaced, None, cluster_scoped_only=True
        )
    else:
        chosen, referrals = _Chosen(index, base), {}
    if request.include_kinds is not None or request.exclude_kinds:
        chosen = {ref: f for ref, f in chosen.items() if _kind_allowed(f, request)}
    exported: dict[ObjectRef, ObjectFacts] = {}
    skipped: list[tuple[ObjectFacts, str]] = []
    for ref in sorted(chosen):
        reason = _derived_reason(chosen[ref], chosen, index, request)
        if reason is None:
            exported[ref] = chosen[ref]
        else:
            skipped.append((chosen[ref], reason))
    return ExportPlan(
        exported=exported,
        skipped=skipped,
        warnings=warnings,
        reasons=_Reasons(exported, base, referrals, added_at),
        by_uid=index.by_uid,
    )


class _Reasons(Mapping[ObjectRef, str]):
    """Why each exported object is in: the selection's own reason for what it selected, else
    the closure's, picked when asked. A namespace's worth of objects would otherwise hold a
    second table of the same reasons as the selection's."""

    def __init__(
        self,
        exported: dict[ObjectRef, ObjectFacts],
        base: dict[ObjectRef, str],
        referrals: dict[ObjectRef, list[Referral]],
        added_at: dict[ObjectRef, int],
    ) -> None:
        self._exported = exported
        self._base = base
        self._referrals = referrals
        self._added_at = added_at

    def __getitem__(self, ref: ObjectRef) -> str:
        if ref not in self._exported:
            raise KeyError(ref)
        reason = self._base.get(ref)
        if reason is None:
            reason = reasons.chosen(self._referrals[ref], self._exported)
        return reason

    def pick(self, ref: ObjectRef) -> Pick | None:
        """The referral behind the reason of an exported object the closure added, with its
        steps from the selection; None for one the selection itself holds."""
        if ref not in self._exported or ref in self._base:
            return None
        return reasons.pick(self._referrals[ref], self._exported, self._added_at[ref])

    def __iter__(self) -> Iterator[ObjectRef]:
        return iter(self._exported)

    def __len__(self) -> int:
        return len(self._exported)


def _root(index: ObjectIndex, ref: ObjectRef) -> ObjectFacts:
    fact = index.by_ref.get(ref)
    if fact is None:
        where = f" in namespace {ref.namespace}" if ref.namespace else ""
        raise UsageError(f"--object {ref.group_kind}/{ref.name}: not found{where}")
    return fact


def selection_base(
    facts: Collection[ObjectFacts], request: SelectionRequest
) -> dict[ObjectRef, str]:
    """What the flags select (without ``--object``) among ``facts``, each with why."""
    labelled = not request.selector.empty
    base = {
        f.ref: reasons.in_namespace(f.ref.namespace, labelled=labelled)
        if f.namespaced
        else reasons.ALL_CLUSTER_SCOPED
        for f in facts
        if _in_base(f, request)
    }
    for namespace in _selected_namespaces(facts, request):
        base.setdefault(namespace.ref, reasons.NAMESPACE_OF_SELECTION)
    return base


def _in_base(fact: ObjectFacts, request: SelectionRequest) -> bool:
    if fact.namespaced:
        in_scope = request.namespaces is None or fact.ref.namespace in request.namespaces
    else:
        in_scope = request.cluster_resources == "true"
    return in_scope and request.selector.matches(fact.labels) and _kind_allowed(fact, request)


def _selected_namespaces(
    facts: Iterable[ObjectFacts], request: SelectionRequest
) -> list[ObjectFacts]:
    """Namespace objects of the namespaces named by -n (or all with -A), without -l."""
    if not request.selector.empty or request.cluster_resources == "false":
        return []
    return [
        f
        for f in facts
        if (f.ref.group, f.ref.kind) == ("", "Namespace")
        and (request.namespaces is None or f.ref.name in request.namespaces)
    ]


def _kind_allowed(fact: ObjectFacts, request: SelectionRequest) -> bool:
    kind = fact.ref.group_kind
    if kind in request.exclude_kinds:
        return False
    return request.include_kinds is None or kind in request.include_kinds


def _closure(
    index: ObjectIndex,
    base: dict[ObjectRef, str],
    accepts: Callable[[ObjectFacts], bool],
    warnings: list[ManifestWarning] | None,
    *,
    cluster_scoped_only: bool = False,
) -> tuple[Mapping[ObjectRef, ObjectFacts], dict[ObjectRef, list[Referral]], dict[ObjectRef, int]]:
    """Base plus whatever it depends on, transitively, through targets ``accepts`` takes;
    and for each object added, every edge to it from an object one step closer to the base
    (breadth first: the fewest steps), for ``reasons.chosen`` to pick from, so that the
    reason never depends on the order of the queue."""
    chosen = _Chosen(index, base)
    added_at: dict[ObjectRef, int] = {}  # steps from the base; the base itself is at 0

    def depth(ref: ObjectRef) -> int | None:
        return 0 if ref in base else added_at.get(ref)

    referrals: dict[ObjectRef, list[Referral]] = defaultdict(list)
    queue = deque(chosen[ref] for ref in sorted(base))
    while queue:
        fact = queue.popleft()
        found, missing = index.dependencies(fact, cluster_scoped_only=cluster_scoped_only)
        step = (depth(fact.ref) or 0) + 1
        for need in found:
            target = need.target.ref
            if target not in chosen and accepts(need.target):
                chosen.added[target] = need.target
                added_at[target] = step
                queue.append(need.target)
            if depth(target) == step:
                referrals[target].append((fact.ref, need))
        if warnings is not None:
            warnings.extend(
                ManifestWarning(
                    "missing-dependency", f"{fact.ref} refers to {ref}, which does not exist"
                )
                for ref in missing
                if ref.kind != "ServiceAccount" or ref.name != "default"
            )
    return chosen, referrals, added_at


def _owned_by_exported_builtin(
    fact: ObjectFacts, chosen: Mapping[ObjectRef, ObjectFacts], index: ObjectIndex
) -> bool:
    """Its controller is exported and built in, so the destination's controller-manager
    recreates it. A custom resource's operator may not run there: those are kept."""
    for owner in fact.owners:
        target = index.by_uid.get(owner.uid)
        if (
            owner.controller
            and target is not None
            and target.ref in chosen
            and target.intrinsic_skip is None
            and not target.custom
        ):
            return True
    return False


def _derived_reason(
    fact: ObjectFacts,
    chosen: Mapping[ObjectRef, ObjectFacts],
    index: ObjectIndex,
    request: SelectionRequest,
) -> str | None:
    if fact.intrinsic_skip is not None:
        return fact.intrinsic_skip
    if not request.include_owned and _owned_by_exported_builtin(fact, chosen, index):
        return rules.OWNED
    kind = (fact.ref.group, fact.ref.kind)
    if kind == ("", "Endpoints"):
        service = index.by_ref.get(ObjectRef("", "Service", fact.ref.namespace, fact.ref.name))
        if service is not None and service.service_has_selector:
            return rules.ENDPOINTS_OF_SELECTOR
    if kind == ("discovery.k8s.io", "EndpointSlice") and rules.is_controller_managed_slice(
        fact.managed_by
    ):
        return rules.MANAGED_SLICE
    if kind == ("", "Secret") and fact.token_for is not None:
        account = index.by_ref.get(
            ObjectRef("", "ServiceAccount", fact.ref.namespace, fact.token_for)
        )
        if rules.is_generated_token(
            fact.ref.name, fact.token_for, account.listed_secrets if account else None
        ):
            return rules.GENERATED_TOKEN
    return None
