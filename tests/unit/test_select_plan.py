"""What goes into a bundle: selection, dependency closure, and what is left out as derived."""

from __future__ import annotations

import pytest

from kbundle.core.errors import UsageError
from kbundle.core.model import ObjectRef
from kbundle.core.selectors import parse_selector
from kbundle.select import rules
from kbundle.select.layout import layout_of
from kbundle.select.plan import SelectionRequest, plan_export
from tests.sample_state import find, sample_index, sample_objects

RBAC = "rbac.authorization.k8s.io"


def ref(kind: str, name: str, namespace: str = "", group: str = "") -> ObjectRef:
    return ObjectRef(group, kind, namespace, name)


def exported_names(request: SelectionRequest) -> set[str]:
    plan = plan_export(sample_index(), request)
    return {f"{r.kind}/{r.name}" for r in plan.exported}


def test_namespace_export_adds_the_cluster_objects_it_depends_on_and_nothing_else() -> None:
    names = exported_names(SelectionRequest(namespaces=frozenset({"shop"})))
    assert {
        "Namespace/shop",
        "PersistentVolume/shop-uploads",
        "StorageClass/shop-local",
        "PriorityClass/shop-critical",
        "IngressClass/shop-nginx",
        "ClusterRoleBinding/shop-log-agent",
        "ClusterRole/shop-log-agent",
        "CustomResourceDefinition/widgets.example.com",
    } <= names
    assert "StorageClass/unrelated" not in names
    assert "Namespace/shop-ops" not in names
    assert "ConfigMap/elsewhere" not in names
    assert "ValidatingWebhookConfiguration/shop-widget-guard" not in names


def test_every_namespaced_object_of_the_namespace_is_exported() -> None:
    names = exported_names(SelectionRequest(namespaces=frozenset({"shop"})))
    for expected in (
        "Deployment/api",
        "StatefulSet/db",
        "DaemonSet/log-agent",
        "CronJob/nightly-report",
        "Job/migrate-schema",
        "Pod/debug-shell",
        "Service/legacy-billing",
        "Endpoints/legacy-billing",
        "Ingress/shop",
        "HorizontalPodAutoscaler/api",
        "PodDisruptionBudget/db",
        "Widget/storefront",
        "Secret/api-long-lived-token",
        "NetworkPolicy/api-allow-frontend-and-ops",
        "ResourceQuota/shop-quota",
    ):
        assert expected in names, expected


def test_objects_recreated_by_exported_builtin_controllers_are_left_out() -> None:
    plan = plan_export(sample_index(), SelectionRequest(namespaces=frozenset({"shop"})))
    reasons = {f"{f.ref.kind}/{f.ref.name}": reason for f, reason in plan.skipped}
    assert reasons["ReplicaSet/api-5d4f8"] == rules.OWNED
    assert reasons["Pod/api-5d4f8-x2x9k"] == rules.OWNED
    assert reasons["Endpoints/api"] == rules.ENDPOINTS_OF_SELECTOR
    assert reasons["Secret/api-token-x7k2p"] == rules.GENERATED_TOKEN
    assert "published" in reasons["ConfigMap/kube-root-ca.crt"]


def test_include_owned_keeps_what_controllers_would_recreate() -> None:
    names = exported_names(SelectionRequest(namespaces=frozenset({"shop"}), include_owned=True))
    assert {"ReplicaSet/api-5d4f8", "Pod/api-5d4f8-x2x9k"} <= names


def test_objects_owned_by_a_custom_resource_are_kept() -> None:
    names = exported_names(SelectionRequest(namespaces=frozenset({"shop"})))
    assert "ConfigMap/storefront-widget-state" in names


def test_user_made_token_secret_and_standalone_pod_are_kept() -> None:
    names = exported_names(SelectionRequest(namespaces=frozenset({"shop"})))
    assert {"Secret/api-long-lived-token", "Pod/debug-shell"} <= names


def test_builtin_defaults_never_ride_along_as_dependencies() -> None:
    plan = plan_export(sample_index(), SelectionRequest(namespaces=None, cluster_resources="true"))
    names = {f"{r.kind}/{r.name}" for r in plan.exported}
    assert "ClusterRole/admin" not in names
    assert "PriorityClass/system-node-critical" not in names
    assert "StorageClass/unrelated" in names


def test_label_selection_keeps_only_labelled_namespaced_objects() -> None:
    names = exported_names(
        SelectionRequest(namespaces=frozenset({"shop"}), selector=parse_selector("app=api"))
    )
    assert "Deployment/api" in names
    assert "Service/api" in names
    assert "Deployment/frontend" not in names
    assert "ConfigMap/shop-config" not in names  # namespaced dependencies are not followed
    assert "PriorityClass/shop-critical" in names  # cluster-scoped ones are
    assert "Namespace/shop" in names


