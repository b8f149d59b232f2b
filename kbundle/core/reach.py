"""What a bundle's objects would touch in a cluster, and which of them grant power.

Whoever imports a bundle from elsewhere should see, before anything else, where it writes
(namespaces, cluster-scoped objects) and what in it could take over the cluster: bindings to
``cluster-admin`` or to roles with ``*``, admission webhooks, CRDs, APIServices, and pods
(or pod templates) that are privileged or share the node's paths, network, PIDs or IPC.
Pure and tolerant: objects in, names and reasons out. A reason never carries a value of
the object (a Secret is named, never shown; a hostPath is a node path, not data).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kbundle.core.fieldpath import dict_at, dicts
from kbundle.core.kinds import CUSTOM_POD_LOCATIONS, containers, group_kind_of, pod_location
from kbundle.core.model import Object, ObjectRef

RBAC = "rbac.authorization.k8s.io"
ADMISSION = "admissionregistration.k8s.io"
CLUSTER_ADMIN = "cluster-admin"
WILDCARD = "*"
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")

__all__ = ["Power", "Reach", "reach_of"]


@dataclass(frozen=True, order=True)
class Power:
    """One object that grants power over the cluster, and how."""

    ref: ObjectRef
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.ref.group_kind,
            "namespace": self.ref.namespace or None,
            "name": self.ref.name,
            "why": self.why,
        }


@dataclass(frozen=True)
class Reach:
    """Where an import of these objects writes, and what among them grants power."""

    namespaces: tuple[str, ...]
    cluster_scoped: tuple[tuple[str, tuple[str, ...]], ...]  # (group kind, names), sorted
    powers: tuple[Power, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespaces": list(self.namespaces),
            "clusterScoped": [
                {"kind": kind, "count": len(names), "names": list(names)}
                for kind, names in self.cluster_scoped
            ],
            "powers": [power.to_dict() for power in self.powers],
        }


def reach_of(objects: Iterable[Object]) -> Reach:
    """The namespaces, cluster-scoped objects and power objects among ``objects``."""
    listed = list(objects)
    namespaces: set[str] = set()
    cluster_scoped: dict[str, set[str]] = {}
    for obj in listed:
        ref = ObjectRef.of(obj)
        if ref.namespace:
            namespaces.add(ref.namespace)
        else:
            cluster_scoped.setdefault(ref.group_kind, set()).add(ref.name)
            if (ref.group, ref.kind) == ("", "Namespace"):
                namespaces.add(ref.name)
    return Reach(
        namespaces=tuple(sorted(namespaces)),
        cluster_scoped=tuple((k, tuple(sorted(v))) for k, v in sorted(cluster_scoped.items())),
        powers=tuple(sorted(_powers(listed))),
    )


def _powers(objects: list[Object]) -> Iterator[Power]:
    wildcard_roles = {
        ObjectRef.of(o): what
        for o in objects
        if group_kind_of(o) in ((RBAC, "Role"), (RBAC, "ClusterRole"))
        and (what := _wildcards(o.get("rules")))
    }
    for ref, what in wildcard_roles.items():
        yield Power(ref, f"allows {what} (to whoever it is bound to)")
    for obj in objects:
        ref = ObjectRef.of(obj)
        why = _why(obj, ref, wildcard_roles)
        if why:
            yield Power(ref, why)


def _why(obj: Object, ref: ObjectRef, wildcard_roles: dict[ObjectRef, str]) -> str | None:
    kind = (ref.group, ref.kind)
    if kind in ((RBAC, "RoleBinding"), (RBAC, "ClusterRoleBinding")):
        return _binding(obj, ref, wildcard_roles)
    if kind == (ADMISSION, "MutatingWebhookConfiguration"):
        return f"mutating admission webhook ({_hooks(obj)}): may change the requests it matches"
    if kind == (ADMISSION, "ValidatingWebhookConfiguration"):
        return f"validating admission webhook ({_hooks(obj)}): sees and may refuse requests"
    if kind == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        return _crd(obj)
    if kind == ("apiregistration.k8s.io", "APIService"):
        return _api_service(obj, ref)
    found = _pod_powers(obj)
    return f"runs pods with {', '.join(found)}" if found else None


# -- RBAC ------------------------------------------------------------------------------------


def _wildcards(rules: Any) -> str:
    """``* verbs``, ``* resources`` or both, when some rule grants them; else empty."""
    verbs = resources = False
    for _, rule in dicts({"rules": rules}, "rules"):
        verbs |= WILDCARD in _strings(rule.get("verbs"))
        resources |= WILDCARD in _strings(rule.get("resources"))
    return " and ".join(w for w, on in (("* verbs", verbs), ("* resources", resources)) if on)


def _binding(obj: Object, ref: ObjectRef, wildcard_roles: dict[ObjectRef, str]) -> str | None:
    role_ref = obj.get("roleRef")
    if not isinstance(role_ref, dict) or not isinstance(role_ref.get("name"), str):
        return None
    name, kind = role_ref["name"], role_ref.get("kind")
    role = ObjectRef(RBAC, str(kind), ref.namespace if kind == "Role" else "", name)
    if kind == "ClusterRole" and name == CLUSTER_ADMIN:
        granted = "every right on every object"
    elif role in wildcard_roles:
        granted = wildcard_roles[role]
    else:
        return None
    return f"binds {kind} {name} ({granted}) to {_subjects(obj)}"


def _subjects(binding: Object) -> str:
    found = [
        f"{s.get('kind')} {'/'.join(str(p) for p in (s.get('namespace'), s.get('name')) if p)}"
        for _, s in dicts(binding, "subjects")
    ]
    return ", ".join(found) or "no subject"


# -- extensions of the apiserver -------------------------------------------------------------


def _hooks(obj: Object) -> str:
    count = sum(1 for _ in dicts(obj, "webhooks"))
    return f"{count} webhook{'s' if count != 1 else ''}"


def _crd(obj: Object) -> str:
    spec = dict_at(obj, "spec") or {}
    names = dict_at(spec, "names") or {}
    what = f"defines {names.get('kind')}.{spec.get('group')} for the whole cluster"
    strategy = (dict_at(spec, "conversion") or {}).get("strategy")
    return what + (", converted by a webhook" if strategy == "Webhook" else "")


def _api_service(obj: Object, ref: ObjectRef) -> str:
    service = dict_at(obj, "spec", "service")
    if service is None:
        return f"registers API {ref.name} (served by the apiserver itself)"
    return (
        f"sends every request for API {ref.name} to Service "
        f"{service.get('namespace')}/{service.get('name')}"
    )


# -- pods and pod templates ------------------------------------------------------------------


def _pod_powers(obj: Object) -> list[str]:
    """What the pods ``obj`` runs (or is) may do to their node; for kinds kbundle does not
    know, wherever a workload-shaped custom resource keeps a pod template."""
    place = pod_location(obj)
    found: list[str] = []
    for location in CUSTOM_POD_LOCATIONS if place is None else (place,):
        spec = dict_at(obj, *location.spec)
        if spec is None or (place is None and not isinstance(spec.get("containers"), list)):
            continue
        found += [flag for flag in HOST_NAMESPACES if spec.get(flag) is True]
        found += [
            f"hostPath {(volume.get('hostPath') or {}).get('path')} (volume {volume.get('name')})"
            for _, volume in dicts(spec, "volumes")
            if isinstance(volume.get("hostPath"), dict)
        ]
        found += [
            f"privileged container {container.get('name')}"
            for container, _ in containers(spec)
            if (dict_at(container, "securityContext") or {}).get("privileged") is True
        ]
    return found


def _strings(values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
