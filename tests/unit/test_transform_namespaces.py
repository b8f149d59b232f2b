"""``--map-namespace``: objects move to the new namespace, and so does every reference to it.

Inputs are the sample app's manifests (``fixtures/sample-app``) and objects read from a real
1.20 apiserver (``fixtures/objects``); small additions cover what those do not hold (affinity
terms, conversion webhooks, an APIService...).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbundle.core.errors import UsageError
from kbundle.core.model import Object, ObjectRef
from kbundle.transforms.base import Rewrite, Transform, TransformContext
from kbundle.transforms.namespaces import NamespaceMapping, parse_namespace_mappings
from tests.objects import every_object, fixture, sample, sample_app

MAPPING = {"shop": "shop-restored", "shop-ops": "ops"}
NAME_LABEL = "kubernetes.io/metadata.name"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


# -- inputs ---------------------------------------------------------------------------------


def run(obj: Object, mapping: dict[str, str] | None = None) -> tuple[Object, list[Rewrite]]:
    context = TransformContext()
    result = NamespaceMapping(MAPPING if mapping is None else mapping)(obj, context)
    return result, context.rewrites


def changes(obj: Object, mapping: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """``path -> (before, after)`` of every change recorded for ``obj``."""
    return {r.path: (r.before, r.after) for r in run(obj, mapping)[1]}


def at(obj: Any, *path: str | int) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _path_text(path: tuple[str, ...]) -> str:
    return ".".join(path)


# -- the contract ---------------------------------------------------------------------------


def test_is_a_transform_named_map_namespace() -> None:
    transform: Transform = NamespaceMapping(MAPPING)
    assert transform.name == "map-namespace"


def test_rewrites_name_the_transform_and_the_object_as_it_was() -> None:
    deployment = sample("Deployment", "api")
    _, rewrites = run(deployment)
    assert rewrites
    assert {r.transform for r in rewrites} == {"map-namespace"}
    assert {r.ref for r in rewrites} == {ObjectRef("apps", "Deployment", "shop", "api")}


def test_input_is_never_mutated() -> None:
    for obj in every_object():
        before = copy.deepcopy(obj)
        result, _ = run(obj)
        assert obj == before
        assert result is not obj


def test_empty_mapping_returns_an_equal_copy_and_records_nothing() -> None:
    for obj in every_object():
        result, rewrites = run(obj, {})
        assert result == obj
        assert result is not obj
        assert rewrites == []


@pytest.mark.parametrize("mapping", [{"shop": "shop-restored"}, MAPPING])
def test_applying_twice_changes_nothing_more(mapping: dict[str, str]) -> None:
    for obj in every_object():
        once, _ = run(obj, mapping)
        twice, rewrites = run(once, mapping)
        assert twice == once
        assert rewrites == []


def test_mapping_is_copied_so_later_edits_to_the_dict_change_nothing() -> None:
    mapping = {"shop": "shop-restored"}
    transform = NamespaceMapping(mapping)
    mapping["shop"] = "elsewhere"
    result = transform(sample("ConfigMap", "feature-flags"), TransformContext())
    assert result["metadata"]["namespace"] == "shop-restored"


def test_a_hand_built_mapping_is_validated_like_the_flag() -> None:
    with pytest.raises(UsageError, match="b=c: 'a' is already mapped to 'b': chained"):
        NamespaceMapping({"a": "b", "b": "c"})


def test_whole_sample_app_keeps_no_reference_to_an_old_namespace() -> None:
    """Every place the sample app names ``shop`` or ``shop-ops`` follows the mapping."""
    stale: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                names = value if isinstance(value, list) else [value]
                if key in {"namespace", "namespaces", NAME_LABEL} and any(
                    isinstance(name, str) and name in MAPPING for name in names
                ):
                    stale.append(f"{path}.{key}")
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")
        elif isinstance(node, str) and (".shop.svc" in node or ".shop-ops.svc" in node):
            stale.append(path)

    for obj in sample_app():
        result, _ = run(obj)
        walk(result, str(ObjectRef.of(obj)))
    assert stale == []


# Field names the rules look for, so that generated objects reach them with wrong types.
FIELD_NAMES = [
    "namespace",
    "namespaces",
    "service",
    "clientConfig",
    "containers",
    "env",
    "value",
    "template",
    "spec",
    "subjects",
    "kind",
    "matchLabels",
    "matchExpressions",
    "key",
    "operator",
    "values",
    "affinity",
    "podAffinity",
    "webhooks",
    "claimRef",
    "rules",
    "host",
    "csi",
    "nodePublishSecretRef",
    "dnsConfig",
    "searches",
    "labels",
    REQUIRED,
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["shop", "a.shop.svc", NAME_LABEL]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(FIELD_NAMES),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
KINDS = st.sampled_from(
    [
        ("v1", "Namespace"),
        ("v1", "Pod"),
        ("v1", "ConfigMap"),
        ("v1", "PersistentVolume"),
        ("v1", "Service"),
        ("v1", "PodTemplate"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "CronJob"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ("apiregistration.k8s.io/v1", "APIService"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("networking.k8s.io/v1", "Ingress"),
        ("example.com/v1", "Widget"),
    ]
)


METADATA = st.fixed_dictionaries(
    {"name": st.sampled_from(["shop", "x"])},
    optional={"namespace": JSON, "labels": JSON, "annotations": JSON},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=KINDS,
    metadata=METADATA,
    fields=st.dictionaries(
        st.sampled_from(["spec", "subjects", "webhooks", "data", "template"]), JSON
    ),
)
def test_malformed_objects_are_copied_without_error(
    kind: tuple[str, str], metadata: dict[str, Any], fields: dict[str, Any]
) -> None:
    """Past verification, only ``metadata.name`` is known to be well formed: any other field
    of an unexpected type is left as it is."""
    obj = {"apiVersion": kind[0], "kind": kind[1], "metadata": metadata, **fields}
    before = copy.deepcopy(obj)
    result, _ = run(obj)
    assert obj == before
    twice, rewrites = run(result)
    assert twice == result and rewrites == []


# -- 1. metadata.namespace ------------------------------------------------------------------


def test_objects_of_a_mapped_namespace_move_to_the_new_one() -> None:
    config_map = sample("ConfigMap", "feature-flags")
    result, rewrites = run(config_map)
    assert result["metadata"]["namespace"] == "shop-restored"
    assert rewrites == [
        Rewrite(
            "map-namespace",
            ObjectRef("", "ConfigMap", "shop", "feature-flags"),
            "metadata.namespace",
            "shop",
            "shop-restored",
        )
    ]


def test_objects_of_other_namespaces_stay_where_they_are() -> None:
    deployment = fixture("deployment-web-applied")  # namespace clean-fixtures
    result, rewrites = run(deployment)
    assert result == deployment
    assert rewrites == []


# -- 2. Namespace objects -------------------------------------------------------------------


def test_namespace_object_is_renamed_with_its_name_label() -> None:
    namespace = fixture("namespace-shop")
    result, _ = run(namespace)
    assert result["metadata"]["name"] == "shop-restored"
    assert result["metadata"]["labels"] == {NAME_LABEL: "shop-restored", "team": "shop"}
    assert changes(namespace) == {
        "metadata.name": ("shop", "shop-restored"),
        f'metadata.labels["{NAME_LABEL}"]': ("shop", "shop-restored"),
    }


def test_namespace_without_the_name_label_does_not_gain_one() -> None:
    namespace = sample("Namespace", "shop-ops")
    del namespace["metadata"]["labels"][NAME_LABEL]
    result, _ = run(namespace)
    assert result["metadata"] == {"name": "ops", "labels": {"team": "ops"}}


# -- 3. binding subjects --------------------------------------------------------------------


def test_rolebinding_service_account_subjects_follow_their_namespaces() -> None:
    binding = sample("RoleBinding", "api-reader")  # subjects in shop and shop-ops
    result, _ = run(binding)
    assert [s["namespace"] for s in result["subjects"]] == ["shop-restored", "ops"]
    assert changes(binding)["subjects[1].namespace"] == ("shop-ops", "ops")


def test_rolebinding_of_an_unmapped_namespace_follows_a_subject_in_a_mapped_one() -> None:
    binding = sample("RoleBinding", "api-reader")
    binding["metadata"]["namespace"] = "shop-ops"
    binding["subjects"] = [{"kind": "ServiceAccount", "name": "api", "namespace": "shop"}]
    result, _ = run(binding, {"shop": "shop-restored"})
    assert result["metadata"]["namespace"] == "shop-ops"
    assert changes(binding, {"shop": "shop-restored"}) == {
        "subjects[0].namespace": ("shop", "shop-restored")
    }


def test_subject_without_namespace_keeps_meaning_the_bindings_own() -> None:
    binding = sample("RoleBinding", "api-reader")
    binding["subjects"] = [
        {"kind": "ServiceAccount", "name": "api"},
        {"kind": "User", "name": "shop", "apiGroup": "rbac.authorization.k8s.io"},
        {"kind": "Group", "name": "shop-ops", "apiGroup": "rbac.authorization.k8s.io"},
    ]
    result, _ = run(binding)
    assert result["subjects"] == binding["subjects"]


def test_clusterrolebinding_subjects_follow_their_namespaces() -> None:
    binding = sample("ClusterRoleBinding", "shop-log-agent")
    result, _ = run(binding)
    assert result["subjects"][0]["namespace"] == "shop-restored"
    assert changes(binding) == {"subjects[0].namespace": ("shop", "shop-restored")}


# -- 4. PersistentVolume claimRef (and volume-source Secrets) -------------------------------


def test_volume_claim_ref_follows_the_claims_namespace() -> None:
    volume = fixture("persistentvolume-shop-uploads")
    result, _ = run(volume)
    assert result["spec"]["claimRef"]["namespace"] == "shop-restored"
    assert changes(volume) == {"spec.claimRef.namespace": ("shop", "shop-restored")}


def test_volume_source_secret_references_follow_their_namespaces() -> None:
    volume = fixture("persistentvolume-shop-uploads")
    del volume["spec"]["hostPath"]
    volume["spec"]["csi"] = {
        "driver": "ebs.csi.example.com",
        "volumeHandle": "vol-1",
        "nodePublishSecretRef": {"name": "csi-creds", "namespace": "shop"},
        "controllerExpandSecretRef": {"name": "csi-creds", "namespace": "kube-system"},
    }
    assert changes(volume) == {
        "spec.claimRef.namespace": ("shop", "shop-restored"),
        "spec.csi.nodePublishSecretRef.namespace": ("shop", "shop-restored"),
    }
    del volume["spec"]["csi"]
    volume["spec"]["azureFile"] = {"secretName": "az", "shareName": "s", "secretNamespace": "shop"}
    assert changes(volume)["spec.azureFile.secretNamespace"] == ("shop", "shop-restored")


# -- 5. Services called by the apiserver ----------------------------------------------------


def test_admission_webhook_service_follows_its_namespace() -> None:
    configuration = sample("ValidatingWebhookConfiguration", "shop-widget-guard")
    result, _ = run(configuration)
    assert result["webhooks"][0]["clientConfig"]["service"]["namespace"] == "ops"
    assert changes(configuration) == {
        "webhooks[0].clientConfig.service.namespace": ("shop-ops", "ops")
    }


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
@pytest.mark.parametrize("kind", ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"])
def test_every_webhook_of_either_kind_and_version_follows(kind: str, version: str) -> None:
    configuration = sample("ValidatingWebhookConfiguration", "shop-widget-guard")
    configuration["apiVersion"] = f"admissionregistration.k8s.io/{version}"
    configuration["kind"] = kind
    second = copy.deepcopy(configuration["webhooks"][0])
    second["name"] = "widget-defaults.shop.example.com"
    second["clientConfig"]["service"]["namespace"] = "shop"
    configuration["webhooks"].append(second)
    assert changes(configuration) == {
        "webhooks[0].clientConfig.service.namespace": ("shop-ops", "ops"),
        "webhooks[1].clientConfig.service.namespace": ("shop", "shop-restored"),
    }


def test_webhook_namespace_selector_on_the_name_label_follows() -> None:
    configuration = sample("ValidatingWebhookConfiguration", "shop-widget-guard")
    configuration["webhooks"][0]["namespaceSelector"] = {
        "matchExpressions": [{"key": NAME_LABEL, "operator": "NotIn", "values": ["shop"]}]
    }
    result, _ = run(configuration)
    assert result["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "shop-restored"
    ]


def test_crd_conversion_webhook_service_follows_at_v1() -> None:
    crd = fixture("crd-widgets")
    crd["spec"]["conversion"] = {
        "strategy": "Webhook",
        "webhook": {
            "conversionReviewVersions": ["v1"],
            "clientConfig": {"service": {"namespace": "shop-ops", "name": "widget-convert"}},
        },
    }
    result, _ = run(crd)
    assert result["spec"]["conversion"]["webhook"]["clientConfig"]["service"] == {
        "namespace": "ops",
        "name": "widget-convert",
    }
    assert list(changes(crd)) == ["spec.conversion.webhook.clientConfig.service.namespace"]


def test_crd_conversion_webhook_service_follows_at_v1beta1() -> None:
    crd = fixture("crd-widgets")
    crd["apiVersion"] = "apiextensions.k8s.io/v1beta1"
    crd["spec"]["conversion"] = {
        "strategy": "Webhook",
        "webhookClientConfig": {"service": {"namespace": "shop", "name": "widget-convert"}},
    }
    assert changes(crd) == {
        "spec.conversion.webhookClientConfig.service.namespace": ("shop", "shop-restored")
    }


def test_api_service_backend_follows_its_namespace() -> None:
    api_service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.shop.example.com"},
        "spec": {
            "group": "metrics.shop.example.com",
            "version": "v1beta1",
            "service": {"namespace": "shop-ops", "name": "metrics", "port": 443},
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
        },
    }
    result, _ = run(api_service)
    assert result["spec"]["service"]["namespace"] == "ops"
    assert changes(api_service) == {"spec.service.namespace": ("shop-ops", "ops")}


# -- 6. namespace selectors and affinity terms ----------------------------------------------


def test_network_policy_ingress_peer_selected_by_name_label_follows() -> None:
    policy = sample("NetworkPolicy", "api-allow-frontend-and-ops")
    result, _ = run(policy)
    peer = result["spec"]["ingress"][0]["from"][1]
    assert peer == {"namespaceSelector": {"matchLabels": {NAME_LABEL: "ops"}}}
    path = f'spec.ingress[0].from[1].namespaceSelector.matchLabels["{NAME_LABEL}"]'
    assert changes(policy)[path] == ("shop-ops", "ops")


def test_network_policy_egress_expressions_on_the_name_label_follow() -> None:
    policy = sample("NetworkPolicy", "api-allow-frontend-and-ops")
    policy["spec"]["egress"] = [
        {
            "to": [
                {"podSelector": {}},
                {
                    "namespaceSelector": {
                        "matchExpressions": [
                            {"key": NAME_LABEL, "operator": "In", "values": ["shop-ops", "kube"]},
                            {"key": NAME_LABEL, "operator": "NotIn", "values": ["shop"]},
                            {"key": NAME_LABEL, "operator": "Exists"},
                            {"key": "team", "operator": "In", "values": ["shop"]},
                        ]
                    }
                },
            ]
        }
    ]
    result, _ = run(policy)
    expressions = result["spec"]["egress"][0]["to"][1]["namespaceSelector"]["matchExpressions"]
    assert expressions == [
        {"key": NAME_LABEL, "operator": "In", "values": ["ops", "kube"]},
        {"key": NAME_LABEL, "operator": "NotIn", "values": ["shop-restored"]},
        {"key": NAME_LABEL, "operator": "Exists"},
        {"key": "team", "operator": "In", "values": ["shop"]},
    ]
    selector = "spec.egress[0].to[1].namespaceSelector"
    assert changes(policy)[f"{selector}.matchExpressions[1].values[0]"] == (
        "shop",
        "shop-restored",
    )


def test_selectors_on_other_labels_are_left_alone() -> None:
    policy = sample("NetworkPolicy", "api-allow-frontend-and-ops")
    policy["spec"]["ingress"][0]["from"][1] = {
        "namespaceSelector": {"matchLabels": {"team": "shop"}}
    }
    result, _ = run(policy)
    assert result["spec"] == policy["spec"]


def _replication_controller() -> Object:
    deployment = sample("Deployment", "frontend")
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "frontend-rc", "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"app": "frontend"},
            "template": deployment["spec"]["template"],
        },
    }


def _pod_template() -> Object:
    deployment = sample("Deployment", "frontend")
    return {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "frontend", "namespace": "shop"},
        "template": deployment["spec"]["template"],
    }


def _cron_job_v1() -> Object:
    cron_job = fixture("cronjob-nightly-report")
    cron_job["apiVersion"] = "batch/v1"
    return cron_job


TEMPLATE = ("spec", "template", "spec")
POD_CARRIERS: list[tuple[str, Callable[[], Object], tuple[str, ...]]] = [
    ("Pod", lambda: sample("Pod", "debug-shell"), ("spec",)),
    ("Pod from a server", lambda: fixture("pod-db-0"), ("spec",)),
    ("Deployment", lambda: sample("Deployment", "frontend"), TEMPLATE),
    ("StatefulSet", lambda: fixture("statefulset-db"), TEMPLATE),
    ("DaemonSet", lambda: fixture("daemonset-log-agent"), TEMPLATE),
    ("ReplicaSet", lambda: fixture("replicaset-api"), TEMPLATE),
    ("Job", lambda: fixture("job-migrate-schema"), TEMPLATE),
    (
        "CronJob v1beta1",
        lambda: fixture("cronjob-nightly-report"),
        ("spec", "jobTemplate", *TEMPLATE),
    ),
    ("CronJob v1", _cron_job_v1, ("spec", "jobTemplate", *TEMPLATE)),
    ("ReplicationController", _replication_controller, TEMPLATE),
    ("PodTemplate", _pod_template, ("template", "spec")),
]
CARRIER_IDS = [name for name, _, _ in POD_CARRIERS]


def _term(namespaces: list[str], selector: dict[str, Any]) -> dict[str, Any]:
    return {
        "labelSelector": {"matchLabels": {"app": "cache"}},
        "topologyKey": "kubernetes.io/hostname",
        "namespaces": namespaces,
        "namespaceSelector": selector,
    }


def _affinity(shop: str, ops: str) -> dict[str, Any]:
    """Required and preferred terms of both affinities, naming namespaces both ways."""
    expressions = {"matchExpressions": [{"key": NAME_LABEL, "operator": "In", "values": [ops]}]}
    return {
        "podAffinity": {
            REQUIRED: [_term([shop, "monitoring"], {"matchLabels": {NAME_LABEL: ops}})],
            PREFERRED: [{"weight": 10, "podAffinityTerm": _term([ops], {})}],
        },
        "podAntiAffinity": {
            REQUIRED: [_term([], expressions)],
            PREFERRED: [{"weight": 50, "podAffinityTerm": _term(["x", shop], expressions)}],
        },
    }


@pytest.mark.parametrize(("_", "make", "spec_path"), POD_CARRIERS, ids=CARRIER_IDS)
def test_affinity_terms_follow_in_every_pod_spec(
    _: str, make: Callable[[], Object], spec_path: tuple[str, ...]
) -> None:
    obj = make()
    at(obj, *spec_path)["affinity"] = _affinity("shop", "shop-ops")
    result, _rewrites = run(obj)
    assert at(result, *spec_path)["affinity"] == _affinity("shop-restored", "ops")
    anti = f"{_path_text(spec_path)}.affinity.podAntiAffinity.{PREFERRED}[0].podAffinityTerm"
    assert changes(obj)[f"{anti}.namespaces[1]"] == ("shop", "shop-restored")


# -- 7. service DNS names -------------------------------------------------------------------


def test_env_values_follow_with_the_exact_path() -> None:
    deployment = sample("Deployment", "api")
    result, _ = run(deployment)
    cache_url = result["spec"]["template"]["spec"]["containers"][0]["env"][2]
    assert cache_url == {
        "name": "CACHE_URL",
        "value": "redis://cache.shop-restored.svc.cluster.local:6379",
    }
    assert changes(deployment)["spec.template.spec.containers[0].env[2].value"] == (
        "redis://cache.shop.svc.cluster.local:6379",
        "redis://cache.shop-restored.svc.cluster.local:6379",
    )


def test_init_container_commands_follow() -> None:
    deployment = sample("Deployment", "api")
    result, _ = run(deployment)
    init = result["spec"]["template"]["spec"]["initContainers"][0]
    assert init["command"] == [
        "sh",
        "-c",
        "until nc -z db-0.db.shop-restored.svc.cluster.local 5432; do sleep 1; done",
    ]
    assert "spec.template.spec.initContainers[0].command[2]" in changes(deployment)


def test_args_and_ephemeral_containers_follow() -> None:
    pod = sample("Pod", "debug-shell")
    pod["spec"]["containers"][0]["args"] = ["--upstream=http://api.shop.svc:8080", "-v"]
    pod["spec"]["ephemeralContainers"] = [
        {
            "name": "debugger",
            "image": "registry.shop.example/library/busybox:1.36",
            "env": [{"name": "TARGET", "value": "db-0.db.shop.svc"}],
            "command": ["nslookup", "api.shop-ops.svc.cluster.local"],
        }
    ]
    assert changes(pod) == {
        "metadata.namespace": ("shop", "shop-restored"),
        "spec.containers[0].args[0]": (
            "--upstream=http://api.shop.svc:8080",
            "--upstream=http://api.shop-restored.svc:8080",
        ),
        "spec.ephemeralContainers[0].env[0].value": (
            "db-0.db.shop.svc",
            "db-0.db.shop-restored.svc",
        ),
        "spec.ephemeralContainers[0].command[1]": (
            "api.shop-ops.svc.cluster.local",
            "api.ops.svc.cluster.local",
        ),
    }


@pytest.mark.parametrize(("_", "make", "spec_path"), POD_CARRIERS, ids=CARRIER_IDS)
def test_container_env_follows_in_every_pod_spec(
    _: str, make: Callable[[], Object], spec_path: tuple[str, ...]
) -> None:
    obj = make()
    container = at(obj, *spec_path)["containers"][0]
    container["env"] = [*container.get("env", []), {"name": "API", "value": "api.shop.svc"}]
    result, _rewrites = run(obj)
    assert at(result, *spec_path)["containers"][0]["env"][-1]["value"] == "api.shop-restored.svc"


def test_dns_search_domains_of_a_pod_follow() -> None:
    pod = sample("Pod", "debug-shell")
    pod["spec"]["dnsConfig"] = {
        "searches": ["shop.svc.cluster.local", "svc.cluster.local", "shopping.svc.cluster.local"]
    }
    result, _ = run(pod)
    assert result["spec"]["dnsConfig"]["searches"] == [
        "shop-restored.svc.cluster.local",
        "svc.cluster.local",
        "shopping.svc.cluster.local",
    ]


def test_config_map_values_follow_and_other_values_stay() -> None:
    config_map = sample("ConfigMap", "shop-config")
    result, _ = run(config_map)
    assert result["data"] == {
        "API_URL": "http://api.shop-restored.svc.cluster.local:8080",
        "DB_HOST": "db-0.db.shop-restored.svc",
        "METRICS_PUSH": "http://pushgateway.ops.svc:9091",
        "LOG_LEVEL": "info",
        "COMPARATOR": "=",
    }
    assert changes(config_map)["data.API_URL"] == (
        "http://api.shop.svc.cluster.local:8080",
        "http://api.shop-restored.svc.cluster.local:8080",
    )


def test_config_map_file_contents_follow_under_a_quoted_key() -> None:
    config_map = sample("ConfigMap", "frontend-nginx")
    result, _ = run(config_map)
    assert (
        "proxy_pass http://api.shop-restored.svc.cluster.local:8080/;"
        in result["data"]["nginx.conf"]
    )
    assert 'data["nginx.conf"]' in changes(config_map)


def test_config_map_binary_data_is_left_alone() -> None:
    config_map = sample("ConfigMap", "feature-flags")
    config_map["binaryData"] = {"blob": "api.shop.svc"}
    result, _ = run(config_map)
    assert result["binaryData"] == {"blob": "api.shop.svc"}


def test_config_map_of_another_namespace_naming_a_mapped_service_follows() -> None:
    config_map = sample("ConfigMap", "feature-flags")
    config_map["metadata"]["namespace"] = "monitoring"
    config_map["data"] = {"targets": "api.shop.svc:8080,api.monitoring.svc:8080"}
    assert changes(config_map) == {
        "data.targets": (
            "api.shop.svc:8080,api.monitoring.svc:8080",
            "api.shop-restored.svc:8080,api.monitoring.svc:8080",
        )
    }


def test_ingress_annotations_and_hosts_follow_but_external_hosts_stay() -> None:
    ingress = sample("Ingress", "shop")
    ingress["spec"]["rules"].append({"host": "api.shop.svc.cluster.local", "http": {"paths": []}})
    ingress["spec"]["tls"].append({"hosts": ["api.shop.svc.cluster.local"], "secretName": "t"})
    result, _ = run(ingress)
    annotation = result["metadata"]["annotations"]["example.com/upstream-dns"]
    assert annotation == "frontend.shop-restored.svc.cluster.local"
    assert [r["host"] for r in result["spec"]["rules"]] == [
        "shop.example.com",
        "api.shop-restored.svc.cluster.local",
    ]
    assert [t["hosts"] for t in result["spec"]["tls"]] == [
        ["shop.example.com"],
        ["api.shop-restored.svc.cluster.local"],
    ]
    assert set(changes(ingress)) == {
        "metadata.namespace",
        'metadata.annotations["example.com/upstream-dns"]',
        "spec.rules[1].host",
        "spec.tls[1].hosts[0]",
    }


def test_external_name_service_follows() -> None:
    service = sample("Service", "payments-gateway")
    result, _ = run(service)
    assert result["spec"]["externalName"] == "gateway.ops.svc.cluster.local"
    assert changes(service)["spec.externalName"] == (
        "gateway.shop-ops.svc.cluster.local",
        "gateway.ops.svc.cluster.local",
    )


def test_custom_resource_strings_anywhere_in_spec_follow() -> None:
    widget = fixture("widget-storefront")
    widget["spec"]["mirrors"] = [{"url": "https://api.shop-ops.svc:8443/x"}, {"url": "none"}]
    result, _ = run(widget)
    assert result["spec"]["backendService"] == "api.shop-restored.svc.cluster.local"
    assert result["spec"]["mirrors"][0]["url"] == "https://api.ops.svc:8443/x"
    assert set(changes(widget)) == {
        "metadata.namespace",
        "spec.backendService",
        "spec.mirrors[0].url",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api.shop.svc", "api.shop-restored.svc"),
        ("api.shop.svc.cluster.local", "api.shop-restored.svc.cluster.local"),
        ("api.shop.svc.corp.internal", "api.shop-restored.svc.corp.internal"),
        ("db-0.db.shop.svc", "db-0.db.shop-restored.svc"),
        (
            "http://api.shop.svc.cluster.local:8080/x",
            "http://api.shop-restored.svc.cluster.local:8080/x",
        ),
        ("redis://cache.shop.svc:6379", "redis://cache.shop-restored.svc:6379"),
        ("a.shop.svc,b.shop.svc", "a.shop-restored.svc,b.shop-restored.svc"),
        ("shop.shop.svc", "shop.shop-restored.svc"),
        ("api.shopping.svc", "api.shopping.svc"),
        ("api.myshop.svc", "api.myshop.svc"),
        ("api.my-shop.svc", "api.my-shop.svc"),
        ("shop.example.com", "shop.example.com"),
        ("api.shop.svcx", "api.shop.svcx"),
        ("api.shop.svc-a", "api.shop.svc-a"),
        ("api.shop", "api.shop"),
        ("api.shop:8080", "api.shop:8080"),
        ("api.shop-restored.svc", "api.shop-restored.svc"),
    ],
)
def test_only_whole_label_dns_names_change(text: str, expected: str) -> None:
    config_map = sample("ConfigMap", "feature-flags")
    config_map["data"] = {"value": text}
    result, _ = run(config_map, {"shop": "shop-restored"})
    assert result["data"]["value"] == expected


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
SEPARATOR = st.text(alphabet=" /:\n\t\"',;=@()[]{}<>", min_size=1, max_size=3)
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzSHOP0123456789_", min_size=1, max_size=8)
TAIL = st.sampled_from(
    ["", ".", ".cluster.local", ".cluster.local.", ".corp.internal", ":8080", ":443/x?y=1"]
)


@st.composite
def service_names(draw: st.DrawFn) -> tuple[str, str]:
    """A service DNS name in ``shop`` and what it must become."""
    host = ".".join(draw(st.lists(LABEL, min_size=1, max_size=3)))
    tail = draw(TAIL)
    return f"{host}.shop.svc{tail}", f"{host}.shop-restored.svc{tail}"


@st.composite
def near_misses(draw: st.DrawFn) -> tuple[str, str]:
    """Text that looks like a service name in ``shop`` but is not one: it must not change."""
    label = draw(LABEL)
    text = draw(
        st.sampled_from(
            [
                f"{label}.shopping.svc",
                f"{label}.myshop.svc",
                f"{label}.x-shop.svc",
                f"{label}.shop-x.svc",
                f"{label}.shop.svcx",
                f"{label}.shop.svc-{label}",
                f"{label}.shop.svc_x",
                f"{label}.shop.service",
                f"{label}.shop",
                f"shop.{label}.com",
                "shop.example.com",
                f"{label}.shop-restored.svc",
            ]
        )
    )
    return text, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tokens=st.lists(
        st.one_of(service_names(), near_misses(), WORD.map(lambda w: (w, w))), max_size=8
    ),
    separators=st.lists(SEPARATOR, min_size=9, max_size=9),
)
def test_dns_names_change_as_whole_labels_only(
    tokens: list[tuple[str, str]], separators: list[str]
) -> None:
    """The expected text is built token by token, independently of the transform's pattern."""
    text = separators[0] + "".join(t + s for (t, _), s in zip(tokens, separators[1:], strict=False))
    expected = separators[0] + "".join(
        e + s for (_, e), s in zip(tokens, separators[1:], strict=False)
    )
    config_map = sample("ConfigMap", "feature-flags")
    config_map["metadata"]["namespace"] = "monitoring"
    config_map["data"] = {"value": text}
    result, rewrites = run(config_map, {"shop": "shop-restored"})
    assert result["data"]["value"] == expected
    assert len(rewrites) == (0 if text == expected else 1)


