"""What import does with each object, and what the report says, for every rule that decides.

``decide`` comes before any write; ``after_write`` reads the server's answer; ``not_served``
covers kinds the destination does not serve (yet).
"""

from __future__ import annotations

import json
from typing import NamedTuple

import pytest

from kbundle.apply.decide import Decision, Verdict, after_write, decide, not_served
from kbundle.apply.options import ApplyOptions, DryRunMode, ExistingMode
from kbundle.apply.outage import conflicting_owners, describe
from kbundle.apply.outcome import Action
from kbundle.apply.writes import Written
from kbundle.cluster import ApiError
from kbundle.core.model import Object

INTENDED: Object = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "shop"},
    "data": {"mode": "fast"},
}
SAME: Object = {  # every field the bundle sets, plus what the server added
    **INTENDED,
    "metadata": {**INTENDED["metadata"], "uid": "u1", "resourceVersion": "7"},
}
DRIFTED: Object = {**SAME, "data": {"mode": "slow"}}
CLUSTER_SCOPED: Object = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "reader"},
    "rules": [],
}

UPDATE, SKIP, RECREATE = ExistingMode.UPDATE, ExistingMode.SKIP, ExistingMode.RECREATE
NONE, CLIENT, SERVER = DryRunMode.NONE, DryRunMode.CLIENT, DryRunMode.SERVER
SKIPPED = Decision(Verdict.EXISTS, Action.SKIP, "exists; --existing=skip leaves it untouched")
UNCHANGED = Decision(Verdict.SATISFIED, Action.UNCHANGED)
PLAN_CREATE = Decision(Verdict.PLANNED, Action.CREATE)
PLAN_UPDATE = Decision(Verdict.PLANNED, Action.UPDATE)
WRITE_CREATE = Decision(Verdict.WRITE, Action.CREATE)
WRITE_UPDATE = Decision(Verdict.WRITE, Action.UPDATE)
NOT_CHECKED = Decision(
    Verdict.NAMESPACE_FIRST,
    Action.SKIP,
    "not checked: namespace shop is created by this import first",
)


class Case(NamedTuple):
    live: Object | None
    existing: ExistingMode
    dry_run: DryRunMode
    namespace_present: bool  # the answer, should decide ask
    expected: Decision
    asks_namespace: bool = False
    intended: Object = INTENDED


