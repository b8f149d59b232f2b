"""References the destination cannot satisfy and the bundle does not carry.

Classes (storage, ingress, priority, runtime) are blockers: the apiserver refuses pods whose
PriorityClass or RuntimeClass does not exist, a claim whose StorageClass does not exist stays
Pending for ever, an Ingress of an unknown class is never served, and only a cluster
administrator can add a class. ConfigMaps, Secrets, ServiceAccounts and claims named by pod
templates are warnings: every object of the bundle is still accepted, the pods wait until the
object exists, and it is often made after a restore by its own tool (a secrets operator, a
CI job) in the namespace's own rights. References marked ``optional`` are not findings.

A claim bound to a named volume, and a volume itself, need no StorageClass object: binding
matches the class by name. Scheduler names cannot be seen through the API at all: any but
the default one is a warning.

Costs one list per class kind named, and one metadata-only list (names, never data) per kind
and namespace that exists, only for references the bundle does not carry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from kbundle.cluster import ApiError
from kbundle.core.fieldpath import dicts
from kbundle.core.kinds import containers, pod_spec
from kbundle.core.model import Object, ObjectRef, group_kind
from kbundle.preflight.model import Code, Finding, Severity, named
from kbundle.preflight.scene import Scene
from kbundle.select.facts import NAMES_NOTHING, named_by

STORAGE_CLASS = ("storage.k8s.io", "StorageClass")
CLASSES: dict[tuple[str, str], tuple[Code, str]] = {
    STORAGE_CLASS: (
        Code.STORAGE_CLASS_MISSING,
        "create StorageClass {name} in the destination first, or map it to one it has: "
        "--map-storage-class {name}=NAME{has}",
    ),
    ("networking.k8s.io", "IngressClass"): (
        Code.INGRESS_CLASS_MISSING,
        "create IngressClass {name} in the destination first, or set another "
        "spec.ingressClassName with a rules file (--transforms){has}",
    ),
    ("scheduling.k8s.io", "PriorityClass"): (
        Code.PRIORITY_CLASS_MISSING,
        "create PriorityClass {name} in the destination first, or drop the field: "
        "--remove-field spec.template.spec.priorityClassName{has}",
    ),
    ("node.k8s.io", "RuntimeClass"): (
        Code.RUNTIME_CLASS_MISSING,
        "create RuntimeClass {name} in the destination first, or drop the field: "
        "--remove-field spec.template.spec.runtimeClassName{has}",
    ),
}
NAMESPACED = frozenset(
    {("", "ConfigMap"), ("", "Secret"), ("", "ServiceAccount"), ("", "PersistentVolumeClaim")}
)
# Made in every namespace by the destination's own controllers.
BUILT_IN = frozenset({("", "ServiceAccount", "default"), ("", "ConfigMap", "kube-root-ca.crt")})
DEFAULT_SCHEDULER = "default-scheduler"


def check_references(scene: Scene) -> list[Finding]:
    """One read of each object that can name anything (not ConfigMaps and Secrets, most of
    a bundle): what it references, and the scheduler its pods ask for."""
    needed: dict[ObjectRef, set[ObjectRef]] = defaultdict(set)  # reference -> who names it
    schedulers: dict[str, list[ObjectRef]] = defaultdict(list)  # other than the default
    for planned in scene.planned.where(
        lambda _, group, kind, __: (group, kind) not in NAMES_NOTHING
    ):
        obj = planned.obj
        for ref in references_of(obj):
            if not scene.in_bundle(ref):
                needed[ref].add(planned.ref)
        found = pod_spec(obj)
        scheduler = (found[0] if found else {}).get("schedulerName")
        if isinstance(scheduler, str) and scheduler and scheduler != DEFAULT_SCHEDULER:
            schedulers[scheduler].append(planned.ref)
    findings = _classes(scene, needed)
    findings += _namespaced(scene, needed)
    findings += _schedulers(schedulers)
    return findings


def references_of(obj: Object) -> set[ObjectRef]:
    """What ``obj`` needs to exist: classes, and the namespaced objects its pods name
    (except optional ones and those every namespace gets)."""
    refs = {
        ref
        for ref in named_by(obj)
        if (ref.group, ref.kind) in CLASSES or (ref.group, ref.kind) in NAMESPACED
    }
    refs -= {r for r in refs if (r.group, r.kind, r.name) in BUILT_IN}
    if statically_bound(obj):
        refs = {r for r in refs if (r.group, r.kind) != STORAGE_CLASS}
    return refs - optional_only(obj)


def statically_bound(obj: Object) -> bool:
    """A volume, or a claim bound to a named volume: the class is matched by name only."""
    kind = obj.get("kind")
    if str(obj.get("apiVersion", "")) != "v1":
        return False
    return kind == "PersistentVolume" or (
        kind == "PersistentVolumeClaim" and bool((obj.get("spec") or {}).get("volumeName"))
    )


def optional_only(obj: Object) -> set[ObjectRef]:
    """ConfigMaps and Secrets that the pod names only as ``optional: true``."""
    found = pod_spec(obj)
    if found is None:
        return set()
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    optional: set[ObjectRef] = set()
    required: set[ObjectRef] = set()
    for kind, name, is_optional in _mentions(found[0]):
        if isinstance(name, str) and name:
            (optional if is_optional else required).add(ObjectRef("", kind, namespace, name))
    return optional - required


def _mentions(spec: dict[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """(kind, name, optional) of every ConfigMap and Secret a pod spec names."""
    for _, volume in dicts(spec, "volumes"):
        config_map, secret = volume.get("configMap") or {}, volume.get("secret") or {}
        yield "ConfigMap", config_map.get("name"), bool(config_map.get("optional"))
        yield "Secret", secret.get("secretName"), bool(secret.get("optional"))
        for _, source in dicts(volume.get("projected") or {}, "sources"):
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                item = source.get(key) or {}
                yield kind, item.get("name"), bool(item.get("optional"))
    for container, _ in containers(spec):
        for _, env in dicts(container, "env"):
            source = env.get("valueFrom") or {}
            for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                item = source.get(key) or {}
                yield kind, item.get("name"), bool(item.get("optional"))
        for _, env_from in dicts(container, "envFrom"):
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                item = env_from.get(key) or {}
                yield kind, item.get("name"), bool(item.get("optional"))


# -- classes --------------------------------------------------------------------------------


def _classes(scene: Scene, needed: dict[ObjectRef, set[ObjectRef]]) -> list[Finding]:
    findings = []
    for (group, kind), (code, way_out) in CLASSES.items():
        wanted = sorted(r for r in needed if (r.group, r.kind) == (group, kind))
        if not wanted:
            continue
        try:
            listed = scene.list_all(group, kind)
        except ApiError as error:
            scene.not_checked(f"{kind}es", error)
            continue
        have = sorted(str(o["metadata"]["name"]) for o in listed or [])
        has = f" (the destination has: {', '.join(have)})" if have else ""
        for ref in wanted:
            if ref.name in have:
                continue
            users = needed[ref]
            findings.append(
                Finding(
                    code,
                    Severity.BLOCKER,
                    f"{kind} {ref.name} is in neither the destination nor the bundle "
                    f"(named by {named(users)})",
                    tuple(sorted(users)),
                    way_out.format(name=ref.name, has=has),
                )
            )
    return findings


# -- ConfigMaps, Secrets, ServiceAccounts, claims -------------------------------------------


def _namespaced(scene: Scene, needed: dict[ObjectRef, set[ObjectRef]]) -> list[Finding]:
    wanted = [r for r in needed if (r.group, r.kind) in NAMESPACED]
    to_read = sorted(
        {(r.kind, r.namespace) for r in wanted if scene.namespace_exists(r.namespace) is not False}
    )

    def read(key: tuple[str, str]) -> tuple[tuple[str, str], set[str] | ApiError]:
        resource = scene.resource("", key[0])
        if resource is None:
            return key, set()
        try:
            return key, scene.names(resource, key[1])
        except ApiError as error:
            return key, error

    present: dict[tuple[str, str], set[str]] = {}
    unreadable: dict[str, ApiError] = {}
    for key, answer in scene.workers.map(read, to_read):
        if isinstance(answer, ApiError):
            unreadable.setdefault(key[0], answer)
        else:
            present[key] = answer
    for kind, error in sorted(unreadable.items()):
        scene.not_checked(f"{kind}s named by pod templates", error)
    findings = []
    for ref in sorted(wanted):
        exists = present.get((ref.kind, ref.namespace))
        if ref.name in (exists or set()) or (
            exists is None and scene.namespace_exists(ref.namespace) is not False
        ):
            continue  # there, or unreadable (said once above)
        users = needed[ref]
        findings.append(
            Finding(
                Code.REFERENCE_MISSING,
                Severity.WARNING,
                f"{ref} is in neither the destination nor the bundle (named by {named(users)})",
                tuple(sorted(users)),
                f"create {group_kind(ref.kind, ref.group)} {ref.name} in namespace "
                f"{ref.namespace} before the pods start, or export it with the bundle",
            )
        )
    return findings


# -- schedulers -----------------------------------------------------------------------------


def _schedulers(by_name: dict[str, list[ObjectRef]]) -> list[Finding]:
    return [
        Finding(
            Code.SCHEDULER_UNKNOWN,
            Severity.WARNING,
            f"scheduler {name} cannot be checked through the API (named by {named(refs)})",
            tuple(sorted(refs)),
            f"make sure the destination runs scheduler {name}, or drop the field: "
            "--remove-field spec.template.spec.schedulerName",
        )
        for name, refs in sorted(by_name.items())
    ]
