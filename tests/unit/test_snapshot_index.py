"""The export's index of what it read: one entry per object when two groups serve it, the
resource each object came from without a table per object, and label sets kept compact."""

from __future__ import annotations

import sys
from typing import Any

from kbundle.cluster import ApiResource
from kbundle.core.spool import SpoolFile
from kbundle.select.compact import Labels, compact_uid, labels_of, sharing, uid_text
from kbundle.select.fact_store import FactStore
from kbundle.select.facts import ObjectFacts, facts_of
from kbundle.select.snapshot import (
    Snapshot,
    _deduplicated,
    _unambiguous_types,
    resource_key,
)

VERBS = frozenset({"list", "get"})
BETA = ApiResource("extensions", "v1beta1", "ingresses", "Ingress", True, VERBS)
GA = ApiResource("networking.k8s.io", "v1", "ingresses", "Ingress", True, VERBS)


def _ingress(api_version: str, name: str, uid: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": "shop", "uid": uid}
    return {"apiVersion": api_version, "kind": "Ingress", "metadata": meta}


def _read(resources: list[ApiResource], listed: dict[str, list[ObjectFacts]]) -> Snapshot:
    by_key = {resource_key(r): r for r in resources}
    by_type = _unambiguous_types(by_key)
    return Snapshot(
        server_version="v",
        context="ctx",
        shared=_deduplicated(listed, by_key, by_type),
        namespaced=FactStore(),
        resources=by_key,
        stored=SpoolFile(),
        custom_resource_kinds=frozenset(),
        resource_by_type=by_type,
    )


def test_an_object_two_groups_serve_is_indexed_once_at_its_most_stable_version() -> None:
    listed = {
        resource_key(BETA): [facts_of(_ingress("extensions/v1beta1", "web", "u1"))],
        resource_key(GA): [facts_of(_ingress("networking.k8s.io/v1", "web", "u1"))],
    }
    snapshot = _read([BETA, GA], listed)
    (fact,) = snapshot.shared.facts
    assert fact.api_version == "networking.k8s.io/v1"
    assert snapshot.resource_key_of(fact, snapshot.shared) == resource_key(GA)
    assert snapshot.shared.resource_of == {}  # each type has one resource: no table per object


def test_objects_of_a_type_two_resources_list_keep_their_resource_by_ref() -> None:
    other = ApiResource("networking.k8s.io", "v1", "legacyingresses", "Ingress", True, VERBS)
    listed = {
        resource_key(GA): [facts_of(_ingress("networking.k8s.io/v1", "a", "u1"))],
        resource_key(other): [facts_of(_ingress("networking.k8s.io/v1", "b", "u2"))],
    }
    snapshot = _read([GA, other], listed)
    group = snapshot.shared
    keys = {f.ref.name: snapshot.resource_key_of(f, group) for f in group.facts}
    assert keys == {"a": resource_key(GA), "b": resource_key(other)}


def test_a_label_set_reads_like_the_mapping_it_came_from() -> None:
    labels = labels_of({"app": "web", "tier": "front"})
    assert labels == {"app": "web", "tier": "front"}
    assert labels["tier"] == "front" and labels.get("zone") is None
    assert "app" in labels and "web" not in labels
    assert list(labels) == ["app", "tier"] and len(labels) == 2
    assert labels != {"app": "web"}


def test_equal_label_sets_are_one_instance_while_a_cluster_is_read() -> None:
    with sharing():
        first = labels_of({"app": "web"})
        assert labels_of({"app": "web"}) is first
    assert hash(first) == hash(Labels(("app", "web")))
    assert not labels_of({}) and labels_of(None) == {}


def test_outside_a_read_nothing_is_kept_for_sharing() -> None:
    first = labels_of({"app": "api"})
    again = labels_of({"app": "api"})
    assert again == first and again is not first


def test_a_uuid_uid_is_kept_as_one_number_and_given_back_as_written() -> None:
    for written in (
        "0f8e2b6c-3d1a-4c5e-9b7f-2a6d8e4c1b3a",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ):
        packed = compact_uid(written)
        assert isinstance(packed, int) and packed  # never false, not even the nil UUID
        assert sys.getsizeof(packed) < sys.getsizeof(bytes(16))
        assert uid_text(packed) == written
        assert compact_uid(written) == packed  # equal texts, equal compact UIDs


def test_a_uid_that_is_not_a_lowercase_uuid_stays_as_it_is() -> None:
    for text in (
        "uid-1",
        "",
        "0F8E2B6C-3D1A-4C5E-9B7F-2A6D8E4C1B3A",
        "x" * 36,
        "0f8e2b6c3d1a4c5e9b7f2a6d8e4c1b3a----",
        " f8e2b6c-3d1a-4c5e-9b7f-2a6d8e4c1b3a",  # int() would take these
        "0x8e2b6c-3d1a-4c5e-9b7f-2a6d8e4c1b3a",
        "0_8e2b6c-3d1a-4c5e-9b7f-2a6d8e4c1b3a",
        "+f8e2b6c-3d1a-4c5e-9b7f-2a6d8e4c1b3a",
    ):
        assert compact_uid(text) == text and uid_text(compact_uid(text)) == text
    assert compact_uid(None) == ""
