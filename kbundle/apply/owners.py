"""ownerReferences across levels: the owners' UIDs in the destination, learnt as objects land.

A bundle's ownerReferences carry the source's UIDs; ``prepare.rebuild_owner_references``
points them at the owners' destination UIDs recorded here. When an owner is applied after its
dependant (a ConfigMap owned by a custom resource: level 6 before level 11), the dependant is
applied without that reference first, deferred, and re-applied with it once the owner exists.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from kbundle.apply.live import LiveObjects
from kbundle.apply.outage import DestinationGone, Retrier, describe
from kbundle.apply.prepare import PendingOwner, clear_cluster_ips, rebuild_owner_references
from kbundle.apply.writes import Writer
from kbundle.cluster import ApiError, KindNotServed, Unreachable
from kbundle.core.model import Object, ObjectRef


@dataclass
class _Deferred:
    obj: Object  # intended object, with every ownerReference (source UIDs)
    owners: list[PendingOwner] = field(default_factory=list)


class Owners:
    """Destination UIDs of the objects applied or found, and the dependants still waiting."""

    def __init__(self, live: LiveObjects, writer: Writer, retrier: Retrier) -> None:
        self._live = live
        self._writer = writer
        self._retrier = retrier
        self._uids: dict[ObjectRef, str] = {}
        self._wanted: frozenset[ObjectRef] | None = None  # None: every object's UID
        self._deferred: list[_Deferred] = []
        self._lock = threading.Lock()

    def keep_only(self, owners: frozenset[ObjectRef]) -> None:
        """Remember the UIDs of ``owners`` alone: the objects the import's ownerReferences
        name. A UID per object written was 7 MiB at 50,000 objects, nearly all unasked."""
        self._wanted = owners

    def wants(self, ref: ObjectRef) -> bool:
        """Whether ``ref``'s destination UID is kept (``remember``)."""
        return self._wanted is None or ref in self._wanted

    def remember(self, ref: ObjectRef, stored: Object) -> None:
        if not self.wants(ref):
            return
        uid = (stored.get("metadata") or {}).get("uid")
        if uid:
            with self._lock:
                self._uids[ref] = uid

    def uid_of(self, ref: ObjectRef) -> str | None:
        with self._lock:
            return self._uids.get(ref)

    def defer(self, obj: Object, owners: list[PendingOwner]) -> None:
        """``obj`` went in without the references to ``owners``: re-apply it once they exist."""
        with self._lock:
            self._deferred.append(_Deferred(obj=obj, owners=owners))

    def resolve(self) -> list[tuple[ObjectRef, str]]:
        """Re-apply dependants whose owners now exist, with the owners' new UIDs; return
        those that could not be, with why."""
        failures = []
        still_waiting = []
        for item in self._deferred:
            if any(
                self.uid_of(o.ref) is None
                and self.uid_of(ObjectRef(o.ref.group, o.ref.kind, "", o.ref.name)) is None
                for o in item.owners
            ):
                still_waiting.append(item)
                continue
            ref = ObjectRef.of(item.obj)
            try:
                resource = self._live.resource(item.obj)
                intended, missing = rebuild_owner_references(
                    clear_cluster_ips(item.obj), self.uid_of
                )
                if not missing:
                    self._writer.apply(resource, intended)
            except (ApiError, Unreachable, KindNotServed, DestinationGone) as error:
                gave_up = self._retrier.gave_up
                why = f"not attempted: {gave_up}" if gave_up else describe(error)
                failures.append((ref, f"ownerReferences not restored: {why}"))
        self._deferred = still_waiting
        return failures
