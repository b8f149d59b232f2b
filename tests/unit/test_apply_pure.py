"""The pure parts of import: what counts as unchanged, destination adjustments, transforms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kbundle.apply.compare import satisfied_by
from kbundle.apply.engine import _batches
from kbundle.apply.outcome import Action, ImportReport, Outcome
from kbundle.apply.owners import Owners
from kbundle.apply.prepare import clear_cluster_ips, rebuild_owner_references
from kbundle.core.errors import TransformError
from kbundle.core.kinds import KEEP_CLUSTER_IPS
from kbundle.core.model import Object, ObjectRef
from kbundle.core.owners import owner_candidates
from kbundle.transforms.base import TransformContext, TransformOutput
from kbundle.transforms.runner import run_transforms

LIVE_DEPLOYMENT: Object = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "api",
        "namespace": "shop",
        "uid": "u",
        "resourceVersion": "9",
        "annotations": {"deployment.kubernetes.io/revision": "1"},
    },
    "spec": {
        "replicas": 2,
        "progressDeadlineSeconds": 600,
        "template": {
            "spec": {
                "containers": [{"name": "a", "image": "x:1", "imagePullPolicy": "IfNotPresent"}]
            }
        },
    },
    "status": {"replicas": 2},
}


def test_defaults_and_controller_fields_on_the_live_object_do_not_count_as_change() -> None:
    intended = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "a", "image": "x:1"}]}},
        },
    }
    assert satisfied_by(intended, LIVE_DEPLOYMENT)


@pytest.mark.parametrize(
    "change",
    [
        {"spec": {"replicas": 3}},
        {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x:2"}]}}}},
        {"metadata": {"labels": {"new": "label"}}},
        {"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}},
        {"spec": {"replicas": "2"}},
        {"spec": {"paused": False}},
    ],
)
def test_any_difference_in_what_the_bundle_sets_is_a_change(change: dict[str, Any]) -> None:
    assert not satisfied_by(change, LIVE_DEPLOYMENT)


def test_bool_and_int_are_not_confused() -> None:
    assert not satisfied_by({"a": True}, {"a": 1})
    assert not satisfied_by({"a": 1}, {"a": True})


def _service(cluster_ip: str, annotations: dict[str, str] | None = None) -> Object:
    meta: dict[str, Any] = {"name": "s", "namespace": "n"}
    if annotations is not None:
        meta["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "ports": [{"port": 80, "nodePort": 30080}],
        },
    }


def test_cluster_ips_are_cleared_for_the_destination_to_allocate() -> None:
    cleared = clear_cluster_ips(_service("10.96.0.50"))
    assert "clusterIP" not in cleared["spec"] and "clusterIPs" not in cleared["spec"]
    assert cleared["spec"]["ports"][0]["nodePort"] == 30080


def test_headless_services_stay_headless() -> None:
    assert clear_cluster_ips(_service("None"))["spec"]["clusterIP"] == "None"


def test_mapped_cluster_ips_are_kept_and_the_marker_removed() -> None:
    kept = clear_cluster_ips(_service("10.112.0.50", {KEEP_CLUSTER_IPS: "true", "a": "b"}))
    assert kept["spec"]["clusterIP"] == "10.112.0.50"
    assert kept["metadata"]["annotations"] == {"a": "b"}


def test_objects_other_than_core_services_are_untouched() -> None:
    other = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"clusterIP": "1.2.3.4"},
    }
    assert clear_cluster_ips(other) is other


def _owned(*owners: tuple[str, str]) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "state",
            "namespace": "shop",
            "ownerReferences": [
                {
                    "apiVersion": api,
                    "kind": kind,
                    "name": "storefront",
                    "uid": "source-uid",
                    "controller": True,
                }
                for api, kind in owners
            ],
        },
    }


def test_owner_references_point_at_the_owners_destination_uid() -> None:
    uids = {ObjectRef("example.com", "Widget", "shop", "storefront"): "new-uid"}
    rebuilt, pending = rebuild_owner_references(_owned(("example.com/v1", "Widget")), uids.get)
    assert rebuilt["metadata"]["ownerReferences"][0]["uid"] == "new-uid"
    assert rebuilt["metadata"]["ownerReferences"][0]["controller"] is True
    assert pending == []


def test_owners_not_yet_in_the_destination_are_left_out_until_they_are() -> None:
    obj = _owned(("example.com/v1", "Widget"), ("example.com/v1", "Gizmo"))
    uids = {ObjectRef("example.com", "Widget", "shop", "storefront"): "new-uid"}
    rebuilt, pending = rebuild_owner_references(obj, uids.get)
    assert [r["kind"] for r in rebuilt["metadata"]["ownerReferences"]] == ["Widget"]
    assert [p.ref.kind for p in pending] == ["Gizmo"]
    assert obj["metadata"]["ownerReferences"][1]["uid"] == "source-uid"  # input untouched


def test_cluster_scoped_owners_are_found_too() -> None:
    uids = {ObjectRef("example.com", "Fleet", "", "storefront"): "fleet-uid"}
    rebuilt, _ = rebuild_owner_references(_owned(("example.com/v1", "Fleet")), uids.get)
    assert rebuilt["metadata"]["ownerReferences"][0]["uid"] == "fleet-uid"


def test_the_owners_an_object_may_name_are_each_reference_in_its_namespace_and_cluster_wide() -> (
    None
):
    obj = _owned(("example.com/v1", "Widget"), ("example.com/v1", "Fleet"))
    assert set(owner_candidates(obj)) == {
        ObjectRef("example.com", "Widget", "shop", "storefront"),
        ObjectRef("example.com", "Widget", "", "storefront"),
        ObjectRef("example.com", "Fleet", "shop", "storefront"),
        ObjectRef("example.com", "Fleet", "", "storefront"),
    }
    assert list(owner_candidates({"metadata": {"name": "alone"}})) == []


def test_only_the_uids_of_named_owners_are_kept_once_they_are_known() -> None:
    owners = Owners(None, None, None)  # type: ignore[arg-type]  # remember/uid_of need none
    widget = ObjectRef("example.com", "Widget", "shop", "storefront")
    other = ObjectRef("", "ConfigMap", "shop", "settings")
    owners.keep_only(frozenset({widget}))
    owners.remember(widget, {"metadata": {"uid": "w-uid"}})
    owners.remember(other, {"metadata": {"uid": "c-uid"}})
    assert owners.uid_of(widget) == "w-uid"
    assert owners.uid_of(other) is None


class _Named:
    def __init__(self, name: str, step: Callable[[Object], TransformOutput] | Exception) -> None:
        self.name = name
        self._step = step

    def __call__(self, obj: Object, context: TransformContext) -> TransformOutput:
        if isinstance(self._step, Exception):
            raise self._step
        return self._step(obj)


CONFIG_MAP: Object = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "n"},
}


def test_transforms_run_in_order_and_may_split_or_drop() -> None:
    split = _Named("split", lambda o: [o, {**o, "metadata": {**o["metadata"], "name": "d"}}])
    drop_d = _Named("drop-d", lambda o: None if o["metadata"]["name"] == "d" else o)
    result = run_transforms(CONFIG_MAP, [split, drop_d], TransformContext())
    assert [o["metadata"]["name"] for o in result] == ["c"]


def test_a_failing_transform_names_itself_and_the_object() -> None:
    broken = _Named("my-plugin", ValueError("no idea"))
    with pytest.raises(
        TransformError,
        match=r"transform my-plugin failed on ConfigMap n/c: "
        r"ValueError: no idea",
    ):
        run_transforms(CONFIG_MAP, [broken], TransformContext())


def test_report_counts_actions_per_level_and_is_ok_only_without_failures() -> None:
    ref = ObjectRef("", "ConfigMap", "n", "c")
    outcomes = (
        Outcome(6, ref, "v1", Action.CREATE),
        Outcome(6, ref, "v1", Action.UNCHANGED),
        Outcome(9, ref, "v1", Action.FAIL, "422 Invalid: nope"),
    )
    report = ImportReport(outcomes, (), {6: "configuration", 9: "workloads"})
    assert not report.ok
    levels = {s.name: s.counts for s in report.by_level()}
    assert levels["configuration"][Action.CREATE] == 1
    assert levels["workloads"][Action.FAIL] == 1
    assert report.to_dict()["objects"][2]["message"] == "422 Invalid: nope"
    assert ImportReport(outcomes[:2], (), {}).ok


def test_a_level_goes_out_in_batches_and_its_last_objects_one_by_one() -> None:
    sizes = [len(batch) for batch in _batches(range(100), 8, single_after=100 - 8 * 4)]
    assert sizes == [8] * 8 + [4] + [1] * 32  # 68 in batches, the last 32 alone
    assert [len(b) for b in _batches(range(5), 8, single_after=-3)] == [1] * 5
    assert [len(b) for b in _batches(range(10), 4)] == [4, 4, 2]
