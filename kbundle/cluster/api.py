"""Typed-free object operations on one cluster: discover, list, get, apply, create, delete.

Objects are plain dicts exactly as the apiserver sends them; every request goes through
one Transport, so errors are always kbundle's own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from kbundle.cluster.discovery import ApiResource, Discovery, discover
from kbundle.cluster.transport import APPLY_PATCH, ApiError, Target, Transport
from kbundle.core.errors import ClusterError

Object = dict[str, Any]
T = TypeVar("T")
DEFAULT_PAGE_SIZE = 500
# Pages of a scan: each worker holds one page of whole objects at a time, so this bounds an
# import's memory (16 workers x 250 objects) while costing the server few more requests.
SCAN_PAGE_SIZE = 100


class KindNotServed(ClusterError):
    """The cluster does not serve an object's apiVersion/kind."""


class Cluster:
    """One apiserver, seen as resources and objects."""

    def __init__(self, transport: Transport, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.transport = transport
        self.page_size = page_size
        self._discovery: Discovery | None = None
        self._lock = threading.Lock()

    @property
    def target(self) -> Target:
        return self.transport.target

    def server_version(self) -> str:
        return str(self.transport.request("GET", "/version").get("gitVersion", "unknown"))

    def discovery(self, *, refresh: bool = False) -> Discovery:
        """Discovery, read once and cached until ``refresh`` (e.g. after new CRDs)."""
        with self._lock:
            if self._discovery is None or refresh:
                self._discovery = discover(self.transport)
            return self._discovery

    def resource_for(self, obj: Object) -> ApiResource:
        """The resource serving this object's apiVersion and kind, or KindNotServed."""
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        resource = self.discovery().find(api_version, kind)
        if resource is None:
            group = api_version.rpartition("/")[0]
            served = self.discovery().served_versions(group)
            offer = (
                f"serves {group or 'core'} at {', '.join(served)}"
                if served
                else (f"does not serve group {group or 'core'}")
            )
            raise KindNotServed(f"{kind} {api_version} is not served: the cluster {offer}")
        return resource

    def list_objects(
        self,
        resource: ApiResource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> list[Object]:
        """Every object of ``resource`` (paginated; restarts if a continue token expires)."""
        return self.scan(
            resource,
            lambda item: item,
            namespace=namespace,
            label_selector=label_selector,
            page_size=page_size,
        )

    def scan(
        self,
        resource: ApiResource,
        pick: Callable[[Object], T | None],
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = SCAN_PAGE_SIZE,
    ) -> list[T]:
        """What ``pick`` makes of each object of ``resource`` (None: nothing), page by page,
        so only one page of whole objects is held. When a continue token expires (410) the
        list starts again from the first page and what was picked so far is dropped."""
        while True:
            picked: list[T] = []
            try:
                for page in self.list_pages(
                    resource,
                    namespace=namespace,
                    label_selector=label_selector,
                    page_size=page_size,
                ):
                    for item in page:
                        if (kept := pick(item)) is not None:
                            picked.append(kept)
                return picked
            except ApiError as error:
                if error.status != 410:
                    raise

    def list_pages(
        self,
        resource: ApiResource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[list[Object]]:
        """The objects of ``resource`` one page at a time, each with its apiVersion and kind,
        so a caller can hold one page, not the list. A failure mid-way (410: the continue
        token expired) raises; the caller starts again from the first page."""
        token = ""
        while True:
            query: dict[str, str | int | bool] = {"limit": page_size}
            if token:
                query["continue"] = token
            if label_selector:
                query["labelSelector"] = label_selector
            page = self.transport.request("GET", resource.path(namespace), query=query)
            items: list[Object] = page.get("items") or []
            for item in items:
                item["apiVersion"] = resource.api_version
                item["kind"] = resource.kind
            token = (page.get("metadata") or {}).get("continue") or ""
            yield items
            if not token:
                return

    def get(self, resource: ApiResource, name: str, namespace: str | None = None) -> Object | None:
        """The object, or None when it does not exist."""
        try:
            result: Object = self.transport.request("GET", resource.path(namespace, name))
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return result

    def apply(
        self,
        resource: ApiResource,
        obj: Object,
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
    ) -> Object:
        """Server-side apply of ``obj`` as ``field_manager``: the object as stored."""
        stored: Object = json.loads(
            self.apply_answer(
                resource, obj, field_manager=field_manager, force=force, dry_run=dry_run
            )
        )
        return stored

    def apply_answer(
        self,
        resource: ApiResource,
        obj: Object,
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
    ) -> bytes:
        """``apply``, with the stored object as the server's JSON, not decoded: an import of
        new objects reads few of the answers."""
        meta = obj["metadata"]
        query: dict[str, str | int | bool] = {"fieldManager": field_manager}
        if force:
            query["force"] = True
        if dry_run:
            query["dryRun"] = "All"
        return self.transport.request_bytes(
            "PATCH",
            resource.path(meta.get("namespace"), meta["name"]),
            query=query,
            body=obj,
            content_type=APPLY_PATCH,
        )

    def create(
        self, resource: ApiResource, obj: Object, *, field_manager: str, dry_run: bool = False
    ) -> Object:
        query: dict[str, str | int | bool] = {"fieldManager": field_manager}
        if dry_run:
            query["dryRun"] = "All"
        result: Object = self.transport.request(
            "POST", resource.path(obj["metadata"].get("namespace")), query=query, body=obj
        )
        return result

    def replace(
        self, resource: ApiResource, obj: Object, *, field_manager: str, dry_run: bool = False
    ) -> Object:
        """PUT ``obj``; it must carry the resourceVersion it was based on."""
        meta = obj["metadata"]
        query: dict[str, str | int | bool] = {"fieldManager": field_manager}
        if dry_run:
            query["dryRun"] = "All"
        result: Object = self.transport.request(
            "PUT", resource.path(meta.get("namespace"), meta["name"]), query=query, body=obj
        )
        return result

    def delete(
        self,
        resource: ApiResource,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
    ) -> bool:
        """Delete one object; False if it was already gone."""
        try:
            self.transport.request(
                "DELETE",
                resource.path(namespace, name),
                body={
                    "kind": "DeleteOptions",
                    "apiVersion": "v1",
                    "propagationPolicy": propagation,
                },
            )
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True