def test_object_export_follows_every_dependency_transitively() -> None:
    names = exported_names(
        SelectionRequest(
            namespaces=frozenset({"shop"}), roots=(ref("Deployment", "api", "shop", "apps"),)
        )
    )
    assert names == {
        "Deployment/api",
        "Namespace/shop",
        "ServiceAccount/api",
        "Secret/registry-pull",  # the account and its pull secret
        "RoleBinding/api-reader",
        "Role/api-reader",  # bindings naming the account
        "CustomResourceDefinition/widgets.example.com",  # named by that role's rules
        "ConfigMap/shop-config",
        "ConfigMap/feature-flags",
        "Secret/db-credentials",
        "PersistentVolumeClaim/uploads",
        "PersistentVolume/shop-uploads",
        "StorageClass/shop-local",
        "PriorityClass/shop-critical",
        "Service/api",  # selects the deployment's pods
        "HorizontalPodAutoscaler/api",  # targets it
    }


def test_object_export_of_a_statefulset_takes_its_existing_claims_and_headless_service() -> None:
    objects = sample_objects()
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data-db-0", "namespace": "shop", "uid": "c0"},
            "spec": {"storageClassName": "shop-local"},
        }
    )
    plan = plan_export(
        sample_index(objects),
        SelectionRequest(
            namespaces=frozenset({"shop"}), roots=(ref("StatefulSet", "db", "shop", "apps"),)
        ),
    )
    names = {f"{r.kind}/{r.name}" for r in plan.exported}
    assert {
        "PersistentVolumeClaim/data-db-0",
        "Service/db",
        "PodDisruptionBudget/db",
        "Secret/db-credentials",
    } <= names


def test_custom_resource_export_brings_its_crd() -> None:
    names = exported_names(
        SelectionRequest(
            namespaces=frozenset({"shop"}),
            roots=(ref("Widget", "backoffice", "shop", "example.com"),),
        )
    )
    assert "CustomResourceDefinition/widgets.example.com" in names


def test_exclude_kinds_applies_to_dependencies_too() -> None:
    names = exported_names(
        SelectionRequest(
            namespaces=frozenset({"shop"}),
            roots=(ref("Deployment", "api", "shop", "apps"),),
            exclude_kinds=frozenset({"Secret"}),
        )
    )
    assert not any(name.startswith("Secret/") for name in names)
    assert "ConfigMap/shop-config" in names


def test_include_kinds_restricts_the_whole_bundle() -> None:
    names = exported_names(
        SelectionRequest(namespaces=frozenset({"shop"}), include_kinds=frozenset({"ConfigMap"}))
    )
    assert names and all(name.startswith("ConfigMap/") for name in names)


def test_no_cluster_resources_means_none_at_all() -> None:
    plan = plan_export(
        sample_index(), SelectionRequest(namespaces=frozenset({"shop"}), cluster_resources="false")
    )
    assert plan.exported
    assert all(r.namespace for r in plan.exported)


def test_true_with_all_namespaces_exports_the_whole_cluster() -> None:
    names = exported_names(SelectionRequest(namespaces=None, cluster_resources="true"))
    assert {
        "Namespace/shop-ops",
        "ValidatingWebhookConfiguration/shop-widget-guard",
        "ConfigMap/elsewhere",
        "Role/oncall",
    } <= names


def test_missing_root_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError, match=r"Deployment.apps/nope: not found in namespace shop"):
        plan_export(
            sample_index(), SelectionRequest(roots=(ref("Deployment", "nope", "shop", "apps"),))
        )


def test_object_export_warns_about_references_to_objects_that_do_not_exist() -> None:
    objects = [
        o
        for o in sample_objects()
        if not (o["kind"] == "ConfigMap" and o["metadata"]["name"] == "feature-flags")
    ]
    plan = plan_export(
        sample_index(objects), SelectionRequest(roots=(ref("Deployment", "api", "shop", "apps"),))
    )
    assert any(
        "ConfigMap shop/feature-flags" in w.message and w.code == "missing-dependency"
        for w in plan.warnings
    )


def test_the_layout_gives_cleaning_the_bundle_s_volumes_and_each_file_its_kept_owners() -> None:
    objects = sample_objects()
    plan = plan_export(sample_index(objects), SelectionRequest(namespaces=frozenset({"shop"})))
    layout = layout_of(plan, lambda fact: fact.ref.group_kind)
    assert layout.persistent_volumes == {"shop-uploads"}
    widget = find(objects, "Widget", "storefront")  # owns a ConfigMap, and is exported
    assert layout.files["ConfigMap"].owners == {widget["metadata"]["uid"]}
    # Pods and ReplicaSets whose owners are exported are left out; the bare Pod stays.
    assert "ReplicaSet.apps" not in layout.files and len(layout.files["Pod"].places) == 1
    assert all(not file.owners for key, file in layout.files.items() if key != "ConfigMap")
