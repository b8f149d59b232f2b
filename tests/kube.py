"""Small helpers the tests share to talk to real clusters and wait for controllers.

Objects are plain dicts, written the way manifests are.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kbundle.cluster import ApiResource, Cluster, KindNotServed, Object, open_cluster
from testbed import ClusterUnderTest

T = TypeVar("T")


def connect_to(cluster: ClusterUnderTest) -> Cluster:
    """The admin context of ``cluster``; TLS verified against the cluster's own CA."""
    return open_cluster(str(cluster.kubeconfig), cluster.context)


def resource(cluster: Cluster, obj: Object) -> ApiResource:
    """The resource serving ``obj``; discovery is read again once for kinds added since."""
    try:
        return cluster.resource_for(obj)
    except KindNotServed:
        cluster.discovery(refresh=True)
        return cluster.resource_for(obj)


def create(cluster: Cluster, obj: Object) -> Object:
    return cluster.create(resource(cluster, obj), obj, field_manager="kbundle-tests")


def read(
    cluster: Cluster, api_version: str, kind: str, name: str, namespace: str | None = None
) -> Object | None:
    found = resource(cluster, {"apiVersion": api_version, "kind": kind})
    return cluster.get(found, name, namespace)


def list_of(
    cluster: Cluster, api_version: str, kind: str, namespace: str | None = None
) -> list[Object]:
    found = resource(cluster, {"apiVersion": api_version, "kind": kind})
    return cluster.list_objects(found, namespace=namespace)


def eventually(
    probe: Callable[[], T | None],
    timeout: float = 60.0,
    what: str = "",
    seen: Callable[[], str] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` on timeout,
    and with what ``seen`` reports of the last poll, so a timeout says which part lagged."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            last = f"; last seen: {seen()}" if seen is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{last}")
        time.sleep(0.25)


def unique_name(prefix: str) -> str:
    """A DNS-1123 name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    """``metadata`` for a test object."""
    result: dict[str, Any] = {"name": name, **extra}
    if namespace is not None:
        result["namespace"] = namespace
    return result
