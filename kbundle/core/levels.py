"""Dependency levels: the order a bundle is applied in, definitions before resources.

Each level carries the reason it comes where it does. Kinds the table does not know are
never dropped: custom resources go to their own level, anything else lands right after the
highest level among the kinds its objects reference (and never before namespaces).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    reason: str
    kinds: frozenset[str]  # group kinds: "Deployment.apps", "ConfigMap"


LEVELS: tuple[Level, ...] = (
    Level(
        0,
        "crds",
        "custom kinds must be served before anything of theirs is applied",
        frozenset({"CustomResourceDefinition.apiextensions.k8s.io"}),
    ),
    Level(1, "namespaces", "every namespaced object needs its namespace", frozenset({"Namespace"})),
    Level(
        2,
        "cluster-definitions",
        "classes and cluster roles that other objects name",
        frozenset(
            {
                "StorageClass.storage.k8s.io",
                "PriorityClass.scheduling.k8s.io",
                "IngressClass.networking.k8s.io",
                "RuntimeClass.node.k8s.io",
                "ClusterRole.rbac.authorization.k8s.io",
            }
        ),
    ),
    Level(
        3,
        "persistent-volumes",
        "volumes exist before the claims that bind to them",
        frozenset({"PersistentVolume"}),
    ),
    Level(
        4,
        "namespace-policy",
        "quotas, limits and network policy in force before workloads",
        frozenset({"ResourceQuota", "LimitRange", "NetworkPolicy.networking.k8s.io"}),
    ),
    Level(
        5,
        "identity",
        "service accounts and their permissions before pods run as them",
        frozenset(
            {
                "ServiceAccount",
                "Role.rbac.authorization.k8s.io",
                "RoleBinding.rbac.authorization.k8s.io",
                "ClusterRoleBinding.rbac.authorization.k8s.io",
            }
        ),
    ),
    Level(
        6,
        "configuration",
        "configuration and secrets that pods read or mount",
        frozenset({"ConfigMap", "Secret"}),
    ),
    Level(
        7,
        "claims",
        "claims bind before the pods that mount them are created",
        frozenset({"PersistentVolumeClaim"}),
    ),
    Level(
        8,
        "services",
        "stable names and hand-written endpoints before their clients",
        frozenset({"Service", "Endpoints", "EndpointSlice.discovery.k8s.io"}),
    ),
    Level(
        9,
        "workloads",
        "everything that runs pods, once all they depend on exists",
        frozenset(
            {
                "Deployment.apps",
                "StatefulSet.apps",
                "DaemonSet.apps",
                "ReplicaSet.apps",
                "ControllerRevision.apps",
                "ReplicationController",
                "Job.batch",
                "CronJob.batch",
                "Pod",
                "PodTemplate",
            }
        ),
    ),
    Level(
        10,
        "routing-and-scaling",
        "objects that point at workloads and services",
        frozenset(
            {
                "Ingress.networking.k8s.io",
                "Ingress.extensions",
                "HorizontalPodAutoscaler.autoscaling",
                "PodDisruptionBudget.policy",
            }
        ),
    ),
    Level(11, "custom-resources", "served only once their CRDs are established", frozenset()),
    Level(
        12,
        "admission-and-aggregation",
        "webhooks and API services last: before their backends run they can block or "
        "break every other request",
        frozenset(
            {
                "ValidatingWebhookConfiguration.admissionregistration.k8s.io",
                "MutatingWebhookConfiguration.admissionregistration.k8s.io",
                "APIService.apiregistration.k8s.io",
            }
        ),
    ),
)
BY_NUMBER = {level.number: level for level in LEVELS}
CUSTOM_RESOURCES = 11
NAMESPACES = 1
_KNOWN = {kind: level for level in LEVELS for kind in level.kinds}


def known_level(group_kind: str) -> Level | None:
    """The table's level for a kind, if the table names it."""
    return _KNOWN.get(group_kind)


def level_for(
    group_kind: str, *, is_custom_resource: bool, referenced: Iterable[str] = ()
) -> Level:
    """Level of a kind: the table's, custom resources', or one after what it references.

    ``referenced`` holds the group kinds its objects refer to (owners, names in specs).
    A kind can only be placed relative to kinds the table knows; unknown references count
    as cluster definitions.
    """
    known = known_level(group_kind)
    if known is not None:
        return known
    if is_custom_resource:
        return BY_NUMBER[CUSTOM_RESOURCES]
    highest = NAMESPACES
    for other in referenced:
        if other == group_kind:
            continue
        level = known_level(other)
        highest = max(highest, level.number if level else NAMESPACES + 1)
    return BY_NUMBER[min(highest + 1, max(BY_NUMBER))]
