"""What RBAC rules name: explicit groups and resources only, read the same from a cluster or a
bundle, and never a crash on a malformed rule."""

from __future__ import annotations

from typing import Any

from kbundle.core.model import Object, ObjectRef
from kbundle.core.rbac import Grant, crd_names, granted_resources, named_resources

RBAC_V1 = "rbac.authorization.k8s.io/v1"


def rule(groups: list[Any], resources: list[Any]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": ["get"]}


def test_explicit_groups_and_resources_are_named_pairwise() -> None:
    rules = [rule(["example.com", "apps"], ["widgets", "gadgets"])]
    assert sorted(named_resources(rules)) == [
        ("apps", "gadgets"),
        ("apps", "widgets"),
        ("example.com", "gadgets"),
        ("example.com", "widgets"),
    ]


def test_a_star_group_or_resource_names_nothing() -> None:
    rules = [rule(["*"], ["widgets"]), rule(["example.com"], ["*", "*/scale"])]
    assert list(named_resources(rules)) == []


def test_subresources_name_their_resource() -> None:
    rules = [rule(["example.com"], ["widgets/status", "widgets/finalizers", "gadgets"])]
    assert sorted(named_resources(rules)) == [
        ("example.com", "gadgets"),
        ("example.com", "widgets"),
    ]


def test_crd_names_are_plural_dot_group_and_the_core_group_has_none() -> None:
    rules = [
        rule(["", "example.com"], ["pods", "widgets/status"]),
        rule(["*", "shop.example.org"], ["orders"]),
    ]
    assert crd_names(rules) == {
        "pods.example.com",
        "widgets.example.com",
        "orders.shop.example.org",
    }


def test_malformed_rules_name_nothing_instead_of_raising() -> None:
    for rules in (None, "x", [None, 3], [{"apiGroups": "example.com", "resources": "w"}]):
        assert list(named_resources(rules)) == []
    assert list(named_resources([rule([7, "example.com"], [None, "widgets"])])) == [
        ("example.com", "widgets")
    ]
    assert list(named_resources([{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}])) == []


def role(kind: str, name: str, rules: list[Any], namespace: str = "") -> Object:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": RBAC_V1, "kind": kind, "metadata": meta, "rules": rules}


def binding(kind: str, name: str, role_kind: str, role_name: str, namespace: str = "") -> Object:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": RBAC_V1,
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": [
            {"kind": "ServiceAccount", "name": "operator", "namespace": "shop"},
            {"kind": "ServiceAccount", "name": "local"},  # the binding's namespace, if any
            {"kind": "User", "name": "alice"},
        ],
    }


def account(name: str, namespace: str = "shop") -> ObjectRef:
    return ObjectRef("", "ServiceAccount", namespace, name)


def test_granted_resources_follow_bindings_to_roles_held_alongside() -> None:
    objects = [
        role("ClusterRole", "operator", [rule(["example.com"], ["widgets/status"])]),
        binding("ClusterRoleBinding", "operator", "ClusterRole", "operator"),
        role("Role", "leases", [rule(["coordination.k8s.io", ""], ["leases"])], "shop"),
        binding("RoleBinding", "leases", "Role", "leases", "shop"),
        binding("RoleBinding", "elsewhere", "ClusterRole", "not-in-the-bundle", "shop"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "shop"}},
    ]
    assert granted_resources(objects) == (
        Grant(account("local"), "", "leases"),
        Grant(account("local"), "coordination.k8s.io", "leases"),
        Grant(account("operator"), "", "leases"),
        Grant(account("operator"), "coordination.k8s.io", "leases"),
        Grant(account("operator"), "example.com", "widgets"),
    )


def test_a_binding_naming_a_role_of_another_namespace_grants_nothing() -> None:
    objects = [
        role("Role", "reader", [rule(["example.com"], ["widgets"])], "other"),
        binding("RoleBinding", "reader", "Role", "reader", "shop"),
    ]
    assert granted_resources(objects) == ()
