"""Waiting for the destination to catch up: CRDs served, namespaces active, deletions done.

Each wait polls with a short, growing interval and gives up after the caller's timeout,
returning what is still not ready so the import can report it object by object. What is
waited for, and how long it took, is logged (INFO): the usual reason an import seems stuck.

What the user may not read (403: e.g. rights in some namespaces only) cannot be checked and is
not waited for: the import carries on, and each object's own write reports what is forbidden.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from kbundle.cluster import ApiError, ApiResource, Cluster, Object
from kbundle.core.model import ObjectRef

CRD_API = ("apiextensions.k8s.io", "CustomResourceDefinition")

log = logging.getLogger(__name__)


def poll(ready: Callable[[], bool], timeout: float) -> bool:
    """True once ``ready()`` holds, False if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        if ready():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.6, 1.0)


def _logged(what: str, state: str, names: list[str], wait: Callable[[], list[str]]) -> list[str]:
    """Run ``wait`` (it returns the names still not ``state``), saying what it waits for and
    how long that took."""
    if not names:
        return wait()
    log.info("waiting for %s to be %s: %s", what, state, _named(names))
    started = time.monotonic()
    pending = wait()
    took = time.monotonic() - started
    if pending:
        log.info("%s not %s after %.1fs: %s", what, state, took, _named(pending))
    else:
        log.info("%s %s after %.1fs", what, state, took)
    return pending


def _named(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return f"{shown} and {len(names) - most} more" if len(names) > most else shown


def _forbidden(error: ApiError) -> bool:
    return error.status == 403


def _conditions(obj: dict[str, object] | None) -> dict[str, str]:
    status = (obj or {}).get("status") or {}
    assert isinstance(status, dict)
    return {str(c.get("type")): str(c.get("status")) for c in status.get("conditions") or []}


def wait_for_crds(cluster: Cluster, names: Iterable[str], timeout: float) -> list[str]:
    """Wait until each CRD is Established with its names accepted; return those that are not.

    Discovery is refreshed afterwards, so their custom resources can be found.
    """
    resource = cluster.discovery().preferred_for(*CRD_API)
    if resource is None:
        return list(names)
    pending = set(names)

    def all_ready() -> bool:
        for name in sorted(pending):
            try:
                crd = cluster.get(resource, name)
            except ApiError as error:
                if not _forbidden(error):
                    raise
                pending.discard(name)  # cannot check: carry on
                continue
            conditions = _conditions(crd)
            if (
                conditions.get("Established") == "True"
                and conditions.get("NamesAccepted") == "True"
            ):
                pending.discard(name)
        return not pending

    def wait() -> list[str]:
        poll(all_ready, timeout)
        return sorted(pending)

    not_ready = _logged("CRDs", "Established", sorted(pending), wait)
    cluster.discovery(refresh=True)
    return not_ready


def wait_for_namespaces(cluster: Cluster, names: Iterable[str], timeout: float) -> list[str]:
    """Wait until each namespace is Active; return those that are not (e.g. Terminating)."""
    resource = cluster.discovery().preferred_for("", "Namespace")
    assert resource is not None
    pending = set(names)
    may_list = True

    def read_pending() -> list[Object]:
        nonlocal may_list
        if may_list and len(pending) > 1:  # one read is cheaper than listing every namespace
            try:
                return cluster.list_objects(resource)
            except ApiError as error:
                if not _forbidden(error):
                    raise
                may_list = False  # rights in some namespaces only: read them one by one
        found = []
        for name in sorted(pending):
            try:
                found.append(cluster.get(resource, name) or {})
            except ApiError as error:
                if not _forbidden(error):
                    raise
                pending.discard(name)  # cannot check: carry on
        return found

    def all_active() -> bool:
        if not pending:
            return True
        for namespace in read_pending():
            if (namespace.get("status") or {}).get("phase") == "Active":
                pending.discard(str((namespace.get("metadata") or {}).get("name")))
        return not pending

    def wait() -> list[str]:
        poll(all_active, timeout)
        return sorted(pending)

    return _logged("namespaces", "Active", sorted(pending), wait)


def wait_until_gone(
    cluster: Cluster, resource: ApiResource, name: str, namespace: str | None, timeout: float
) -> bool:
    """True once the object no longer exists (finalizers done)."""
    ref = str(ObjectRef(resource.group, resource.kind, namespace or "", name))

    def wait() -> list[str]:
        gone = poll(lambda: cluster.get(resource, name, namespace) is None, timeout)
        return [] if gone else [ref]

    return not _logged("deleted objects", "gone", [ref], wait)
