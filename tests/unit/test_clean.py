"""``clean_object`` strips what the source apiserver filled in, and only that.

Inputs are real objects from a Kubernetes 1.20.2 apiserver (``fixtures/objects``); small
dicts cover what that cluster cannot produce (a scheduled Pod, a 1.21 token volume...).
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbundle.clean import RULES, CleanContext, CleanNote, CleanOptions, clean_object
from kbundle.core.model import Object, ObjectRef

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "objects"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.yaml"))
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
)


@functools.cache
def _parsed(name: str) -> Object:
    with (FIXTURES / f"{name}.yaml").open() as f:
        obj: Object = yaml.safe_load(f)
    return obj


def load(name: str) -> Object:
    """A fresh copy of one fixture object, free for the test to edit."""
    return copy.deepcopy(_parsed(name))


def uid_of(name: str) -> str:
    return str(load(name)["metadata"]["uid"])


def context(
    *,
    uids: frozenset[str] = frozenset(),
    volumes: frozenset[str] = frozenset(),
    tokens: frozenset[tuple[str, str]] = frozenset(),
    keep_status: bool = False,
    keep_last_applied: bool = False,
) -> CleanContext:
    return CleanContext(
        exported_uids=uids,
        exported_persistent_volumes=volumes,
        generated_token_secrets=tokens,
        options=CleanOptions(keep_status=keep_status, keep_last_applied=keep_last_applied),
    )


def clean(obj: Object, ctx: CleanContext | None = None) -> Object:
    return clean_object(obj, ctx or context())[0]


def notes_of(obj: Object, ctx: CleanContext | None = None) -> list[CleanNote]:
    return clean_object(obj, ctx or context())[1]


def expected(text: str) -> Object:
    obj: Object = yaml.safe_load(text)
    return obj


def server_object(kind: str, api_version: str = "v1", **fields: Any) -> Object:
    """A small object as an apiserver returns it (with uid and resourceVersion)."""
    obj: Object = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": "ns", "uid": "u-1", "resourceVersion": "7"},
    }
    obj.update(fields)
    return obj


# -- every object -------------------------------------------------------------------------


def test_status_is_removed() -> None:
    assert "status" in load("deployment-api")
    assert "status" not in clean(load("deployment-api"))


def test_keep_status_keeps_status() -> None:
    cleaned = clean(load("deployment-api"), context(keep_status=True))
    assert cleaned["status"] == load("deployment-api")["status"]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_server_metadata_is_removed_from_every_fixture(name: str) -> None:
    meta = clean(load(name))["metadata"]
    assert not set(SERVER_METADATA) & set(meta), name
    assert meta["name"] == load(name)["metadata"]["name"]


def test_deletion_fields_and_self_link_are_removed() -> None:
    obj = server_object("ConfigMap", data={"k": "v"})
    obj["metadata"].update(
        deletionTimestamp="2026-11-21T07:30:00Z",
        deletionGracePeriodSeconds=30,
        selfLink="/api/v1/namespaces/ns/configmaps/x",
        generation=3,
    )
    assert clean(obj) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "ns"},
        "data": {"k": "v"},
    }


def test_last_applied_annotation_is_removed_and_empty_annotations_with_it() -> None:
    source = load("deployment-web-applied")
    assert LAST_APPLIED in source["metadata"]["annotations"]
    assert "annotations" not in clean(source)["metadata"]


def test_keep_last_applied_keeps_the_annotation() -> None:
    source = load("deployment-web-applied")
    cleaned = clean(source, context(keep_last_applied=True))
    assert cleaned["metadata"]["annotations"] == {
        LAST_APPLIED: source["metadata"]["annotations"][LAST_APPLIED]
    }


def test_empty_labels_and_annotations_maps_are_removed() -> None:
    obj = server_object("ConfigMap")
    obj["metadata"].update(labels={}, annotations={})
    assert clean(obj)["metadata"] == {"name": "x", "namespace": "ns"}


def test_other_annotations_stay() -> None:
    obj = server_object("ConfigMap")
    obj["metadata"]["annotations"] = {LAST_APPLIED: "{}", "team": "shop"}
    assert clean(obj)["metadata"]["annotations"] == {"team": "shop"}


def test_owner_reference_in_bundle_is_kept_with_its_source_uid() -> None:
    source = load("pod-api-replica")
    cleaned = clean(source, context(uids=frozenset({uid_of("replicaset-api")})))
    assert cleaned["metadata"]["ownerReferences"] == source["metadata"]["ownerReferences"]


def test_owner_reference_outside_bundle_is_dropped_with_a_note() -> None:
    cleaned, notes = clean_object(load("configmap-storefront-widget-state"), context())
    assert "ownerReferences" not in cleaned["metadata"]
    assert notes == [
        CleanNote(
            ObjectRef("", "ConfigMap", "shop", "storefront-widget-state"),
            "owner-outside-bundle",
            "ConfigMap shop/storefront-widget-state: owner Widget storefront is not in the "
            "bundle: owner reference dropped",
        )
    ]


def test_only_the_owners_outside_the_bundle_are_dropped() -> None:
    obj = server_object("ConfigMap")
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "u-gone"},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "here", "uid": "u-here"},
    ]
    cleaned, notes = clean_object(obj, context(uids=frozenset({"u-here"})))
    assert [r["name"] for r in cleaned["metadata"]["ownerReferences"]] == ["here"]
    assert [(n.code, "ConfigMap gone" in n.message) for n in notes] == [
        ("owner-outside-bundle", True)
    ]


def test_configmap_owned_by_widget_in_bundle_expected_output() -> None:
    source = load("configmap-storefront-widget-state")
    cleaned, notes = clean_object(source, context(uids=frozenset({uid_of("widget-storefront")})))
    assert notes == []
    assert cleaned == expected(
        """
        apiVersion: v1
        data: {rendered: 'teal, large, 3 replicas'}
        kind: ConfigMap
        metadata:
          name: storefront-widget-state
          namespace: shop
          ownerReferences:
          - apiVersion: example.com/v1
            blockOwnerDeletion: true
            controller: true
            kind: Widget
            name: storefront
            uid: 4a8a90dd-d4bd-4d41-ac4f-a2d03c492252
        """
    )


def test_namespace_loses_only_generic_fields() -> None:
    assert clean(load("namespace-shop")) == expected(
        """
        apiVersion: v1
        kind: Namespace
        metadata:
          labels: {kubernetes.io/metadata.name: shop, team: shop}
          name: shop
        spec:
          finalizers: [kubernetes]
        """
    )


def test_custom_resource_and_definition_lose_status_and_server_metadata() -> None:
    crd = clean(load("crd-widgets"))
    assert "status" not in crd
    assert crd["spec"] == load("crd-widgets")["spec"]
    widget = clean(load("widget-storefront"))
    assert widget["spec"] == load("widget-storefront")["spec"]
    assert widget["metadata"] == {
        "labels": {"app": "frontend"},
        "name": "storefront",
        "namespace": "shop",
    }


# -- workloads ----------------------------------------------------------------------------


def test_deployment_revision_annotation_is_removed() -> None:
    assert "deployment.kubernetes.io/revision" in load("deployment-api")["metadata"]["annotations"]
    assert "annotations" not in clean(load("deployment-api"))["metadata"]


def test_revision_annotation_on_other_kinds_is_not_touched() -> None:
    cleaned = clean(load("replicaset-api"))
    assert cleaned["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"


def test_pod_node_name_is_removed() -> None:
    pod = load("pod-debug-shell")
    pod["spec"]["nodeName"] = "worker-3"
    assert "nodeName" not in clean(pod)["spec"]


def test_node_name_in_a_pod_template_is_intent_and_stays() -> None:
    deployment = load("deployment-api")
    deployment["spec"]["template"]["spec"]["nodeName"] = "worker-3"
    assert clean(deployment)["spec"]["template"]["spec"]["nodeName"] == "worker-3"


def test_pod_injected_token_volume_and_mounts_are_removed() -> None:
    cleaned = clean(load("pod-api-replica"))
    spec = cleaned["spec"]
    assert [v["name"] for v in spec["volumes"]] == ["bundle", "uploads"]
    assert [m["name"] for m in spec["containers"][0]["volumeMounts"]] == ["bundle", "uploads"]
    assert "volumeMounts" not in spec["initContainers"][0]


def test_user_projected_volume_with_a_token_source_stays() -> None:
    bundle = clean(load("pod-api-replica"))["spec"]["volumes"][0]
    assert bundle == load("pod-api-replica")["spec"]["volumes"][0]
    assert {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}} in bundle[
        "projected"
    ]["sources"]


def test_pod_left_without_volumes_loses_the_empty_lists() -> None:
    spec = clean(load("pod-debug-shell"))["spec"]
    assert "volumes" not in spec
    assert "volumeMounts" not in spec["containers"][0]


def test_kube_api_access_volume_of_1_21_is_removed_from_every_container_list() -> None:
    mount = {"name": "kube-api-access-x7k2p", "mountPath": "/var/run/secrets/kubernetes.io/sa"}
    pod = server_object(
        "Pod",
        spec={
            "serviceAccountName": "default",
            "containers": [{"name": "a", "volumeMounts": [mount]}],
            "initContainers": [{"name": "b", "volumeMounts": [mount]}],
            "ephemeralContainers": [{"name": "c", "volumeMounts": [mount]}],
            "volumes": [
                {
                    "name": "kube-api-access-x7k2p",
                    "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
                }
            ],
        },
    )
    assert clean(pod)["spec"] == {
        "serviceAccountName": "default",
        "containers": [{"name": "a"}],
        "initContainers": [{"name": "b"}],
        "ephemeralContainers": [{"name": "c"}],
    }


@pytest.mark.parametrize(
    "volume",
    [
        # another account's token, mounted on purpose
        {"name": "ops-token-x7k2p", "secret": {"secretName": "ops-token-x7k2p"}},
        # volume name differs from the Secret name: not the admission plugin's doing
        {"name": "token", "secret": {"secretName": "default-token-x7k2p"}},
        # a Secret volume that happens to use the 1.21 name
        {"name": "kube-api-access-x7k2p", "secret": {"secretName": "mine"}},
    ],
)
def test_user_volumes_that_resemble_the_injected_one_stay(volume: Object) -> None:
    pod = server_object("Pod", spec={"serviceAccountName": "default", "volumes": [volume]})
    assert clean(pod)["spec"]["volumes"] == [volume]


def test_job_generated_selector_and_labels_are_removed() -> None:
    assert clean(load("job-migrate-schema")) == expected(
        """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: migrate-schema, namespace: shop}
        spec:
          backoffLimit: 2
          completions: 1
          parallelism: 1
          template:
            spec:
              containers:
              - env:
                - name: DB_PASSWORD
                  valueFrom: {secretKeyRef: {key: password, name: db-credentials}}
                image: registry.shop.example/shop/api-migrations:3.0
                imagePullPolicy: IfNotPresent
                name: migrate
                resources: {}
                terminationMessagePath: /dev/termination-log
                terminationMessagePolicy: File
              dnsPolicy: ClusterFirst
              restartPolicy: Never
              schedulerName: default-scheduler
              securityContext: {}
              terminationGracePeriodSeconds: 30
        """
    )


def test_job_keeps_user_labels_beside_the_generated_ones() -> None:
    job = load("job-migrate-schema")
    job["metadata"]["labels"]["team"] = "shop"
    job["spec"]["template"]["metadata"]["labels"]["team"] = "shop"
    cleaned = clean(job)
    assert cleaned["metadata"]["labels"] == {"team": "shop"}
    assert cleaned["spec"]["template"]["metadata"]["labels"] == {"team": "shop"}


def test_job_with_manual_selector_keeps_selector_and_labels() -> None:
    source = load("job-manual-selector")
    cleaned = clean(source)
    assert cleaned["spec"]["selector"] == {"matchLabels": {"batch": "nightly"}}
    assert cleaned["spec"]["template"]["metadata"] == {"labels": {"batch": "nightly"}}
    assert cleaned["metadata"]["labels"] == {"batch": "nightly"}


@pytest.mark.parametrize(
    "name",
    [
        "deployment-api",
        "replicaset-api",
        "statefulset-db",
        "daemonset-log-agent",
        "job-manual-selector",
    ],
)
def test_template_creation_timestamp_is_removed(name: str) -> None:
    assert "creationTimestamp" in load(name)["spec"]["template"]["metadata"]
    assert "creationTimestamp" not in clean(load(name))["spec"]["template"]["metadata"]


def test_cron_job_templates_lose_their_timestamps() -> None:
    job_template = clean(load("cronjob-nightly-report"))["spec"]["jobTemplate"]
    assert "metadata" not in job_template
    assert "metadata" not in job_template["spec"]["template"]


@pytest.mark.parametrize(
    ("kind", "path"),
    [("ReplicationController", ("spec", "template")), ("PodTemplate", ("template",))],
)
def test_core_pod_templates_lose_their_timestamps(kind: str, path: tuple[str, ...]) -> None:
    template = {"metadata": {"creationTimestamp": None, "labels": {"a": "b"}}, "spec": {}}
    obj = server_object(kind)
    if path == ("template",):
        obj["template"] = template
    else:
        obj["spec"] = {"template": template}
    node = clean(obj)
    for key in path:
        node = node[key]
    assert node["metadata"] == {"labels": {"a": "b"}}


def test_stateful_set_claim_templates_lose_status_and_timestamp() -> None:
    claim = clean(load("statefulset-db"))["spec"]["volumeClaimTemplates"][0]
    assert claim == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": load("statefulset-db")["spec"]["volumeClaimTemplates"][0]["spec"],
    }


# -- identity -----------------------------------------------------------------------------


def test_service_account_drops_generated_token_secret() -> None:
    cleaned = clean(
        load("serviceaccount-api"), context(tokens=frozenset({("shop", "api-token-8gsrx")}))
    )
    assert cleaned == expected(
        """
        apiVersion: v1
        imagePullSecrets: [{name: registry-pull}]
        kind: ServiceAccount
        metadata: {name: api, namespace: shop}
        """
    )


def test_service_account_keeps_secrets_that_are_not_generated_here() -> None:
    sa = load("serviceaccount-api")
    sa["secrets"].append({"name": "api-long-lived-token"})
    same_name_elsewhere = context(tokens=frozenset({("other", "api-token-8gsrx")}))
    assert clean(sa, same_name_elsewhere)["secrets"] == sa["secrets"]


def test_user_made_token_secret_is_left_for_the_token_controller() -> None:
    assert clean(load("secret-api-long-lived-token")) == expected(
        """
        apiVersion: v1
        kind: Secret
        metadata:
          annotations: {kubernetes.io/service-account.name: api}
          name: api-long-lived-token
          namespace: shop
        type: kubernetes.io/service-account-token
        """
    )


def test_token_secret_keeps_extra_data_keys() -> None:
    secret = load("secret-api-long-lived-token")
    secret["data"]["extra"] = "cmVkYWN0ZWQ="
    assert clean(secret)["data"] == {"extra": "cmVkYWN0ZWQ="}


def test_opaque_secret_data_is_untouched() -> None:
    source = load("secret-db-credentials")
    assert clean(source)["data"] == source["data"]


# -- networking ---------------------------------------------------------------------------


def test_user_set_node_port_owned_in_managed_fields_stays() -> None:
    assert clean(load("service-frontend")) == expected(
        """
        apiVersion: v1
        kind: Service
        metadata: {labels: {app: frontend}, name: frontend, namespace: shop}
        spec:
          clusterIP: 10.96.148.231
          clusterIPs: [10.96.148.231]
          externalTrafficPolicy: Cluster
          ports:
          - {name: http, nodePort: 30080, port: 80, protocol: TCP, targetPort: 80}
          selector: {app: frontend}
          sessionAffinity: None
          type: NodePort
        """
    )


def test_allocated_node_port_is_removed_silently() -> None:
    cleaned, notes = clean_object(load("service-nodeport-assigned"), context())
    assert "nodePort" not in cleaned["spec"]["ports"][0]
    assert cleaned["spec"]["clusterIP"] == "10.96.23.119"
    assert notes == []


def test_applied_service_keeps_only_the_node_port_the_user_set() -> None:
    ports = clean(load("service-nodeport-applied"))["spec"]["ports"]
    assert [(p["name"], p.get("nodePort")) for p in ports] == [
        ("http", 30180),
        ("metrics", None),
        ("dns", None),
    ]


def test_last_applied_alone_proves_a_node_port_user_set() -> None:
    service = load("service-nodeport-applied")
    del service["metadata"]["managedFields"]
    cleaned, notes = clean_object(service, context())
    assert [p.get("nodePort") for p in cleaned["spec"]["ports"]] == [30180, None, None]
    assert notes == []


def test_node_port_is_matched_by_port_and_protocol() -> None:
    service = load("service-nodeport-applied")
    fields = service["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:ports"]
    fields['k:{"port":53,"protocol":"UDP"}']["f:nodePort"] = {}
    service["metadata"]["annotations"] = {}
    service["spec"]["ports"].append(
        {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53, "nodePort": 31053}
    )
    ports = clean(service)["spec"]["ports"]
    assert [(p["name"], p.get("nodePort")) for p in ports] == [
        ("http", 30180),
        ("metrics", None),
        ("dns", 32474),
        ("dns-tcp", None),
    ]


def test_allocated_health_check_node_port_is_removed() -> None:
    assert clean(load("service-lb-local")) == expected(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: lb-local, namespace: clean-fixtures}
        spec:
          clusterIP: 10.96.169.22
          clusterIPs: [10.96.169.22]
          externalTrafficPolicy: Local
          ports:
          - {name: http, port: 80, protocol: TCP, targetPort: 8080}
          selector: {app: web}
          sessionAffinity: None
          type: LoadBalancer
        """
    )