CASES = {
    # --existing=skip: what exists stays as it is, even when it drifted or in a dry run
    "skip-leaves-an-existing-object-untouched": Case(DRIFTED, SKIP, NONE, True, SKIPPED),
    "skip-wins-over-unchanged": Case(SAME, SKIP, NONE, True, SKIPPED),
    "skip-in-a-client-dry-run": Case(DRIFTED, SKIP, CLIENT, True, SKIPPED),
    "skip-in-a-server-dry-run": Case(DRIFTED, SKIP, SERVER, False, SKIPPED),
    "skip-creates-what-is-missing": Case(None, SKIP, NONE, True, WRITE_CREATE),
    # the live object already has every field the bundle sets: nothing is sent
    "unchanged-on-update": Case(SAME, UPDATE, NONE, True, UNCHANGED),
    "unchanged-on-recreate": Case(SAME, RECREATE, NONE, True, UNCHANGED),
    "unchanged-in-a-client-dry-run": Case(SAME, UPDATE, CLIENT, True, UNCHANGED),
    "unchanged-in-a-server-dry-run": Case(SAME, UPDATE, SERVER, False, UNCHANGED),
    # a client dry run plans from what exists and sends nothing
    "client-plan-creates-what-is-missing": Case(None, UPDATE, CLIENT, False, PLAN_CREATE),
    "client-plan-updates-what-drifted": Case(DRIFTED, UPDATE, CLIENT, True, PLAN_UPDATE),
    "client-plan-creates-under-skip": Case(None, SKIP, CLIENT, False, PLAN_CREATE),
    # a server dry run cannot check objects in a namespace this import creates first
    "server-dry-run-in-a-namespace-to-be-created": Case(
        None, UPDATE, SERVER, False, NOT_CHECKED, True
    ),
    "server-dry-run-of-a-drifted-object-asks-too": Case(
        DRIFTED, UPDATE, SERVER, True, WRITE_UPDATE, True
    ),
    "server-dry-run-in-an-existing-namespace": Case(None, UPDATE, SERVER, True, WRITE_CREATE, True),
    "server-dry-run-of-a-cluster-scoped-object": Case(
        None, UPDATE, SERVER, False, WRITE_CREATE, intended=CLUSTER_SCOPED
    ),
    # otherwise: write, and the server's answer settles the report
    "write-creates-what-is-missing": Case(None, UPDATE, NONE, False, WRITE_CREATE),
    "write-updates-what-drifted": Case(DRIFTED, UPDATE, NONE, True, WRITE_UPDATE),
    "write-on-recreate": Case(DRIFTED, RECREATE, NONE, True, WRITE_UPDATE),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decide_follows_existing_dry_run_and_what_is_live(case: Case) -> None:
    asked: list[str] = []

    def namespace_present(namespace: str) -> bool:
        asked.append(namespace)
        return case.namespace_present

    options = ApplyOptions(existing=case.existing, dry_run=case.dry_run)
    assert decide(case.intended, case.live, options, namespace_present) == case.expected
    assert asked == (["shop"] if case.asks_namespace else [])  # asked only when it decides


@pytest.mark.parametrize(
    ("live", "stored", "recreated", "expected"),
    [
        (None, SAME, None, WRITE_CREATE),
        (SAME, SAME, None, Decision(Verdict.WRITE, Action.UNCHANGED)),
        (
            DRIFTED,
            {**SAME, "metadata": {**SAME["metadata"], "resourceVersion": "8"}},
            None,
            WRITE_UPDATE,
        ),
        (
            DRIFTED,
            SAME,
            "field is immutable",
            Decision(Verdict.WRITE, Action.UPDATE, "deleted and created again: field is immutable"),
        ),
    ],
    ids=["absent-is-created", "same-version-is-unchanged", "new-version-is-updated", "recreated"],
)
def test_after_a_write_the_servers_answer_settles_the_report(
    live: Object | None, stored: Object, recreated: str | None, expected: Decision
) -> None:
    assert after_write(live, Written(stored, recreated)) == expected
    assert after_write(live, Written(json.dumps(stored).encode(), recreated)) == expected


def test_the_answer_to_a_create_is_never_decoded() -> None:
    assert after_write(None, Written(b"not JSON at all")) == Decision(Verdict.WRITE, Action.CREATE)


CRD_FIRST = "its CRD is created by this import first"
NOT_SERVED = Decision(Verdict.NOT_SERVED, Action.FAIL, "not served")


@pytest.mark.parametrize(
    ("dry_run", "crd_in_bundle", "expected"),
    [
        (CLIENT, True, Decision(Verdict.CRD_FIRST, Action.CREATE, CRD_FIRST)),
        (SERVER, True, Decision(Verdict.CRD_FIRST, Action.SKIP, CRD_FIRST)),
        (NONE, True, NOT_SERVED),
        (CLIENT, False, NOT_SERVED),
        (SERVER, False, NOT_SERVED),
    ],
    ids=[
        "client-plan",
        "server-dry-run",
        "real-import",
        "client-foreign-kind",
        "server-foreign-kind",
    ],
)
def test_a_kind_not_served_fails_unless_a_dry_run_brings_its_crd(
    dry_run: DryRunMode, crd_in_bundle: bool, expected: Decision
) -> None:
    options = ApplyOptions(dry_run=dry_run)
    assert not_served(options, crd_in_bundle, "not served") == expected


# -- how a refused write is reported ---------------------------------------------------------


def _conflict(*causes: tuple[str, str]) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        "Apply failed with conflicts:\n- .spec.replicas",
        method="PATCH",
        path="/apis/apps/v1/namespaces/shop/deployments/web",
        details={
            "causes": [
                {"reason": "FieldManagerConflict", "message": message, "field": field}
                for message, field in causes
            ]
        },
    )


def test_an_apply_conflict_names_each_owner_its_fields_and_the_ways_out() -> None:
    error = _conflict(
        ('conflict with "kubectl"', ".spec.replicas"),
        ('conflict with "hpa-controller" using apps/v1', ".spec.template.spec.containers"),
        ('conflict with "kubectl"', ".metadata.labels.tier"),
    )
    assert describe(error) == (
        "409 Conflict: other field managers own fields the bundle sets: "
        '"hpa-controller" owns .spec.template.spec.containers; '
        '"kubectl" owns .spec.replicas, .metadata.labels.tier; '
        "take them over with --force-conflicts, or leave the object as it is with "
        "--existing skip"
    )
    assert conflicting_owners(error) == [
        ("hpa-controller", [".spec.template.spec.containers"]),
        ("kubectl", [".spec.replicas", ".metadata.labels.tier"]),
    ]


def test_other_refusals_keep_the_server_s_words_on_one_line() -> None:
    error = ApiError(422, "Invalid", "spec.ports[0]: bad\n  and more", method="P", path="/x")
    assert describe(error) == "422 Invalid: spec.ports[0]: bad and more"
    assert conflicting_owners(error) == []
