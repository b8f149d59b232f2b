"""Export flags are resolved against discovery the way kubectl names things."""

from __future__ import annotations

from typing import Any

import pytest

from kbundle.cluster.discovery import ApiResource, Discovery
from kbundle.core.errors import UsageError
from kbundle.core.model import ObjectRef, SelectionInfo
from kbundle.select.plan import SelectionRequest
from kbundle.select.resolve import Selection, resolve_selection

VERBS = frozenset({"get", "list"})
DISCOVERY = Discovery(
    resources=[
        ApiResource("", "v1", "configmaps", "ConfigMap", True, VERBS, "configmap", ("cm",)),
        ApiResource("", "v1", "namespaces", "Namespace", False, VERBS, "namespace", ("ns",)),
        ApiResource(
            "apps", "v1", "deployments", "Deployment", True, VERBS, "deployment", ("deploy",)
        ),
        ApiResource("example.com", "v1", "widgets", "Widget", True, VERBS, "widget", ("wg",)),
        ApiResource(
            "networking.k8s.io", "v1", "ingresses", "Ingress", True, VERBS, "ingress", ("ing",)
        ),
        ApiResource(
            "extensions", "v1beta1", "ingresses", "Ingress", True, VERBS, "ingress", ("ing",)
        ),
        ApiResource(
            "metrics.example.com",
            "v1",
            "deployments",
            "Deployment",
            True,
            VERBS,
            "deployment",
            (),
            preferred=False,
        ),
    ]
)


def resolve(**flags: Any) -> tuple[SelectionRequest, SelectionInfo]:
    return resolve_selection(Selection(**flags), DISCOVERY, "team-a", "ctx")


@pytest.mark.parametrize(
    "name",
    ["deploy", "deployments", "Deployment", "deployments.apps", "deployments.v1.apps", "DEPLOY"],
)
def test_kind_names_kubectl_accepts(name: str) -> None:
    request, _ = resolve(include_kinds=(name,))
    assert request.include_kinds == frozenset({"Deployment.apps"})


def test_custom_kinds_by_plural_and_group_and_comma_lists() -> None:
    request, info = resolve(exclude_kinds=("widgets.example.com,cm",))
    assert request.exclude_kinds == {"Widget.example.com", "ConfigMap"}
    assert info.exclude_kinds == ("ConfigMap", "Widget.example.com")


def test_a_name_served_by_two_groups_means_both() -> None:
    request, _ = resolve(include_kinds=("ingresses",))
    assert request.include_kinds == frozenset({"Ingress.networking.k8s.io", "Ingress.extensions"})


def test_unknown_kind_is_refused_naming_it_and_the_context() -> None:
    with pytest.raises(UsageError, match="--include-kinds gizmos: no such kind in context ctx"):
        resolve(include_kinds=("gizmos",))


def test_default_namespace_is_the_contexts() -> None:
    request, info = resolve()
    assert request.namespaces == frozenset({"team-a"})
    assert info.namespaces == ("team-a",)


def test_object_roots_resolve_kind_and_namespace() -> None:
    request, info = resolve(objects=("deploy/api", "ns/shop"), namespaces=("shop",))
    assert request.roots == (
        ObjectRef("apps", "Deployment", "shop", "api"),
        ObjectRef("", "Namespace", "", "shop"),
    )
    assert info.objects == ("Deployment.apps shop/api", "Namespace shop")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"all_namespaces": True, "namespaces": ("a",)}, "cannot be combined"),
        ({"objects": ("deploy/api",), "all_namespaces": True}, "one namespace"),
        ({"objects": ("deploy/api",), "namespaces": ("a", "b")}, "not several"),
        ({"objects": ("api",)}, "expected KIND/NAME"),
        ({"objects": ("ing/x",)}, "ambiguous"),
        ({"include_cluster_resources": "maybe"}, "expected auto, true or false"),
        ({"selector": "app in web"}, "invalid label selector"),
    ],
)
def test_bad_flags_are_refused_in_one_line(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message) as refused:
        resolve(**flags)
    assert "\n" not in str(refused.value)