def test_user_set_health_check_node_port_stays() -> None:
    spec = clean(load("service-lb-local-fixed-health"))["spec"]
    assert spec["healthCheckNodePort"] == 30222
    assert spec["ports"][0]["nodePort"] == 30280


def test_node_ports_without_any_record_are_removed_with_a_note() -> None:
    cleaned, notes = clean_object(load("service-legacy-nodeport"), context())
    assert [p.get("nodePort") for p in cleaned["spec"]["ports"]] == [None, None]
    assert [(n.code, n.ref.name) for n in notes] == [
        ("node-port-provenance-unknown", "legacy-nodeport")
    ]
    assert "30380" in notes[0].message
    assert "31965" in notes[0].message


def test_health_check_node_port_without_any_record_is_removed_with_a_note() -> None:
    service = load("service-lb-local")
    del service["metadata"]["managedFields"]
    cleaned, notes = clean_object(service, context())
    assert "healthCheckNodePort" not in cleaned["spec"]
    assert [n.code for n in notes] == ["node-port-provenance-unknown"]
    assert "healthCheckNodePort 31959" in notes[0].message


def test_ownership_by_the_before_first_apply_placeholder_proves_nothing() -> None:
    cleaned, notes = clean_object(load("service-legacy-nodeport-adopted"), context())
    assert [p.get("nodePort") for p in cleaned["spec"]["ports"]] == [None, None]
    assert [n.code for n in notes] == ["node-port-provenance-unknown"]


