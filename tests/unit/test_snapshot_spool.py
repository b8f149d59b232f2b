"""The export's spool: a list that fails mid-way is read again from its start, that list
alone, and what the failed attempt read is never handed out; objects come back from disk in
the order asked (a file's), whatever order the server listed them in. Scripted pages
stand in for the server here: what is under test is kbundle's own bookkeeping, not anything
an apiserver decides."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kbundle.cluster import ApiError, ApiResource
from kbundle.core.spool import SpoolFile
from kbundle.select.fact_store import FactStore
from kbundle.select.facts import ObjectFacts
from kbundle.select.snapshot import LIST_ATTEMPTS, _read

CONFIGMAPS = ApiResource("", "v1", "configmaps", "ConfigMap", True, frozenset({"list", "get"}))


def _configmap(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}"},
        "data": {"k": name},
    }


class ScriptedPages:
    """``list_pages`` that answers pages, and fails after ``fail_after`` pages on each of
    the first ``failures`` reads."""

    def __init__(self, pages: list[list[dict[str, Any]]], failures: int, status: int) -> None:
        self.pages = pages
        self.failures = failures
        self.status = status
        self.reads = 0

    def list_pages(self, resource: ApiResource, **_: Any) -> Iterator[list[dict[str, Any]]]:
        self.reads += 1
        for number, page in enumerate(self.pages):
            if self.reads <= self.failures and number == 1:
                raise ApiError(self.status, "Expired", "too old", method="GET", path="/x")
            yield [dict(item) for item in page]


def _listed(server: ScriptedPages, namespace: str | None, stored: SpoolFile) -> list[ObjectFacts]:
    """The facts of one list as the export keeps them: committed to a fact store once the
    list has been read whole, and read back from it."""
    store = FactStore()
    consulted, written = _read(server, CONFIGMAPS, namespace, stored, spill=store, crd_name=None)  # type: ignore[arg-type]
    store.commit(written)
    spilled = [f for ns in store.namespaces() for _, chunk in store.load(ns) for f in chunk]
    return consulted + spilled


def _pages() -> list[list[dict[str, Any]]]:
    return [
        [_configmap("a", "b"), _configmap("a", "a")],
        [_configmap("a", "d"), _configmap("a", "c")],
    ]


@pytest.mark.parametrize("status", [410, 500, 503])
def test_a_list_failing_mid_way_is_read_again_from_its_start(status: int) -> None:
    server = ScriptedPages(_pages(), failures=1, status=status)
    stored = SpoolFile()
    located = _listed(server, "a", stored)
    assert server.reads == 2
    names = sorted(fact.ref.name for fact in located)
    assert names == ["a", "b", "c", "d"]  # once each: the first attempt's page is gone
    spooled = stored.read_all([fact.place for fact in located])
    assert sorted(o["metadata"]["name"] for o in spooled) == ["a", "b", "c", "d"]


def test_a_list_that_keeps_failing_gives_up_after_its_attempts() -> None:
    server = ScriptedPages(_pages(), failures=LIST_ATTEMPTS, status=410)
    with pytest.raises(ApiError):
        _listed(server, "a", SpoolFile())
    assert server.reads == LIST_ATTEMPTS


def test_a_refusal_is_not_read_again() -> None:
    server = ScriptedPages(_pages(), failures=1, status=403)
    with pytest.raises(ApiError):
        _listed(server, "a", SpoolFile())
    assert server.reads == 1


def test_objects_come_back_from_disk_in_the_order_asked_not_the_order_listed() -> None:
    stored = SpoolFile()
    facts: list[ObjectFacts] = []
    for namespace in ("b", "a"):
        server = ScriptedPages(
            [[_configmap(namespace, n) for n in ("z", "m")], [_configmap(namespace, "a")]],
            failures=0,
            status=410,
        )
        facts += _listed(server, namespace, stored)
    wanted = sorted((f for f in facts if f.ref.name != "m"), key=lambda f: f.ref)
    read = stored.read_all([f.place for f in wanted])
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in read] == [
        ("a", "a"),
        ("a", "z"),
        ("b", "a"),
        ("b", "z"),
    ]


def test_a_resource_listed_across_namespaces_comes_back_object_by_object() -> None:
    server = ScriptedPages(
        [[_configmap("b", "a"), _configmap("a", "z")], [_configmap("a", "a")]],
        failures=0,
        status=410,
    )
    stored = SpoolFile()
    located = {(f.ref.namespace, f.ref.name): f for f in _listed(server, None, stored)}
    wanted = [("a", "a"), ("b", "a"), ("a", "z")]  # neither the listing's order nor sorted
    read = stored.read_all([located[key].place for key in wanted])
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in read] == wanted
