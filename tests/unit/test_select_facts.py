"""Each object's relations are read from where Kubernetes puts them."""

from __future__ import annotations

import re
from typing import Any

from kbundle.core.model import ObjectRef
from kbundle.select.facts import NAMES_NOTHING, NO_KIND_FACTS, facts_of, named_by
from tests.sample_state import find, sample_objects

OBJECTS = sample_objects()


def refs(kind: str, name: str, crd: str | None = None) -> set[str]:
    return {
        f"{r.kind}/{r.namespace}/{r.name}"
        for r in facts_of(find(OBJECTS, kind, name), crd_name=crd).references
    }


def test_pod_template_references_accounts_config_secrets_claims_and_classes() -> None:
    assert refs("Deployment", "api") == {
        "ServiceAccount/shop/api",
        "ConfigMap/shop/shop-config",
        "ConfigMap/shop/feature-flags",
        "Secret/shop/db-credentials",
        "PersistentVolumeClaim/shop/uploads",
        "PriorityClass//shop-critical",
    }


def test_frontend_references_volumes_and_pull_secrets_and_the_default_account() -> None:
    assert refs("Deployment", "frontend") == {
        "ServiceAccount/shop/default",
        "ConfigMap/shop/frontend-nginx",
        "Secret/shop/frontend-tls",
        "Secret/shop/registry-pull",
    }


def test_cronjob_templates_are_found_two_levels_down() -> None:
    assert "ConfigMap/shop/report-template" in refs("CronJob", "nightly-report")


def test_statefulset_names_its_claims_by_pattern_and_its_service() -> None:
    facts = facts_of(find(OBJECTS, "StatefulSet", "db"))
    claims = ["data-db-0", "data-db-12", "data-db-x", "data-dbx-0", "data-db-0-old"]
    assert [c for c in claims if any(re.match(p, c) for p in facts.claim_patterns)] == [
        "data-db-0",
        "data-db-12",
    ]
    assert ObjectRef("", "Service", "shop", "db") in facts.references


def test_ingress_references_backends_tls_secret_and_class() -> None:
    assert refs("Ingress", "shop") == {
        "Service/shop/frontend",
        "Service/shop/api",
        "Secret/shop/frontend-tls",
        "IngressClass//shop-nginx",
    }


def test_role_binding_references_its_role_and_names_cross_namespace_subjects() -> None:
    facts = facts_of(find(OBJECTS, "RoleBinding", "api-reader"))
    assert {str(r) for r in facts.references} == {"Role.rbac.authorization.k8s.io shop/api-reader"}
    assert facts.subjects == {
        ObjectRef("", "ServiceAccount", "shop", "api"),
        ObjectRef("", "ServiceAccount", "shop-ops", "auditor"),
    }


def test_webhook_configuration_references_its_service() -> None:
    assert refs("ValidatingWebhookConfiguration", "shop-widget-guard") == {
        "Service/shop-ops/widget-guard"
    }


def test_custom_resource_references_its_crd_and_secret_refs_in_its_spec() -> None:
    widget = find(OBJECTS, "Widget", "storefront")
    widget = {
        **widget,
        "spec": {**widget["spec"], "credentialsSecretRef": {"name": "widget-creds"}},
    }
    facts = facts_of(widget, crd_name="widgets.example.com")
    assert facts.custom
    assert {str(r) for r in facts.references} == {
        "CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
        "Secret shop/widget-creds",
    }


def test_services_know_whether_they_select_pods() -> None:
    assert facts_of(find(OBJECTS, "Service", "api")).service_has_selector
    assert not facts_of(find(OBJECTS, "Service", "legacy-billing")).service_has_selector


def test_endpoints_and_slices_know_their_service_and_manager() -> None:
    meta = {"name": "api", "namespace": "shop"}
    endpoints = facts_of({"apiVersion": "v1", "kind": "Endpoints", "metadata": meta})
    assert (endpoints.service_name, endpoints.managed_by) == ("api", None)
    labels = {
        "kubernetes.io/service-name": "api",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
    }
    endpoint_slice = facts_of(
        {
            "apiVersion": "discovery.k8s.io/v1beta1",
            "kind": "EndpointSlice",
            "metadata": {"name": "api-x7k2p", "namespace": "shop", "labels": labels},
        }
    )
    assert endpoint_slice.service_name == "api"
    assert endpoint_slice.managed_by == "endpointslice-controller.k8s.io"
    unlabelled = facts_of(
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta}
    )
    assert (unlabelled.service_name, unlabelled.managed_by) == (None, None)
    config = facts_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
    assert (config.service_name, config.managed_by) == (None, None)


