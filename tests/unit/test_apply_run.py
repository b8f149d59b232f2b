"""A whole import run against an in-memory cluster: the apply modules composed, and what the
run logs (levels, waits, each object's decision, the outage) without ever an object's data.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, cast

import pytest

from kbundle.apply.engine import Importer, LevelObjects
from kbundle.apply.live import LiveView
from kbundle.apply.options import ApplyOptions
from kbundle.apply.outcome import Action
from kbundle.cluster import ApiResource, Cluster, KindNotServed, Unreachable
from kbundle.core.model import Object, ObjectRef
from kbundle.core.spool import SpooledMapping

VERBS = frozenset({"get", "list", "patch", "create", "update", "delete"})
RESOURCES = {
    ("v1", "Namespace"): ApiResource("", "v1", "namespaces", "Namespace", False, VERBS),
    ("v1", "ConfigMap"): ApiResource("", "v1", "configmaps", "ConfigMap", True, VERBS),
    ("v1", "Secret"): ApiResource("", "v1", "secrets", "Secret", True, VERBS),
}
CANARY = "canary-value-that-must-never-be-logged"


class Listeners:
    """The transport's hook for an import's pace; nothing here is throttled."""

    def __init__(self) -> None:
        self.heard: list[Any] = []

    def listen(self, listener: Any) -> None:
        self.heard.append(listener)

    def unlisten(self, listener: Any) -> None:
        self.heard.remove(listener)


class MemoryCluster:
    """Namespaces, ConfigMaps and Secrets; each apply stores a new resourceVersion. While
    ``down``, every request goes unanswered."""

    def __init__(self) -> None:
        self.transport = Listeners()
        self.stored: dict[tuple[str, str, str], Object] = {}
        self.applies = 0
        self.down = False
        self._versions = 0
        self._lock = threading.Lock()

    def discovery(self, refresh: bool = False) -> MemoryCluster:
        return self

    def preferred_for(self, group: str, kind: str) -> ApiResource | None:
        return RESOURCES.get(("v1", kind)) if group == "" else None

    def resource_for(self, obj: Object) -> ApiResource:
        resource = RESOURCES.get((obj["apiVersion"], obj["kind"]))
        if resource is None:
            raise KindNotServed(f"{obj['kind']} {obj['apiVersion']} is not served")
        return resource

    def list_objects(self, resource: ApiResource, namespace: str | None = None) -> list[Object]:
        self._answer()
        with self._lock:
            return [
                copy.deepcopy(obj)
                for (plural, where, _), obj in self.stored.items()
                if plural == resource.plural and namespace in (None, where)
            ]

    def scan(
        self, resource: ApiResource, pick: Callable[[Object], Any], *, namespace: str | None = None
    ) -> list[Any]:
        return [
            kept for o in self.list_objects(resource, namespace) if (kept := pick(o)) is not None
        ]

    def get(self, resource: ApiResource, name: str, namespace: str | None = None) -> Any:
        self._answer()
        with self._lock:
            return copy.deepcopy(self.stored.get((resource.plural, namespace or "", name)))

    def apply(self, resource: ApiResource, obj: Object, **options: Any) -> Object:
        self._answer()
        meta = obj["metadata"]
        key = (resource.plural, meta.get("namespace") or "", meta["name"])
        with self._lock:
            self.applies += 1
            self._versions += 1
            stored = copy.deepcopy(obj)
            stored["metadata"] = {
                **meta,
                "uid": f"uid-{key}",
                "resourceVersion": str(self._versions),
            }
            if obj["kind"] == "Namespace":
                stored["status"] = {"phase": "Active"}
            if not options.get("dry_run"):
                self.stored[key] = stored
            return copy.deepcopy(stored)

    def apply_answer(self, resource: ApiResource, obj: Object, **options: Any) -> bytes:
        return json.dumps(self.apply(resource, obj, **options)).encode()

    def _answer(self) -> None:
        if self.down:
            raise Unreachable("connection refused")


def levels() -> list[LevelObjects]:
    return [
        LevelObjects(
            1,
            "namespaces",
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}],
        ),
        LevelObjects(
            6,
            "configuration",
            [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "settings", "namespace": "shop"},
                    "data": {"mode": CANARY},
                },
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "creds", "namespace": "shop"},
                    "data": {"password": base64.b64encode(CANARY.encode()).decode()},
                },
            ],
        ),
    ]


def import_into(cluster: MemoryCluster, options: ApplyOptions) -> Importer:
    importer = Importer(cast(Cluster, cluster), options)
    importer.run(levels())
    return importer


def test_a_run_logs_levels_waits_and_decisions_but_never_object_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cluster = MemoryCluster()
    with caplog.at_level(logging.DEBUG, logger="kbundle"):
        first = import_into(cluster, ApplyOptions(parallel=2))
    assert [o.action for o in first.outcomes] == [Action.CREATE] * 3
    lines = [record.getMessage() for record in caplog.records]
    assert "level 1 namespaces: 1 objects" in lines
    assert "level 6 configuration: 2 objects" in lines
    assert "waiting for namespaces to be Active: shop" in lines
    assert any(line.startswith("namespaces Active after ") for line in lines)
    assert "Secret shop/creds: write, create" in lines
    encoded = base64.b64encode(CANARY.encode()).decode()
    assert not [line for line in lines if CANARY in line or encoded in line]

    caplog.clear()
    applies = cluster.applies
    with caplog.at_level(logging.DEBUG, logger="kbundle"):
        second = import_into(cluster, ApplyOptions(parallel=2))
    assert [o.action for o in second.outcomes] == [Action.UNCHANGED] * 3
    assert cluster.applies == applies  # nothing sent
    assert "ConfigMap shop/settings: satisfied, unchanged" in caplog.messages


def test_an_outage_is_logged_when_it_starts_and_when_the_import_gives_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cluster = MemoryCluster()
    cluster.down = True
    with caplog.at_level(logging.INFO, logger="kbundle"):
        importer = import_into(cluster, ApplyOptions(parallel=1, retry_timeout=0.0))
    assert importer.gave_up is not None
    assert all(o.action is Action.FAIL for o in importer.outcomes)
    assert "the destination does not answer: connection refused" in caplog.messages
    assert f"giving up: {importer.gave_up}" in caplog.messages
    assert "level 6 configuration: 2 objects not attempted" in caplog.messages


def test_what_the_preflight_read_is_not_listed_again_and_decides_as_a_list_would() -> None:
    """A LiveView stands for the lists it completed: no scan of them, same verdicts; a list
    it lacks (the Secrets here) is read by the import itself."""
    cluster = MemoryCluster()
    import_into(cluster, ApplyOptions(parallel=2))
    configmaps = RESOURCES[("v1", "ConfigMap")]
    read = SpooledMapping[ObjectRef]()
    for obj in cluster.list_objects(configmaps, "shop"):
        read[ObjectRef.of(obj)] = obj
    scanned: list[str] = []
    scan = cluster.scan

    def counted(resource: ApiResource, pick: Any, **kw: Any) -> list[Any]:
        scanned.append(resource.plural)
        return scan(resource, pick, **kw)

    cluster.scan = counted  # type: ignore[method-assign]
    known = LiveView(read, frozenset({(configmaps.path(), "shop")}))
    importer = Importer(cast(Cluster, cluster), ApplyOptions(parallel=2), known=known)
    outcomes = importer.run(levels())
    assert [o.action for o in outcomes] == [Action.UNCHANGED] * 3
    assert "configmaps" not in scanned and "secrets" in scanned


def test_a_stale_absence_in_the_preflight_read_still_ends_in_a_harmless_apply() -> None:
    """The view says the ConfigMap is absent (it appeared since): the import applies it, and
    server-side apply makes that an update, not a failure."""
    cluster = MemoryCluster()
    import_into(cluster, ApplyOptions(parallel=2))
    configmaps = RESOURCES[("v1", "ConfigMap")]
    known = LiveView(SpooledMapping(), frozenset({(configmaps.path(), "shop")}))
    importer = Importer(cast(Cluster, cluster), ApplyOptions(parallel=2), known=known)
    outcomes = {o.ref.name: o.action for o in importer.run(levels())}
    assert outcomes["settings"] is Action.CREATE  # as it looked; the write itself is an apply
    assert outcomes["creds"] is Action.UNCHANGED