def test_node_port_owned_by_the_apiserver_itself_is_removed_silently() -> None:
    service = load("service-frontend")
    service["metadata"]["managedFields"][0]["manager"] = "kube-apiserver"
    cleaned, notes = clean_object(service, context())
    assert "nodePort" not in cleaned["spec"]["ports"][0]
    assert notes == []


def test_node_ports_of_an_object_never_read_from_a_server_stay() -> None:
    written = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]},
    }
    assert clean_object(written, context()) == (written, [])


def test_endpoints_trigger_time_is_removed() -> None:
    assert clean(load("endpoints-api")) == expected(
        """
        apiVersion: v1
        kind: Endpoints
        metadata: {labels: {app: api}, name: api, namespace: shop}
        """
    )


def test_manual_endpoints_keep_their_subsets() -> None:
    source = load("endpoints-legacy-billing")
    assert clean(source)["subsets"] == source["subsets"]


# -- storage ------------------------------------------------------------------------------


def test_bound_claim_loses_bind_annotations_and_keeps_an_exported_volume() -> None:
    cleaned, notes = clean_object(
        load("persistentvolumeclaim-uploads"), context(volumes=frozenset({"shop-uploads"}))
    )
    assert notes == []
    assert cleaned == expected(
        """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          finalizers: [kubernetes.io/pvc-protection]
          name: uploads
          namespace: shop
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 2Gi}}
          storageClassName: shop-local
          volumeMode: Filesystem
          volumeName: shop-uploads
        """
    )


