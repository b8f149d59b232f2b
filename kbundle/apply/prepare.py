"""Adjustments every import makes for its destination, after the user's transforms.

- Service ``clusterIP``/``clusterIPs`` are cleared (except ``None``, a headless Service):
  the destination allocates from its own range. An IP-mapping transform that already moved
  them into the destination's range marks the Service so they are kept.
- ownerReferences between objects of the bundle carry the source's UIDs; they are rewritten
  to the owners' UIDs in the destination. Owners that do not exist there yet are left out
  for now and added once they do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kbundle.core.kinds import CLUSTER_IP, CLUSTER_IPS, HEADLESS, KEEP_CLUSTER_IPS
from kbundle.core.model import Object, ObjectRef, group_of
from kbundle.core.owners import owner_refs


@dataclass(frozen=True)
class PendingOwner:
    """An owner of the bundle not yet in the destination."""

    ref: ObjectRef


def clear_cluster_ips(obj: Object) -> Object:
    """The destination's service range decides a Service's IPs, unless they were mapped."""
    if obj.get("kind") != "Service" or group_of(str(obj.get("apiVersion", ""))) != "":
        return obj
    annotations = dict((obj.get("metadata") or {}).get("annotations") or {})
    keep = annotations.pop(KEEP_CLUSTER_IPS, None) is not None
    spec = dict(obj.get("spec") or {})
    if not keep and spec.get(CLUSTER_IP) != HEADLESS:
        spec.pop(CLUSTER_IP, None)
        spec.pop(CLUSTER_IPS, None)
    metadata = dict(obj["metadata"])
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    return {**obj, "metadata": metadata, "spec": spec}


def rebuild_owner_references(
    obj: Object, destination_uid: Callable[[ObjectRef], str | None]
) -> tuple[Object, list[PendingOwner]]:
    """Point ownerReferences at the owners' destination UIDs; list the owners still missing.

    An owner is found by kind and name (in the dependant's namespace when namespaced);
    ``destination_uid`` answers for owners applied earlier or already present.
    """
    references = (obj.get("metadata") or {}).get("ownerReferences")
    if not references:
        return obj, []
    namespace = str(obj["metadata"].get("namespace") or "")
    rebuilt: list[dict[str, object]] = []
    pending: list[PendingOwner] = []
    for reference in references:
        owner, cluster_scoped = owner_refs(reference, namespace)
        uid = destination_uid(owner) or destination_uid(cluster_scoped)
        if uid is None:
            pending.append(PendingOwner(owner))
        else:
            rebuilt.append({**reference, "uid": uid})
    metadata = dict(obj["metadata"])
    if rebuilt:
        metadata["ownerReferences"] = rebuilt
    else:
        metadata.pop("ownerReferences", None)
    return {**obj, "metadata": metadata}, pending