# -- 8. Secrets -----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.text(max_size=20),
    after=st.text(max_size=20),
    namespace=st.sampled_from(["shop", "monitoring"]),
)
def test_secret_values_are_never_rewritten_nor_reported(
    before: str, after: str, namespace: str
) -> None:
    value = f"{before}x.shop.svc{after}"
    encoded = base64.b64encode(value.encode()).decode()
    secret = fixture("secret-db-credentials")
    secret["metadata"]["namespace"] = namespace
    secret["data"]["url"] = encoded
    secret["stringData"] = {"url": value, "plain": "api.shop.svc.cluster.local"}
    result, rewrites = run(secret)
    assert result["data"] == secret["data"]
    assert result["stringData"] == secret["stringData"]
    assert [r.path for r in rewrites] == (["metadata.namespace"] if namespace == "shop" else [])
    for rewrite in rewrites:
        for secret_text in (value, encoded, "api.shop.svc.cluster.local"):
            assert secret_text not in rewrite.before
            assert secret_text not in rewrite.after


# -- parsing --flag values ------------------------------------------------------------------


def test_flag_values_parse_into_a_mapping() -> None:
    assert parse_namespace_mappings(["shop=shop-restored", "shop-ops=ops"]) == MAPPING
    assert parse_namespace_mappings([]) == {}
    assert parse_namespace_mappings(["a" * 63 + "=b"]) == {"a" * 63: "b"}