def test_claim_loses_provisioner_and_selected_node_annotations() -> None:
    claim = load("persistentvolumeclaim-data-db-0")
    claim["metadata"]["annotations"] = {
        "volume.beta.kubernetes.io/storage-provisioner": "example.com/csi",
        "volume.kubernetes.io/storage-provisioner": "example.com/csi",
        "volume.kubernetes.io/selected-node": "worker-3",
        "team": "shop",
    }
    assert clean(claim)["metadata"]["annotations"] == {"team": "shop"}


def test_claim_bound_to_a_volume_outside_the_bundle_is_unpinned_with_a_note() -> None:
    cleaned, notes = clean_object(load("persistentvolumeclaim-uploads"), context())
    assert "volumeName" not in cleaned["spec"]
    assert [n.code for n in notes] == ["volume-outside-bundle"]
    assert "shop-uploads" in notes[0].message


def test_bound_volume_loses_bind_state_and_claim_identity() -> None:
    volume = load("persistentvolume-shop-uploads")
    volume["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] = "example.com/csi"
    cleaned = clean(volume)
    assert cleaned["metadata"]["annotations"] == {
        "pv.kubernetes.io/provisioned-by": "example.com/csi"
    }
    assert cleaned["spec"]["claimRef"] == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "name": "uploads",
        "namespace": "shop",
    }
    assert cleaned["spec"]["hostPath"] == {"path": "/srv/shop/uploads", "type": ""}


