"""What the destination already has, read once per level instead of once per object.

Before each level, each kind is listed once in each namespace of the level's objects (on the
workers, concurrently): a re-import of an unchanged bundle costs a few list requests. Where a
list fails (a user with rights to some objects only, say), each object is read on its own.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from kbundle.apply.outage import Retrier
from kbundle.apply.workers import Workers
from kbundle.cluster import ApiError, ApiResource, Cluster, KindNotServed, Unreachable
from kbundle.core.model import Object, ObjectRef


class LiveObjects:
    """The destination's objects that a level's objects would write, and their resources."""

    def __init__(self, cluster: Cluster, retrier: Retrier) -> None:
        self._cluster = cluster
        self._retrier = retrier
        self._live: dict[ObjectRef, Object] = {}
        self._unknown: set[tuple[str, str]] = set()  # (resource path, namespace) not listed

    def resource(self, obj: Object) -> ApiResource:
        """The resource serving ``obj``'s kind (KindNotServed when the destination lacks it)."""
        try:
            return self._cluster.resource_for(obj)
        except KindNotServed:
            self._cluster.discovery(refresh=True)  # a CRD may have just been established
            return self._cluster.resource_for(obj)

    def load(self, objects: Sequence[Object], workers: Workers) -> None:
        """One list per kind and namespace instead of one read per object, concurrently."""
        wanted: dict[tuple[str, str], tuple[ApiResource, set[str]]] = {}
        for obj in objects:
            try:
                resource = self._cluster.resource_for(obj)
            except KindNotServed:
                continue
            ref = ObjectRef.of(obj)
            key = (resource.path(), ref.namespace)
            wanted.setdefault(key, (resource, set()))[1].add(ref.name)

        def listed(key: tuple[str, str]) -> tuple[tuple[str, str], list[Object] | None]:
            resource, namespace = wanted[key][0], key[1]
            try:
                return key, self._retrier.call(
                    functools.partial(
                        self._cluster.list_objects, resource, namespace=namespace or None
                    )
                )
            except (ApiError, Unreachable):
                return key, None

        for key, items in workers.map(listed, list(wanted)):
            if items is None:
                self._unknown.add(key)
                continue
            names = wanted[key][1]
            for item in items:
                if item["metadata"]["name"] in names:
                    self._live[ObjectRef.of(item)] = item

    def current(self, resource: ApiResource, ref: ObjectRef) -> Object | None:
        """The live object, or None when the destination does not have it."""
        if (resource.path(), ref.namespace) in self._unknown:
            result: Object | None = self._retrier.call(
                lambda: self._cluster.get(resource, ref.name, ref.namespace or None)
            )
            return result
        return self._live.get(ref)