CHAINED = "chained mappings depend on their order; map each namespace to its final name"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["shop=Shop"], "--map-namespace shop=Shop: 'Shop' is not a valid namespace name"),
        (["shop"], "--map-namespace shop: expected OLD=NEW"),
        (["=x"], "--map-namespace =x: '' is not a valid namespace name"),
        (["shop="], "--map-namespace shop=: '' is not a valid namespace name"),
        (["-shop=x"], "--map-namespace -shop=x: '-shop' is not a valid namespace name"),
        (["shop-=x"], "--map-namespace shop-=x: 'shop-' is not a valid namespace name"),
        (["shop.a=x"], "--map-namespace shop.a=x: 'shop.a' is not a valid namespace name"),
        (["shop_a=x"], "--map-namespace shop_a=x: 'shop_a' is not a valid namespace name"),
        (["shop=x=y"], "--map-namespace shop=x=y: 'x=y' is not a valid namespace name"),
        (["shop= x"], "--map-namespace shop= x: ' x' is not a valid namespace name"),
        (
            ["a" * 64 + "=b"],
            f"--map-namespace {'a' * 64}=b: '{'a' * 64}' is not a valid namespace name",
        ),
        (["shop=shop"], "--map-namespace shop=shop: maps 'shop' to itself"),
        (["shop=a", "shop=b"], "--map-namespace shop=b: 'shop' is already mapped to 'a'"),
        (["a=x", "b=x"], "--map-namespace b=x: 'a' is already mapped to 'x'"),
        (["a=b", "b=c"], f"--map-namespace b=c: 'a' is already mapped to 'b': {CHAINED}"),
        (["b=c", "a=b"], f"--map-namespace a=b: 'b' is itself mapped to 'c': {CHAINED}"),
        (["a=b", "b=a"], f"--map-namespace b=a: 'a' is itself mapped to 'b': {CHAINED}"),
        (["shop\nx=y"], "--map-namespace 'shop\\nx=y': 'shop\\nx' is not a valid namespace name"),
    ],
)
def test_bad_flag_values_are_refused_in_one_line_naming_the_value(
    values: list[str], message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        parse_namespace_mappings(values)
    assert raised.value.message == message
    assert raised.value.hint


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=3))
def test_any_flag_value_parses_or_is_refused_in_one_line(values: list[str]) -> None:
    try:
        mapping = parse_namespace_mappings(values)
    except UsageError as error:
        assert len(error.message.splitlines()) == 1
        assert error.message.startswith("--map-namespace ")
        assert any(v in error.message or repr(v) in error.message for v in values)
    else:
        assert len(mapping) == len(values)
        assert not set(mapping) & set(mapping.values())
