"""Decide what a bundle holds: the selection, its dependencies, minus what is derived.

1. Base: the objects the flags select (namespaces, labels, kinds), or the ``--object`` roots.
2. Closure: roots pull in everything they depend on, transitively; otherwise only the
   cluster-scoped objects the selection depends on (``--include-cluster-resources=auto``).
3. Kind filters apply to the result, dependencies included.
4. Derived and built-in objects are left out, each with its reason.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kbundle.core.errors import UsageError
from kbundle.core.model import ManifestWarning, ObjectRef
from kbundle.core.selectors import Selector
from kbundle.select import rules
from kbundle.select.facts import ObjectFacts


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

    @property
    def exported_uids(self) -> frozenset[str]:
        return frozenset(f.uid for f in self.exported.values() if f.uid)

    @property
    def exported_persistent_volumes(self) -> frozenset[str]:
        return frozenset(
            r.name for r in self.exported if (r.group, r.kind) == ("", "PersistentVolume")
        )


class ObjectIndex:
    """Facts of every object read, with the reverse lookups the closure needs."""

    def __init__(self, facts: Iterable[ObjectFacts]) -> None:
        self.by_ref: dict[ObjectRef, ObjectFacts] = {}
        self.by_uid: dict[str, ObjectFacts] = {}
        self.selecting: dict[str, list[ObjectFacts]] = defaultdict(list)  # ns -> Service/PDB
        self.autoscalers: dict[ObjectRef, list[ObjectFacts]] = defaultdict(list)
        self.bindings: dict[ObjectRef, list[ObjectFacts]] = defaultdict(list)
        self.endpoints: dict[tuple[str, str], list[ObjectFacts]] = defaultdict(list)
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
        if fact.service_name and fact.ref.kind in ("Endpoints", "EndpointSlice"):
            self.endpoints[(fact.ref.namespace, fact.service_name)].append(fact)
        if (fact.ref.group, fact.ref.kind) == ("", "PersistentVolumeClaim"):
            self.claims[fact.ref.namespace].append(fact)

    def dependencies(
        self, fact: ObjectFacts, *, cluster_scoped_only: bool = False
    ) -> tuple[list[ObjectFacts], list[ObjectRef]]:
        """Objects ``fact`` needs (found), and references to objects that do not exist.

        ``cluster_scoped_only`` skips the namespaced reverse lookups (Services selecting a
        workload's pods...), which cost a scan per workload and would be discarded anyway.
        """
        found: list[ObjectFacts] = []
        missing: list[ObjectRef] = []
        for ref in sorted(fact.references):
            target = self.by_ref.get(ref)
            if target is not None:
                found.append(target)
            else:
                missing.append(ref)
        found += [self.by_uid[o.uid] for o in fact.owners if o.uid in self.by_uid]
        if fact.ref.namespace:
            namespace = self.by_ref.get(ObjectRef("", "Namespace", "", fact.ref.namespace))
            if namespace is not None:
                found.append(namespace)
        if (fact.ref.group, fact.ref.kind) == ("", "ServiceAccount"):
            found += self.bindings.get(fact.ref, [])  # ClusterRoleBindings are cluster-scoped
        if cluster_scoped_only:
            return found, missing
        for pattern in fact.claim_patterns:
            found += [c for c in self.claims[fact.ref.namespace] if re.match(pattern, c.ref.name)]
        if fact.pod_labels is not None:
            found += [
                s
                for s in self.selecting[fact.ref.namespace]
                if s.pod_selector is not None and s.pod_selector.matches(fact.pod_labels)
            ]
            found += self.autoscalers.get(fact.ref, [])
        if (fact.ref.group, fact.ref.kind) == ("", "Service") and not fact.service_has_selector:
            found += self.endpoints.get((fact.ref.namespace, fact.ref.name), [])
        return found, missing


def plan_export(index: ObjectIndex, request: SelectionRequest) -> ExportPlan:
    """What goes into the bundle, what is left out (with reasons), and warnings."""
    warnings: list[ManifestWarning] = []
    allow_cluster = request.cluster_resources != "false"
    if request.roots:
        base = [_root(index, ref) for ref in request.roots]
        chosen = _closure(index, base, lambda f: allow_cluster or f.namespaced, warnings)
    else:
        base = [f for f in index.by_ref.values() if _in_base(f, request)]
        base += _selected_namespaces(index, request)
        if allow_cluster:
            chosen = _closure(
                index, base, lambda f: not f.namespaced, None, cluster_scoped_only=True
            )
        else:
            chosen = {f.ref: f for f in base}
    chosen = {ref: f for ref, f in chosen.items() if _kind_allowed(f, request)}
    exported: dict[ObjectRef, ObjectFacts] = {}
    skipped: list[tuple[ObjectFacts, str]] = []
    for ref in sorted(chosen):
        reason = _derived_reason(chosen[ref], chosen, index, request)
        if reason is None:
            exported[ref] = chosen[ref]
        else:
            skipped.append((chosen[ref], reason))
    return ExportPlan(exported=exported, skipped=skipped, warnings=warnings)


def _root(index: ObjectIndex, ref: ObjectRef) -> ObjectFacts:
    fact = index.by_ref.get(ref)
    if fact is None:
        where = f" in namespace {ref.namespace}" if ref.namespace else ""
        raise UsageError(f"--object {ref.group_kind}/{ref.name}: not found{where}")
    return fact


def _in_base(fact: ObjectFacts, request: SelectionRequest) -> bool:
    if fact.namespaced:
        in_scope = request.namespaces is None or fact.ref.namespace in request.namespaces
    else:
        in_scope = request.cluster_resources == "true"
    return in_scope and request.selector.matches(fact.labels) and _kind_allowed(fact, request)


def _selected_namespaces(index: ObjectIndex, request: SelectionRequest) -> list[ObjectFacts]:
    """Namespace objects of the namespaces named by -n (or all with -A), without -l."""
    if not request.selector.empty or request.cluster_resources == "false":
        return []
    return [
        f
        for f in index.by_ref.values()
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
    base: list[ObjectFacts],
    accepts: Callable[[ObjectFacts], bool],
    warnings: list[ManifestWarning] | None,
    *,
    cluster_scoped_only: bool = False,
) -> dict[ObjectRef, ObjectFacts]:
    """Base plus whatever it depends on, transitively, through targets ``accepts`` takes."""
    chosen = {f.ref: f for f in base}
    queue = deque(base)
    while queue:
        fact = queue.popleft()
        found, missing = index.dependencies(fact, cluster_scoped_only=cluster_scoped_only)
        for target in found:
            if target.ref not in chosen and accepts(target):
                chosen[target.ref] = target
                queue.append(target)
        if warnings is not None:
            warnings.extend(
                ManifestWarning(
                    "missing-dependency", f"{fact.ref} refers to {ref}, which does not exist"
                )
                for ref in missing
                if ref.kind != "ServiceAccount" or ref.name != "default"
            )
    return chosen


def _owned_by_exported_builtin(
    fact: ObjectFacts, chosen: dict[ObjectRef, ObjectFacts], index: ObjectIndex
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
    chosen: dict[ObjectRef, ObjectFacts],
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
