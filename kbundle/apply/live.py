"""What the destination already has, read once per level instead of once per object.

Before each level, each kind is listed once in each namespace of the level's objects (on the
workers, concurrently): a re-import of an unchanged bundle costs a few list requests. Where a
list fails (a user with rights to some objects only, say), each object is read on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from kbundle.apply.outage import Retrier
from kbundle.apply.workers import Workers
from kbundle.cluster import ApiError, ApiResource, Cluster, KindNotServed, Unreachable
from kbundle.core.model import Object, ObjectRef
from kbundle.core.spool import SpooledMapping, heads_of

K = TypeVar("K")


class PlacedStore(Protocol[K]):
    """Where a list's objects go: written first, keyed once the list is whole."""

    def place_of(self, obj: Object) -> int: ...

    def adopt(self, places: dict[K, int]) -> None: ...


class LiveCopies(Protocol):
    def get(self, ref: ObjectRef) -> Object | None: ...


def read_into(
    store: PlacedStore[K],
    cluster: Cluster,
    resource: ApiResource,
    namespace: str,
    wanted: Callable[[ObjectRef], K | None],
) -> None:
    """The objects of one list that ``wanted`` knows, page by page into ``store``, keyed
    only once the list is whole (``Cluster.scan`` starts again when a continue token
    expires), under the key ``wanted`` hands back. Stored without ``managedFields``: half an
    object's bytes, and nothing compares them."""

    def place(item: Object) -> tuple[K, int] | None:
        key = wanted(ObjectRef.of(item))
        if key is None:
            return None
        item["metadata"].pop("managedFields", None)
        return key, store.place_of(item)

    store.adopt(dict(cluster.scan(resource, place, namespace=namespace or None)))


@dataclass(frozen=True)
class LiveView:
    """The destination's objects as the preflight read them moments before the import: the
    bundle's objects found in each (resource path, namespace) list it completed. The import
    takes them as the destination's state at its start instead of listing everything again
    (a second read of every object, in a re-import most of its time); namespaces and kinds
    that appear during the import, and lists the preflight could not complete, are read when
    their level comes."""

    objects: LiveCopies  # the preflight's: BundleCopies
    listed: frozenset[tuple[str, str]]
    # Objects the preflight found already as the bundle wants them (every field it sets is
    # live), compared as import compares: no ownerReferences to point elsewhere first.
    settled: Container[ObjectRef] = frozenset()


class LiveObjects:
    """The destination's objects that a level's objects would write, and their resources.

    Kept on disk (``SpooledMapping``) and for one level at a time: a re-import of 50,000
    objects would otherwise hold a live copy of each for the whole run."""

    def __init__(self, cluster: Cluster, retrier: Retrier, known: LiveView | None = None) -> None:
        self._cluster = cluster
        self._retrier = retrier
        self._known = known
        self._live: SpooledMapping[ObjectRef] = SpooledMapping()
        self._unknown: set[tuple[str, str]] = set()  # (resource path, namespace) not listed

    def resource(self, obj: Object) -> ApiResource:
        """The resource serving ``obj``'s kind (KindNotServed when the destination lacks it)."""
        try:
            return self._cluster.resource_for(obj)
        except KindNotServed:
            self._cluster.discovery(refresh=True)  # a CRD may have just been established
            return self._cluster.resource_for(obj)

    def load(self, objects: Sequence[Object], workers: Workers) -> None:
        """One list per kind and namespace instead of one read per object, concurrently;
        what an earlier level loaded is dropped."""
        self.close()
        self._live = SpooledMapping()
        self._unknown = set()
        wanted: dict[tuple[str, str], tuple[ApiResource, dict[str, ObjectRef]]] = {}
        for api_version, ref in heads_of(objects):
            try:
                resource = self._cluster.resource_for({"apiVersion": api_version, "kind": ref.kind})
            except KindNotServed:
                continue
            key = (resource.path(), ref.namespace)
            if self._known is not None and key in self._known.listed:
                continue  # read by the preflight
            wanted.setdefault(key, (resource, {}))[1][ref.name] = ref

        def listed(key: tuple[str, str]) -> bool:
            """Page by page into the spool, keeping only the objects the level writes."""
            resource, names = wanted[key]
            try:
                self._retrier.call(
                    lambda: read_into(
                        self._live, self._cluster, resource, key[1], lambda r: names.get(r.name)
                    )
                )
            except (ApiError, Unreachable):
                return False
            return True

        for key, complete in zip(wanted, workers.map(listed, list(wanted)), strict=True):
            if not complete:
                self._unknown.add(key)

    def settled(self, resource: ApiResource, ref: ObjectRef) -> bool:
        """Whether the preflight found ``ref`` as the bundle wants it in the very list the
        import takes as the destination's state: its decision stands, without a second
        read and comparison of both copies (most of a re-import's time)."""
        key = (resource.path(), ref.namespace)
        return self._known is not None and key in self._known.listed and ref in self._known.settled

    def current(self, resource: ApiResource, ref: ObjectRef) -> Object | None:
        """The live object, or None when the destination does not have it."""
        key = (resource.path(), ref.namespace)
        if self._known is not None and key in self._known.listed:
            return self._known.objects.get(ref)
        if key in self._unknown:
            result: Object | None = self._retrier.call(
                lambda: self._cluster.get(resource, ref.name, ref.namespace or None)
            )
            return result
        return self._live.get(ref)

    def close(self) -> None:
        self._live.close()
