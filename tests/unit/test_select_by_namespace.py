"""An export planned one namespace at a time writes what the plan of the whole cluster
writes: the same objects in the same file order, the same levels, owners, reasons and
counts of what was left out, for every kind of selection that is planned that way."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import pytest

from kbundle.cluster import ApiResource
from kbundle.core.model import Object, ObjectRef
from kbundle.core.selectors import parse_selector
from kbundle.core.spool import SpoolFile
from kbundle.select.by_namespace import plan_by_namespace
from kbundle.select.fact_store import FactStore
from kbundle.select.facts import ObjectFacts, facts_of
from kbundle.select.layout import ExportLayout, layout_of
from kbundle.select.plan import ObjectIndex, SelectionRequest, plan_export
from kbundle.select.snapshot import (
    ObjectGroup,
    Snapshot,
    _deduplicated,
    _unambiguous_types,
    consulted_everywhere,
    resource_key,
)
from tests.sample_state import CRD_NAMES, sample_objects, uid_of

RBAC = "rbac.authorization.k8s.io/v1"
VERBS = frozenset({"list", "get"})


def _with_uid(obj: Object) -> Object:
    obj["metadata"]["uid"] = uid_of(ObjectRef.of(obj))
    return obj


def _owner_link(owner: Object) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }


def _cluster() -> list[Object]:
    """The sample app and its controllers' objects, plus edges that cross namespaces or
    reach cluster-scoped objects from inside one."""
    objects = sample_objects()
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    crd = next(o for o in objects if o["kind"] == "CustomResourceDefinition")
    objects += [
        # A Role and RoleBinding of shop-ops granting a ServiceAccount of shop a CRD that
        # nothing else names.
        _with_uid(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": "gadgets.example.com"},
                "spec": {"group": "example.com", "names": {"plural": "gadgets"}},
            }
        ),
        _with_uid(
            {
                "apiVersion": RBAC,
                "kind": "Role",
                "metadata": {"name": "gadget-reader", "namespace": "shop-ops"},
                "rules": [
                    {"apiGroups": ["example.com"], "resources": ["gadgets"], "verbs": ["get"]}
                ],
            }
        ),
        _with_uid(
            {
                "apiVersion": RBAC,
                "kind": "RoleBinding",
                "metadata": {"name": "read-gadgets", "namespace": "shop-ops"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "gadget-reader",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": "shop"}],
            }
        ),
        # A namespaced object whose controller is cluster-scoped.
        _with_uid(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "owned-by-namespace",
                    "namespace": "shop",
                    "labels": {"app": "api"},
                    "ownerReferences": [_owner_link(namespace)],
                },
            }
        ),
        # A cluster-scoped object whose controller is another: left out when that is in.
        _with_uid(
            {
                "apiVersion": RBAC,
                "kind": "ClusterRole",
                "metadata": {
                    "name": "widget-viewer",
                    "labels": {"app": "api"},
                    "ownerReferences": [_owner_link(crd)],
                },
            }
        ),
        _with_uid(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "lonely", "namespace": "zzz-last"},
            }
        ),
    ]
    return objects


def _resources(objects: list[Object]) -> dict[str, ApiResource]:
    found = {}
    for obj in objects:
        group, _, version = obj["apiVersion"].rpartition("/")
        plural = obj["kind"].lower() + "s"
        resource = ApiResource(
            group, version, plural, obj["kind"], bool(obj["metadata"].get("namespace")), VERBS
        )
        found[resource_key(resource)] = resource
    return found


def _facts(
    objects: list[Object], resources: dict[str, ApiResource]
) -> dict[str, list[ObjectFacts]]:
    by_type = {(r.api_version, r.kind): key for key, r in resources.items()}
    listed: dict[str, list[ObjectFacts]] = defaultdict(list)
    for place, obj in enumerate(objects):
        group = obj["apiVersion"].rpartition("/")[0]
        crd = CRD_NAMES.get((group, obj["kind"].lower() + "s"))
        key = by_type[(obj["apiVersion"], obj["kind"])]
        listed[key].append(facts_of(obj, crd_name=crd, place=place))
    return listed


def _both(request: SelectionRequest) -> tuple[ExportLayout, ExportLayout]:
    objects = _cluster()
    resources = _resources(objects)
    by_type = _unambiguous_types(resources)
    whole = _deduplicated(_facts(objects, resources), resources, by_type)

    shared: dict[str, list[ObjectFacts]] = defaultdict(list)
    namespaced = FactStore()
    for key, facts in _facts(objects, resources).items():
        by_namespace: dict[str, list[ObjectFacts]] = defaultdict(list)
        for fact in facts:
            if consulted_everywhere(fact):
                shared[key].append(fact)
            else:
                by_namespace[fact.ref.namespace].append(fact)
        for namespace, kept in by_namespace.items():
            namespaced.add(namespace, key, kept)
    snapshot = Snapshot(
        server_version="v",
        context="ctx",
        shared=_deduplicated(shared, resources, by_type),
        namespaced=namespaced,
        resources=resources,
        stored=SpoolFile(),
        custom_resource_kinds=frozenset(),
        resource_by_type=by_type,
    )
    at_once = layout_of(
        plan_export(ObjectIndex(whole.facts), request),
        lambda fact: snapshot.resource_key_of(fact, whole),
    )
    return at_once, plan_by_namespace(snapshot, request)


def _written(layout: ExportLayout) -> dict[str, Any]:
    return {
        "files": {
            key: (list(file.places), sorted(file.referenced), sorted(file.owners))
            for key, file in layout.files.items()
        },
        "cluster_scoped": dict(layout.cluster_scoped),
        "skipped": dict(layout.skipped),
        "tokens": set(layout.generated_token_secrets),
        "warnings": list(layout.warnings),
    }


SELECTIONS = {
    "one namespace": SelectionRequest(namespaces=frozenset({"shop"})),
    "two namespaces": SelectionRequest(namespaces=frozenset({"shop", "shop-ops"})),
    "every namespace": SelectionRequest(),
    "everything": SelectionRequest(cluster_resources="true"),
    "no cluster objects": SelectionRequest(
        namespaces=frozenset({"shop"}), cluster_resources="false"
    ),
    "labels everywhere": SelectionRequest(selector=parse_selector("app=api")),
    "labels with cluster objects": SelectionRequest(
        selector=parse_selector("app=api"), cluster_resources="true"
    ),
    "kinds left out": SelectionRequest(exclude_kinds=frozenset({"ConfigMap", "Namespace"})),
    "kinds chosen": SelectionRequest(
        include_kinds=frozenset(
            {"Deployment.apps", "ServiceAccount", "CustomResourceDefinition.apiextensions.k8s.io"}
        )
    ),
    "owned kept": SelectionRequest(namespaces=frozenset({"shop"}), include_owned=True),
}


@pytest.mark.parametrize("request_", SELECTIONS.values(), ids=SELECTIONS.keys())
def test_planning_one_namespace_at_a_time_writes_what_the_whole_plan_writes(
    request_: SelectionRequest,
) -> None:
    at_once, by_namespace = _both(request_)
    assert at_once.objects  # every selection here holds something
    assert _written(by_namespace) == _written(at_once)


def test_the_edges_that_cross_namespaces_or_scopes_are_among_those_compared() -> None:
    at_once, _ = _both(SelectionRequest(namespaces=frozenset({"shop"})))
    reasons = {ref.name: why for ref, why in at_once.cluster_scoped.items()}
    assert reasons["gadgets.example.com"] == (
        "named by Role shop-ops/gadget-reader, bound to ServiceAccount shop/api by "
        "RoleBinding shop-ops/read-gadgets"
    )
    owned = "owned by an exported controller, which recreates it"
    assert at_once.skipped[("ConfigMap", owned)] == 1  # its controller: Namespace shop
    everything, _ = _both(SelectionRequest(cluster_resources="true"))
    assert everything.skipped[("ClusterRole.rbac.authorization.k8s.io", owned)] == 1


def test_an_object_selection_is_not_planned_by_namespace() -> None:
    snapshot = Snapshot("v", "ctx", ObjectGroup([]), FactStore(), {}, SpoolFile(), frozenset())
    roots = SelectionRequest(roots=(ObjectRef("apps", "Deployment", "shop", "api"),))
    with pytest.raises(ValueError, match="roots"):
        plan_by_namespace(snapshot, roots)


def test_an_index_holding_a_namespace_is_as_before_once_it_lets_go() -> None:
    objects = _cluster()
    resources = _resources(objects)
    facts = [f for listed in _facts(objects, resources).values() for f in listed]
    shared = [f for f in facts if not f.namespaced]
    index = ObjectIndex(shared)
    before = copy.copy(vars(index))
    before = {name: copy.copy(table) for name, table in before.items()}
    with index.holding([f for f in facts if f.namespaced]):
        assert len(index.by_ref) == len(facts)
        assert index.selecting["shop"] and index.claims["shop"]
    assert {name: getattr(index, name) for name in before} == before


def test_the_fact_store_gives_back_each_namespace_s_facts_as_they_were_kept() -> None:
    objects = _cluster()
    facts = [f for listed in _facts(objects, _resources(objects)).values() for f in listed]
    store = FactStore()
    kept: dict[str, list[ObjectFacts]] = defaultdict(list)
    for fact in facts:
        if fact.namespaced:
            store.add(fact.ref.namespace, "key", [fact])
            kept[fact.ref.namespace].append(fact)
    assert store.namespaces() == sorted(kept)
    assert store.count == sum(len(v) for v in kept.values())
    for namespace, expected in kept.items():
        loaded = [f for key, chunk in store.load(namespace) for f in chunk]
        assert loaded == expected
        assert [f.labels for f in loaded] == [f.labels for f in expected]
    assert store.load("no-such-namespace") == []