# -- properties ---------------------------------------------------------------------------


def everything_in_bundle() -> CleanContext:
    uids = frozenset(uid_of(name) for name in FIXTURE_NAMES)
    return context(
        uids=uids,
        volumes=frozenset({"shop-uploads"}),
        tokens=frozenset({("shop", "api-token-8gsrx")}),
    )


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_clean_object_does_not_mutate_its_input_and_is_deterministic(name: str) -> None:
    for ctx in (context(), everything_in_bundle()):
        source = load(name)
        pristine = copy.deepcopy(source)
        first = clean_object(source, ctx)
        assert source == pristine
        assert clean_object(source, ctx) == first


def test_cleaned_object_shares_no_mutable_part_with_its_input() -> None:
    source = load("deployment-api")
    cleaned = clean(source)
    cleaned["spec"]["template"]["spec"]["containers"][0]["image"] = "changed"
    assert source["spec"]["template"]["spec"]["containers"][0]["image"] != "changed"


def test_every_rule_has_a_unique_name_and_a_reason() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.reason.strip() for rule in RULES)
    assert RULES[-1].name == "empty-label-maps"


LABEL_KEYS = st.one_of(
    st.sampled_from(
        [
            LAST_APPLIED,
            "deployment.kubernetes.io/revision",
            "kubernetes.io/service-account.uid",
            "pv.kubernetes.io/bound-by-controller",
            "controller-uid",
            "job-name",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-./", min_size=1, max_size=20),
)
LABEL_MAPS = st.none() | st.dictionaries(LABEL_KEYS, st.text(max_size=20), max_size=5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(FIXTURE_NAMES),
    labels=LABEL_MAPS,
    annotations=LABEL_MAPS,
    in_bundle=st.booleans(),
    options=st.builds(CleanOptions, keep_status=st.booleans(), keep_last_applied=st.booleans()),
)
def test_cleaning_is_idempotent(
    name: str,
    labels: dict[str, str] | None,
    annotations: dict[str, str] | None,
    in_bundle: bool,
    options: CleanOptions,
) -> None:
    obj = load(name)
    for key, extra in (("labels", labels), ("annotations", annotations)):
        if extra is not None:
            obj["metadata"][key] = {**obj["metadata"].get(key, {}), **extra}
    base = everything_in_bundle() if in_bundle else context()
    ctx = CleanContext(
        base.exported_uids, base.exported_persistent_volumes, base.generated_token_secrets, options
    )
    once, _ = clean_object(obj, ctx)
    twice, notes = clean_object(once, ctx)
    assert twice == once
    assert notes == []


SECRET_VALUES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=12, max_size=40)


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(["secret-api-long-lived-token", "secret-db-credentials"]),
    values=st.lists(SECRET_VALUES, min_size=1, max_size=4),
)
def test_notes_about_a_secret_never_carry_its_data(name: str, values: list[str]) -> None:
    secret = load(name)
    secret["data"] = {
        f"key{i}": base64.b64encode(v.encode()).decode() for i, v in enumerate(values)
    }
    secret["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "name": "api", "uid": "u-missing"}
    ]
    secret["metadata"]["annotations"] = {
        **secret["metadata"].get("annotations", {}),
        LAST_APPLIED: json.dumps({"data": secret["data"]}),
    }
    notes = notes_of(secret)
    assert notes, "the foreign owner must be reported"
    for note in notes:
        for encoded, plain in zip(secret["data"].values(), values, strict=True):
            assert encoded not in note.message
            assert plain not in note.message


# -- rules added after the destination refused real objects ------------------------------


def test_pod_priority_filled_in_by_admission_is_removed_and_its_class_kept() -> None:
    pod = load("pod-api-replica")
    assert pod["spec"]["priority"] == 100000
    cleaned = clean(pod)
    assert "priority" not in cleaned["spec"]
    assert cleaned["spec"]["priorityClassName"] == "shop-critical"


def test_autoscaler_status_carried_in_annotations_is_removed() -> None:
    conditions = '[{"type":"AbleToScale","status":"True","lastTransitionTime":"2026-01-01T0:0:0Z"}]'
    hpa = server_object(
        "HorizontalPodAutoscaler",
        "autoscaling/v1",
        spec={"maxReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "api"}},
    )
    hpa["metadata"]["annotations"] = {
        "autoscaling.alpha.kubernetes.io/conditions": conditions,
        "autoscaling.alpha.kubernetes.io/current-metrics": "[]",
        "autoscaling.alpha.kubernetes.io/metrics": '[{"type":"Resource"}]',
    }
    cleaned = clean(hpa)
    assert cleaned["metadata"]["annotations"] == {
        "autoscaling.alpha.kubernetes.io/metrics": '[{"type":"Resource"}]'
    }
