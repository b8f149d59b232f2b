"""Orphans: what the destination holds that a bundle does not, where the bundle writes.

``kbundle diff --show-orphans`` lists the objects a sync would leave behind: in each
namespace the bundle writes to, of each kind it writes there, those the bundle does not
hold. What the destination makes by itself (a namespace's ``kube-root-ca.crt`` and token
Secrets, the ReplicaSets of a Deployment, the Endpoints of a Service with a selector) is no
orphan: the same rules that leave such objects out of an export decide it. Nothing is
deleted; this only reads.
"""

from __future__ import annotations

from collections.abc import Iterable

from kbundle.cluster import ApiError, ApiResource, Cluster, KindNotServed, Unreachable
from kbundle.core.model import Object, ObjectRef
from kbundle.select.facts import facts_of
from kbundle.select.plan import ObjectIndex, SelectionRequest, plan_export


def orphans_of(cluster: Cluster, objects: Iterable[Object]) -> list[ObjectRef]:
    """Objects of the destination, in the namespaces and kinds of the namespaced
    ``objects``, that are not among them and that the destination does not derive."""
    held: set[ObjectRef] = set()
    scopes: dict[tuple[str, str], tuple[ApiResource, str]] = {}
    for obj in objects:
        ref = ObjectRef.of(obj)
        held.add(ref)
        if not ref.namespace:
            continue
        try:
            resource = cluster.resource_for(obj)
        except KindNotServed:
            continue  # nothing of that kind can be there
        scopes.setdefault((resource.path(), ref.namespace), (resource, ref.namespace))
    listed: list[Object] = []
    for resource, namespace in scopes.values():
        try:
            listed += cluster.list_objects(resource, namespace=namespace)
        except (ApiError, Unreachable):
            continue  # may not be listed: nothing can be said about it
    namespaces = frozenset(namespace for _, namespace in scopes.values())
    index = ObjectIndex(facts_of(obj) for obj in listed)
    plan = plan_export(index, SelectionRequest(namespaces=namespaces, cluster_resources="false"))
    return sorted(ref for ref in plan.exported if ref not in held)
