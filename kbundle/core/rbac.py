"""What RBAC rules name, by API group and resource: an operator's ClusterRole is the one place
that says which custom resources its controller needs, even before any of them exists.

Only explicit names count: a ``*`` group or resource names nothing in particular, and
``widgets/status`` names ``widgets``. Pure and tolerant: rules come from clusters and from
bundles, so a malformed rule names nothing instead of raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kbundle.core.model import Object, ObjectRef, group_of

RBAC = "rbac.authorization.k8s.io"
_ROLE_KINDS = ("Role", "ClusterRole")
_BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")


def named_resources(rules: Any) -> Iterator[tuple[str, str]]:
    """(group, resource) for each explicit group and resource of each rule; ``""`` is the
    core group. Subresources fold into their resource; repeats are possible."""
    for rule in rules if isinstance(rules, list) else ():
        if not isinstance(rule, dict):
            continue
        groups = [g for g in _strings(rule.get("apiGroups")) if g != "*"]
        resources = {r.partition("/")[0] for r in _strings(rule.get("resources"))}
        for group in groups:
            for resource in sorted(resources - {"", "*"}):
                yield group, resource


def crd_names(rules: Any) -> frozenset[str]:
    """Names of the CRDs the rules name (``<plural>.<group>``; the core group has none).
    Whether such a CRD exists is for the caller to find out."""
    return frozenset(f"{resource}.{group}" for group, resource in named_resources(rules) if group)


def _strings(values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


@dataclass(frozen=True, order=True)
class Grant:
    """A ServiceAccount may use a resource, through a role the same objects hold."""

    service_account: ObjectRef
    group: str  # "" for the core group
    resource: str  # plural, without subresource


def granted_resources(objects: Iterable[Object]) -> tuple[Grant, ...]:
    """What the roles among ``objects`` grant to ServiceAccounts, through the bindings among
    ``objects``, sorted. A binding whose role is not among them grants nothing here: its
    rules are unknown (the destination may hold the role)."""
    roles: dict[ObjectRef, Any] = {}
    bindings: list[Object] = []
    for obj in objects:
        if group_of(str(obj.get("apiVersion", ""))) != RBAC:
            continue
        if obj.get("kind") in _ROLE_KINDS:
            roles[ObjectRef.of(obj)] = obj.get("rules")
        elif obj.get("kind") in _BINDING_KINDS:
            bindings.append(obj)
    grants: set[Grant] = set()
    for binding in bindings:
        role = role_of(binding)
        if role is None or role not in roles:
            continue
        named = set(named_resources(roles[role]))
        for account in service_accounts_of(binding):
            grants |= {Grant(account, group, resource) for group, resource in named}
    return tuple(sorted(grants))


def role_of(binding: Object) -> ObjectRef | None:
    """The Role or ClusterRole a (Cluster)RoleBinding grants."""
    role_ref = binding.get("roleRef")
    if not isinstance(role_ref, dict) or not role_ref.get("name"):
        return None
    namespace = str((binding.get("metadata") or {}).get("namespace") or "")
    if role_ref.get("kind") == "ClusterRole":
        return ObjectRef(RBAC, "ClusterRole", "", str(role_ref["name"]))
    if role_ref.get("kind") == "Role" and namespace:
        return ObjectRef(RBAC, "Role", namespace, str(role_ref["name"]))
    return None


def service_accounts_of(binding: Object) -> frozenset[ObjectRef]:
    """The ServiceAccounts a binding names (a subject without a namespace is in the
    binding's namespace)."""
    namespace = str((binding.get("metadata") or {}).get("namespace") or "")
    subjects = binding.get("subjects")
    return frozenset(
        ObjectRef("", "ServiceAccount", str(s.get("namespace") or namespace), s["name"])
        for s in (subjects if isinstance(subjects, list) else [])
        if isinstance(s, dict)
        and s.get("kind") == "ServiceAccount"
        and isinstance(s.get("name"), str)
        and s["name"]
        and (s.get("namespace") or namespace)
    )