def test_only_a_service_with_a_non_empty_selector_selects_pods() -> None:
    def service(selector: Any) -> Any:
        spec = {} if selector is None else {"selector": selector}
        meta = {"name": "s", "namespace": "a"}
        return facts_of({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec})

    assert service({"app": "x"}).service_has_selector
    assert not service({}).service_has_selector
    assert not service(None).service_has_selector
    budget = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "b", "namespace": "a"},
        "spec": {"selector": {"matchLabels": {"app": "x"}}},
    }
    assert facts_of(budget).pod_selector is not None
    assert not facts_of(budget).service_has_selector


def test_token_secrets_name_their_account_and_accounts_list_their_tokens() -> None:
    assert facts_of(find(OBJECTS, "Secret", "api-long-lived-token")).token_for == "api"
    assert facts_of(find(OBJECTS, "ServiceAccount", "api")).listed_secrets == {"api-token-x7k2p"}


def test_builtin_objects_are_recognised_on_their_own() -> None:
    assert facts_of(find(OBJECTS, "ConfigMap", "kube-root-ca.crt")).intrinsic_skip
    assert facts_of(find(OBJECTS, "ClusterRole", "admin")).intrinsic_skip
    assert facts_of(find(OBJECTS, "PriorityClass", "system-node-critical")).intrinsic_skip
    assert facts_of(find(OBJECTS, "PriorityClass", "shop-critical")).intrinsic_skip is None


def crds(rules: list[dict[str, Any]], kind: str = "ClusterRole") -> set[str]:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": "operator", **({"namespace": "shop"} if kind == "Role" else {})},
        "rules": rules,
    }
    facts = facts_of(role)
    assert not facts.references  # most groups a role names are built in: never "missing"
    return {r.name for r in facts.granted_crds}


def test_roles_name_the_crds_of_their_explicit_groups_and_resources() -> None:
    rules = [{"apiGroups": ["example.com"], "resources": ["widgets", "gadgets"], "verbs": ["*"]}]
    assert crds(rules) == {"widgets.example.com", "gadgets.example.com"}
    assert crds(rules, kind="Role") == {"widgets.example.com", "gadgets.example.com"}


def test_star_groups_star_resources_and_the_core_group_name_no_crd() -> None:
    rules = [
        {"apiGroups": ["*"], "resources": ["widgets"], "verbs": ["get"]},
        {"apiGroups": ["example.com"], "resources": ["*"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get"]},
    ]
    assert crds(rules) == set()


def test_subresource_rules_name_the_crd_of_their_resource() -> None:
    rules = [{"apiGroups": ["example.com"], "resources": ["widgets/status"], "verbs": ["update"]}]
    assert crds(rules) == {"widgets.example.com"}


def test_built_in_groups_give_names_that_simply_do_not_exist() -> None:
    rules = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]
    assert crds(rules) == {"deployments.apps"}  # the closure ignores it: no such CRD


def test_bindings_know_the_role_they_grant() -> None:
    facts = facts_of(find(OBJECTS, "ClusterRoleBinding", "shop-log-agent"))
    assert facts.role == ObjectRef("rbac.authorization.k8s.io", "ClusterRole", "", "shop-log-agent")
    assert facts_of(find(OBJECTS, "Role", "api-reader")).granted_crds == {
        ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.com")
    }


def test_kinds_said_to_name_nothing_name_nothing_whatever_they_hold() -> None:
    """The preflight's reference pass skips these kinds without reading them: it must lose
    nothing by it. (A Secret's facts may name its ServiceAccount, which it does not read.)"""
    data = {"secretName": "db", "configMapName": "settings", "serviceAccountName": "robot"}
    for group, kind in NAMES_NOTHING:
        obj = {
            "apiVersion": f"{group}/v1" if group else "v1",
            "kind": kind,
            "metadata": {"name": "x", "namespace": "a"},
        }
        filled = {**obj, "data": data, "stringData": data, "spec": {"selector": {"app": "x"}}}
        fact = facts_of(filled)
        assert fact.pod_labels is None
        assert fact.references == frozenset()
        assert named_by(filled) == set()
    assert {("", "ConfigMap"), ("", "Secret"), ("", "Service")} <= NAMES_NOTHING


def test_named_by_is_what_the_facts_reference() -> None:
    for obj in OBJECTS:
        assert named_by(obj) == facts_of(obj).references, ObjectRef.of(obj)


def test_only_the_kinds_that_carry_them_hold_kind_facts() -> None:
    plain = facts_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert plain.kind_facts is NO_KIND_FACTS and plain.subjects == frozenset()
    binding = facts_of(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "b", "namespace": "a"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "a"}],
        }
    )
    assert binding.kind_facts is not NO_KIND_FACTS
    assert binding.subjects == frozenset({ObjectRef("", "ServiceAccount", "a", "robot")})
    assert binding.role == ObjectRef("rbac.authorization.k8s.io", "Role", "a", "r")
