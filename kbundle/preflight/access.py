"""What the current user may not do: a self subject access review for each verb import needs,
for each kind and namespace the bundle writes, and every denied verb listed before anything
starts.

Import reads what exists (list, else get per object), and writes by server-side apply
(patch, and create for a new object); ``--existing recreate`` also deletes. Namespaces the
import creates for the bundle's objects need create and patch on namespaces. Denied writes,
or denied reads of both kinds, are blockers: those objects would fail. A denied list alone is
a warning: import reads each object on its own instead, only slower.

Costs one review when the user may do everything (a cluster administrator); otherwise one per
verb, kind and namespace (sent concurrently; reviews touch no stored object).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from kbundle.apply.options import ExistingMode
from kbundle.cluster import ApiError
from kbundle.core.kinds import NAMESPACE
from kbundle.core.model import ObjectRef, group_kind
from kbundle.preflight.model import Code, Finding, Severity, named
from kbundle.preflight.scene import Planned, Scene

REVIEW = ("authorization.k8s.io", "SelfSubjectAccessReview")
READS = frozenset({"get", "list"})
WRITES = frozenset({"create", "patch", "delete"})
ORDER = ("get", "list", "create", "patch", "delete")  # as findings list them


@dataclass(frozen=True, order=True)
class Target:
    """A kind in a namespace ("" for cluster-scoped) that the bundle writes. A Namespace is
    its own target: the apiserver authorizes a request for namespace N within N."""

    group: str
    plural: str
    kind: str
    namespace: str

    @property
    def where(self) -> str:
        if (self.group, self.kind) == NAMESPACE:
            return self.namespace
        return f"in namespace {self.namespace}" if self.namespace else "cluster-wide"


def severity_of(denied: frozenset[str], asked: frozenset[str]) -> Severity | None:
    """Blocker when a write, or every way of reading that was asked, is denied; a warning
    when import can still read another way (list denied, get allowed)."""
    if not denied:
        return None
    if denied & WRITES or denied >= asked & READS:
        return Severity.BLOCKER
    return Severity.WARNING


def needed_verbs(scene: Scene, planned: Planned) -> set[str]:
    """What import asks the apiserver for this object: reads, then a server-side apply
    (patch, and create for a new object) unless it leaves the object as it is."""
    verbs = {"get"} if (planned.ref.group, planned.ref.kind) == NAMESPACE else {"get", "list"}
    sends, exists = scene.sends(planned), scene.exists(planned)
    if sends is not False:
        verbs.add("patch")
        if exists is not True:
            verbs.add("create")
        if exists is not False and scene.apply.existing is ExistingMode.RECREATE:
            verbs.add("delete")
    return verbs


def check_access(scene: Scene) -> list[Finding]:
    # One review first: a user who may do everything (a cluster administrator) needs no walk
    # through the bundle's objects. Else what each target needs; the objects of a denied one
    # only once it is denied: a list of every object's ref was 7 MiB at 50,000 objects.
    created: dict[Target, ObjectRef] = {}  # namespaces import creates for the bundle's objects
    for namespace in scene.target_namespaces:
        ref = ObjectRef(*NAMESPACE, "", namespace)
        if scene.namespace_exists(namespace) is False and not scene.in_bundle(ref):
            created[Target("", "namespaces", "Namespace", namespace)] = ref
    served = any(scene.kinds.get((a, kind)) is not None for a, _, kind, _ in scene.planned.shared())
    if not (served or created):
        return []
    try:
        if _allowed(scene, ("*", "*", "*", "")):
            return []
    except ApiError as error:
        scene.not_checked("what the current user may do", error)
        return []
    targets: dict[Target, set[str]] = {}
    for planned in scene.planned:
        target = _target_of(scene, planned)
        if target is not None:
            targets.setdefault(target, set()).update(needed_verbs(scene, planned))
    for target in created:
        targets[target] = {"get", "create", "patch"}
    questions = [
        (target.group, target.plural, verb, target.namespace)
        for target, verbs in sorted(targets.items())
        for verb in sorted(verbs)
    ]
    review = functools.partial(_review, scene)
    answers = dict(zip(questions, scene.workers.map(review, questions), strict=True))
    refused: dict[Target, tuple[frozenset[str], Severity]] = {}
    for target, verbs in sorted(targets.items()):
        denied = frozenset(
            verb
            for verb in verbs
            if answers[(target.group, target.plural, verb, target.namespace)] is False
        )
        severity = severity_of(denied, frozenset(verbs))
        if severity is not None:
            refused[target] = (denied, severity)
    refs: dict[Target, list[ObjectRef]] = {t: [created[t]] for t in refused if t in created}
    if len(refs) < len(refused):
        for planned in scene.planned:
            target = _target_of(scene, planned)
            if target in refused:
                refs.setdefault(target, []).append(planned.ref)
    return [
        _finding(target, denied, severity, refs[target])
        for target, (denied, severity) in refused.items()
    ]


def _target_of(scene: Scene, planned: Planned) -> Target | None:
    info = scene.info(planned)
    if info is None:
        return None
    where = planned.ref.name if (info.group, info.kind) == NAMESPACE else planned.ref.namespace
    return Target(info.group, info.plural, info.kind, where)


def _finding(
    target: Target, denied: frozenset[str], severity: Severity, refs: list[ObjectRef]
) -> Finding:
    listed = ", ".join(v for v in ORDER if v in denied)
    resource = f"{target.plural}.{target.group}" if target.group else target.plural
    if target.namespace and (target.group, target.kind) != NAMESPACE:
        grant = f"a Role and RoleBinding in namespace {target.namespace}"
    else:
        grant = "a ClusterRole and ClusterRoleBinding"
    return Finding(
        Code.ACCESS_DENIED,
        severity,
        f"the current user may not {listed} {group_kind(target.kind, target.group)} "
        f"{target.where} ({named(refs)})",
        tuple(sorted(refs)),
        f"grant {listed} on {resource} ({grant}), or import as a user who has them",
    )


def _review(scene: Scene, question: tuple[str, str, str, str]) -> bool | None:
    """Allowed or not; None when the review itself failed (nothing is assumed)."""
    try:
        return _allowed(scene, question)
    except ApiError:
        return None


def _allowed(scene: Scene, question: tuple[str, str, str, str]) -> bool:
    group, plural, verb, namespace = question
    resource = scene.resource(*REVIEW)
    if resource is None:
        raise ApiError(
            404,
            "NotFound",
            "the destination serves no SelfSubjectAccessReview",
            method="POST",
            path="/apis/authorization.k8s.io",
        )
    attributes = {"group": group, "resource": plural, "verb": verb}
    if namespace:
        attributes["namespace"] = namespace
    answer = scene.ask(
        lambda: scene.cluster.create(
            resource,
            {
                "apiVersion": resource.api_version,
                "kind": REVIEW[1],
                "metadata": {},
                "spec": {"resourceAttributes": attributes},
            },
            field_manager=scene.apply.field_manager,
        )
    )
    return bool((answer.get("status") or {}).get("allowed"))
