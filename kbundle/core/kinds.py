"""What kbundle knows about built-in kinds, said once: where pods, their templates and their
containers sit, and which fields hold a Service's and its endpoints' addresses.

Cleaning, selection, transforms and import read these tables; nothing else spells them.
Kinds are keyed by (group, kind), never by kind alone: a custom resource may be called
``Deployment`` too. Versions do not matter (``extensions/v1beta1`` and ``apps/v1``
Deployments differ in group; ``batch/v1beta1`` and ``batch/v1`` CronJobs only in version).
How names are checked is ``kbundle.core.names``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kbundle.core.fieldpath import Path, dict_at, dicts
from kbundle.core.model import group_of

__all__ = [
    "CLUSTER_IP",
    "CLUSTER_IPS",
    "CONTAINER_LISTS",
    "CUSTOM_POD_LOCATIONS",
    "ENDPOINTS",
    "ENDPOINT_ADDRESS_LISTS",
    "ENDPOINT_SLICE",
    "EXTERNAL_IPS",
    "HEADLESS",
    "IP_ADDRESS_TYPES",
    "KEEP_CLUSTER_IPS",
    "LOAD_BALANCER_IP",
    "NAMESPACE",
    "POD_LOCATIONS",
    "SERVICE",
    "STORAGE_CLASS",
    "GroupKind",
    "PodLocation",
    "containers",
    "group_kind_of",
    "pod_containers",
    "pod_location",
    "pod_spec",
]

GroupKind = tuple[str, str]  # ("apps", "Deployment"); "" is the core group
Keys = tuple[str, ...]  # a path of mapping keys

NAMESPACE: GroupKind = ("", "Namespace")
STORAGE_CLASS: GroupKind = ("storage.k8s.io", "StorageClass")


def group_kind_of(obj: Mapping[str, Any]) -> GroupKind:
    """``("apps", "Deployment")`` for an ``apps/v1`` Deployment."""
    return group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", ""))


# -- pods, pod templates and containers -----------------------------------------------------


@dataclass(frozen=True)
class PodLocation:
    """Where an object keeps the pod it runs, or is.

    ``pod`` is where the pod's ``metadata`` and ``spec`` sit: the object itself for a Pod
    (``()``), its pod template for the rest. ``outer`` lists the templates around the pod
    template, outermost first (a CronJob's job template).
    """

    pod: Keys
    outer: tuple[Keys, ...] = ()

    @property
    def spec(self) -> Keys:
        """The pod spec: containers, volumes, the service account..."""
        return (*self.pod, "spec")

    @property
    def metadata(self) -> Keys:
        """The pod's metadata: the labels selectors match."""
        return (*self.pod, "metadata")

    @property
    def templates(self) -> tuple[Keys, ...]:
        """Every template of the object (``metadata`` and ``spec`` of objects its controller
        will create), outermost first; none for a Pod."""
        return (*self.outer, self.pod) if self.pod else ()


_POD = PodLocation(())
_IN_SPEC = PodLocation(("spec", "template"))
_IN_JOB_TEMPLATE = PodLocation(
    ("spec", "jobTemplate", "spec", "template"), outer=(("spec", "jobTemplate"),)
)
_POD_TEMPLATE = PodLocation(("template",))

POD_LOCATIONS: Mapping[GroupKind, PodLocation] = MappingProxyType(
    {
        ("", "Pod"): _POD,
        ("", "PodTemplate"): _POD_TEMPLATE,
        ("", "ReplicationController"): _IN_SPEC,
        ("apps", "Deployment"): _IN_SPEC,
        ("apps", "StatefulSet"): _IN_SPEC,
        ("apps", "DaemonSet"): _IN_SPEC,
        ("apps", "ReplicaSet"): _IN_SPEC,
        # Served until 1.16; bundles exported from older clusters carry them.
        ("extensions", "Deployment"): _IN_SPEC,
        ("extensions", "DaemonSet"): _IN_SPEC,
        ("extensions", "ReplicaSet"): _IN_SPEC,
        ("batch", "Job"): _IN_SPEC,
        ("batch", "CronJob"): _IN_JOB_TEMPLATE,
    }
)

# Where a kind kbundle does not know keeps a pod template if it is shaped like a workload
# (Argo Rollouts, Knative Services, operators' own job kinds): where the built-ins do.
# Selection searches them for the ConfigMaps and Secrets such a pod needs; transforms leave
# them alone, since nothing says that a custom resource's template is a pod template.
CUSTOM_POD_LOCATIONS: tuple[PodLocation, ...] = (_POD_TEMPLATE, _IN_SPEC, _IN_JOB_TEMPLATE)

# Every container list of a pod spec; an image, env or mount may be in any of them.
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def pod_location(obj: Mapping[str, Any]) -> PodLocation | None:
    """Where ``obj``'s kind keeps its pod; None for kinds that run no pods."""
    return POD_LOCATIONS.get(group_kind_of(obj))


def containers(spec: Mapping[str, Any], at: Path = ()) -> Iterator[tuple[dict[str, Any], Path]]:
    """Each container of the pod spec ``spec`` (at ``at`` in its object), with its path;
    anything in a container list that is not a mapping is skipped."""
    for list_name in CONTAINER_LISTS:
        for index, container in dicts(spec, list_name):
            yield container, (*at, list_name, index)


def pod_spec(obj: Mapping[str, Any]) -> tuple[dict[str, Any], Path] | None:
    """The pod spec of ``obj``, with its path, where ``obj``'s kind keeps one; None for
    other kinds, or where the pod spec is missing or no mapping."""
    location = pod_location(obj)
    spec = None if location is None else dict_at(obj, *location.spec)
    return None if location is None or spec is None else (spec, location.spec)


def pod_containers(obj: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], Path]]:
    """Each container of ``obj``'s pod spec (see ``pod_spec``), with its path from ``obj``."""
    found = pod_spec(obj)
    if found is not None:
        yield from containers(*found)


# -- addresses ------------------------------------------------------------------------------

SERVICE: GroupKind = ("", "Service")
# Fields of a Service's spec. The cluster IPs are allocated from the cluster's service range
# (``clusterIPs`` adds the second family of a dual-stack Service), so import clears them
# unless they were mapped; HEADLESS is no address but asks for none, and is kept.
CLUSTER_IP = "clusterIP"
CLUSTER_IPS = "clusterIPs"
HEADLESS = "None"
EXTERNAL_IPS = "externalIPs"  # a list: addresses the nodes accept the Service's traffic on
LOAD_BALANCER_IP = "loadBalancerIP"  # the address a user asked the load balancer for

# Set by IP mapping on a Service whose cluster IPs were moved into the destination's range;
# import keeps those IPs (instead of clearing them) and removes the mark before applying.
KEEP_CLUSTER_IPS = "kbundle.dev/keep-cluster-ips"

ENDPOINTS: GroupKind = ("", "Endpoints")
# Lists in each of an Endpoints' ``subsets``; each item's ``ip`` is an address.
ENDPOINT_ADDRESS_LISTS = ("addresses", "notReadyAddresses")

ENDPOINT_SLICE: GroupKind = ("discovery.k8s.io", "EndpointSlice")
# Address types whose ``endpoints[].addresses`` are IPs; the third, FQDN, holds names.
IP_ADDRESS_TYPES = ("IPv4", "IPv6")
