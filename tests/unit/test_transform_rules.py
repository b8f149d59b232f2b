"""Rules files (``--transforms FILE.yaml``): conditions, actions, order, records, refusals.

Objects are read from a real 1.20 apiserver (``fixtures/objects``) where one fits; small
hand-made objects cover the matching corner cases.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kbundle.core.errors import TransformError, UsageError
from kbundle.core.model import Object
from kbundle.transforms import registry
from kbundle.transforms.base import TransformContext, TransformOutput
from kbundle.transforms.rules import (
    API_VERSION,
    KIND,
    SCHEMA_FILE,
    SECRET_VALUE,
    RuleFailed,
    RulesTransform,
    load_rules,
    load_schema,
)
from kbundle.transforms.runner import run_transforms

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "objects"
HEADER = {"apiVersion": API_VERSION, "kind": KIND}


# -- helpers --------------------------------------------------------------------------------


@functools.cache
def _fixture(name: str) -> Object:
    with (FIXTURES / f"{name}.yaml").open() as f:
        obj: Object = yaml.safe_load(f)
    return obj


def fixture(name: str) -> Object:
    """A fresh copy of one object read from a real apiserver."""
    return copy.deepcopy(_fixture(name))


def make(
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    **fields: Any,
) -> Object:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def write(tmp_path: Path, rules: Any, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**HEADER, "rules": rules}, sort_keys=False))
    return path


def load(tmp_path: Path, *rules: dict[str, Any]) -> RulesTransform:
    return load_rules(write(tmp_path, list(rules)))


def run(transform: RulesTransform, obj: Object) -> tuple[TransformOutput, TransformContext]:
    context = TransformContext()
    return transform(obj, context), context


def dropped(tmp_path: Path, match: dict[str, Any], obj: Object) -> bool:
    """Whether ``match`` holds for ``obj`` (a drop rule with it drops the object)."""
    result, _ = run(load(tmp_path, {"match": match, "drop": True}), obj)
    return result is None


# -- conditions -----------------------------------------------------------------------------

DEPLOYMENT = make("apps/v1", "Deployment", "api", "shop", {"app": "api"})
STATEFUL_SET = make("apps/v1", "StatefulSet", "db", "shop")
CONFIG_MAP = make("v1", "ConfigMap", "settings", "shop")
NAMESPACE = make("v1", "Namespace", "shop")
WIDGET = make("example.com/v1", "Widget", "storefront", "shop")
GADGET = make("v1", "Gadget", "g", "shop-ops")
SUB_WIDGET = make("shop.example.com/v1", "Widget", "w", "shop")
CLUSTER_ROLE = make("rbac.authorization.k8s.io/v1", "ClusterRole", "reader")


@pytest.mark.parametrize(
    ("pattern", "obj", "matches"),
    [
        ("Deployment.apps", DEPLOYMENT, True),
        ("Deployment.apps", STATEFUL_SET, False),
        ("ConfigMap", CONFIG_MAP, True),
        ("ConfigMap", DEPLOYMENT, False),
        ("*.example.com", WIDGET, True),
        ("*.example.com", SUB_WIDGET, True),
        ("*.example.com", DEPLOYMENT, False),
        ("*.example.com", CONFIG_MAP, False),
        ("*Set.apps", STATEFUL_SET, True),
        ("*Set.apps", DEPLOYMENT, False),
        ("Config?ap", CONFIG_MAP, True),
        ("apps/*", DEPLOYMENT, True),
        ("apps/*", STATEFUL_SET, True),
        ("apps/*", CONFIG_MAP, False),
        ("apps/Stateful*", STATEFUL_SET, True),
        ("apps/Stateful*", DEPLOYMENT, False),
        ("core/*", CONFIG_MAP, True),
        ("core/*", NAMESPACE, True),
        ("core/*", DEPLOYMENT, False),
        ("*.k8s.io/*", CLUSTER_ROLE, True),
        ("*", CLUSTER_ROLE, True),
        ("*", CONFIG_MAP, True),
        ("configmap", CONFIG_MAP, False),  # kinds are case-sensitive, as in objects
    ],
)
def test_kind_patterns_match_group_kinds(
    tmp_path: Path, pattern: str, obj: Object, matches: bool
) -> None:
    assert dropped(tmp_path, {"kinds": [pattern]}, obj) is matches


def test_any_kind_pattern_of_the_list_is_enough(tmp_path: Path) -> None:
    match = {"kinds": ["ConfigMap", "Deployment.apps"]}
    assert dropped(tmp_path, match, DEPLOYMENT)
    assert dropped(tmp_path, match, CONFIG_MAP)
    assert not dropped(tmp_path, match, WIDGET)


@pytest.mark.parametrize(
    ("namespaces", "obj", "matches"),
    [
        (["shop"], DEPLOYMENT, True),
        (["shop-*"], DEPLOYMENT, False),
        (["shop-*"], GADGET, True),
        (["shop", "shop-*"], GADGET, True),
        (["sh?p"], DEPLOYMENT, True),
        (["*"], DEPLOYMENT, True),
        (["*"], NAMESPACE, False),  # cluster-scoped objects never match a namespace condition
        (["*"], CLUSTER_ROLE, False),
        (["other"], DEPLOYMENT, False),
    ],
)
def test_namespace_patterns_and_cluster_scoped_objects(
    tmp_path: Path, namespaces: list[str], obj: Object, matches: bool
) -> None:
    assert dropped(tmp_path, {"namespaces": namespaces}, obj) is matches


def test_without_namespace_condition_cluster_scoped_objects_match(tmp_path: Path) -> None:
    assert dropped(tmp_path, {"kinds": ["Namespace"]}, NAMESPACE)
    assert dropped(tmp_path, {}, CLUSTER_ROLE)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("^api(-.*)?$", "api", True),
        ("^api(-.*)?$", "api-v2", True),
        ("^api(-.*)?$", "api2", False),
        ("api", "api", True),
        ("api", "api-v2", False),  # the whole name must match
        ("api", "rapid", False),
        ("debug-.*", "debug-shell", True),
        ("[a-z]+-[0-9]+", "db-0", True),
    ],
)
def test_name_is_a_full_match_regex(tmp_path: Path, pattern: str, name: str, matches: bool) -> None:
    obj = make("v1", "ConfigMap", name, "shop")
    assert dropped(tmp_path, {"name": pattern}, obj) is matches


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("app=api,tier!=cache", {"app": "api"}, True),
        ("app=api,tier!=cache", {"app": "api", "tier": "web"}, True),
        ("app=api,tier!=cache", {"app": "api", "tier": "cache"}, False),
        ("app=api,tier!=cache", None, False),
        ("tier in (web, api)", {"tier": "api"}, True),
        ("!canary", {"canary": "true"}, False),
        ("canary", {"canary": "true"}, True),
    ],
)
def test_label_selector_uses_kubectl_syntax(
    tmp_path: Path, selector: str, labels: dict[str, str] | None, matches: bool
) -> None:
    obj = make("v1", "ConfigMap", "c", "shop", labels)
    assert dropped(tmp_path, {"labelSelector": selector}, obj) is matches


def test_every_condition_given_must_hold(tmp_path: Path) -> None:
    match = {
        "kinds": ["Deployment.apps"],
        "namespaces": ["shop"],
        "name": "api",
        "labelSelector": "app=api",
    }
    assert dropped(tmp_path, match, DEPLOYMENT)
    for change in (
        {"kinds": ["StatefulSet.apps"]},
        {"namespaces": ["shop-ops"]},
        {"name": "web"},
        {"labelSelector": "app=web"},
    ):
        assert not dropped(tmp_path, {**match, **change}, DEPLOYMENT), change


def test_a_rule_without_match_applies_to_every_object(tmp_path: Path) -> None:
    transform = load(tmp_path, {"mergePatch": {"metadata": {"labels": {"moved": "yes"}}}})
    for obj in (DEPLOYMENT, NAMESPACE, CLUSTER_ROLE, WIDGET):
        result, _ = run(transform, obj)
        assert isinstance(result, dict)
        assert result["metadata"]["labels"]["moved"] == "yes"


# -- actions --------------------------------------------------------------------------------


def test_merge_patch_merges_replaces_and_deletes_with_null(tmp_path: Path) -> None:
    transform = load(
        tmp_path,
        {
            "match": {"kinds": ["Deployment.apps"]},
            "mergePatch": {
                "spec": {"replicas": 1, "strategy": None},
                "metadata": {"labels": {"tier": None, "restored": "true"}},
            },
        },
    )
    deployment = fixture("deployment-api")
    assert "strategy" in deployment["spec"]
    result, context = run(transform, deployment)

    assert isinstance(result, dict)
    assert result["spec"]["replicas"] == 1
    assert "strategy" not in result["spec"]
    assert result["spec"]["template"] == deployment["spec"]["template"]  # siblings kept
    assert result["metadata"]["labels"] == {"app": "api", "restored": "true"}
    [rewrite] = context.rewrites
    assert (rewrite.transform, rewrite.path) == ("rules", "rule 1")
    assert "/spec/replicas: 2" in rewrite.before
    assert "/spec/replicas: 1" in rewrite.after
    assert "/metadata/labels/tier: (absent)" in rewrite.after


def test_merge_patch_replaces_lists_and_creates_missing_objects(tmp_path: Path) -> None:
    transform = load(
        tmp_path,
        {
            "mergePatch": {
                "spec": {"ports": [{"port": 8080}]},
                "metadata": {"annotations": {"a": "b"}},
            }
        },
    )
    result, _ = run(transform, fixture("service-nodeport-assigned"))
    assert isinstance(result, dict)
    assert result["spec"]["ports"] == [{"port": 8080}]
    assert result["metadata"]["annotations"] == {"a": "b"}


NODE_PORT_TO_CLUSTER_IP = {
    "name": "no node ports",
    "match": {"kinds": ["Service"]},
    "jsonPatch": [
        {"op": "test", "path": "/spec/type", "value": "NodePort"},
        {"op": "replace", "path": "/spec/type", "value": "ClusterIP"},
        {"op": "remove", "path": "/spec/ports/0/nodePort"},
        {"op": "remove", "path": "/spec/externalTrafficPolicy"},
    ],
}


def test_json_patch_applies_when_its_tests_pass(tmp_path: Path) -> None:
    transform = load(tmp_path, NODE_PORT_TO_CLUSTER_IP)
    result, context = run(transform, fixture("service-nodeport-assigned"))

    assert isinstance(result, dict)
    assert result["spec"]["type"] == "ClusterIP"
    assert "nodePort" not in result["spec"]["ports"][0]
    assert "externalTrafficPolicy" not in result["spec"]
    [rewrite] = context.rewrites
    assert rewrite.path == "rule 1 (no node ports)"
    assert rewrite.before == (
        "/spec/type: NodePort; /spec/ports/0/nodePort: 32296; /spec/externalTrafficPolicy: Cluster"
    )
    assert rewrite.after == (
        "replace /spec/type: ClusterIP; remove /spec/ports/0/nodePort; "
        "remove /spec/externalTrafficPolicy"
    )


@pytest.mark.parametrize(
    "test_op",
    [
        {"op": "test", "path": "/spec/type", "value": "LoadBalancer"},  # another value
        {"op": "test", "path": "/spec/loadBalancerIP", "value": "1.2.3.4"},  # no such field
    ],
)
def test_json_patch_whose_test_fails_does_not_apply(tmp_path: Path, test_op: Any) -> None:
    rule = {
        "jsonPatch": [
            {"op": "replace", "path": "/spec/type", "value": "ClusterIP"},  # before the test
            test_op,
        ]
    }
    service = fixture("service-nodeport-assigned")
    result, context = run(load(tmp_path, rule), service)
    assert result == service
    assert context.rewrites == []


def test_json_patch_that_cannot_apply_fails_naming_the_rule_and_object(tmp_path: Path) -> None:
    transform = load(tmp_path, NODE_PORT_TO_CLUSTER_IP)
    service = fixture("service-nodeport-assigned")
    del service["spec"]["ports"][0]["nodePort"]

    with pytest.raises(TransformError) as failed:
        run_transforms(service, [transform], TransformContext())

    assert str(failed.value) == (
        "transform rules failed on Service clean-fixtures/nodeport-assigned: RuleFailed: "
        "rule 1 (no node ports): jsonPatch operation 3 (remove /spec/ports/0/nodePort): "
        "can't remove a non-existent object 'nodePort'"
    )


def test_json_patch_failure_does_not_quote_the_document(tmp_path: Path) -> None:
    rule = {"jsonPatch": [{"op": "add", "path": "/spec/missing/x", "value": 1}]}
    with pytest.raises(RuleFailed) as failed:
        run(load(tmp_path, rule), fixture("service-nodeport-assigned"))
    assert str(failed.value) == (
        "rule 1: jsonPatch operation 1 (add /spec/missing/x): member 'missing' not found"
    )


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"jsonPatch": [{"op": "replace", "path": "", "value": [1]}]}, "it is an array"),
        ({"jsonPatch": [{"op": "remove", "path": "/kind"}]}, "apiVersion or kind is missing"),
        ({"mergePatch": {"metadata": "shop"}}, "metadata is missing or not a mapping"),
        ({"mergePatch": {"metadata": {"name": None}}}, "metadata.name is missing"),
        ({"mergePatch": {"metadata": {"namespace": 1}}}, "metadata.namespace is not a string"),
        ({"mergePatch": {"metadata": {"labels": ["a"]}}}, "metadata.labels is not a mapping"),
    ],
)
def test_a_rule_must_leave_a_kubernetes_object(
    tmp_path: Path, rule: dict[str, Any], problem: str
) -> None:
    transform = load(tmp_path, rule, {"match": {"namespaces": ["shop"]}, "drop": True})
    with pytest.raises(RuleFailed) as failed:
        run(transform, CONFIG_MAP)
    assert str(failed.value).startswith(
        f"rule 1: the result is no longer a Kubernetes object: {problem}"
    )


def test_drop_leaves_matching_objects_out_and_records_it(tmp_path: Path) -> None:
    transform = load(
        tmp_path,
        {"name": "no debug", "match": {"kinds": ["ConfigMap"], "name": "debug-.*"}, "drop": True},
    )
    debug = make("v1", "ConfigMap", "debug-flags", "shop")
    result, context = run(transform, debug)
    assert result is None
    [rewrite] = context.rewrites
    assert (rewrite.path, rewrite.before, rewrite.after) == (
        "rule 1 (no debug)",
        "present",
        "dropped",
    )
    assert str(rewrite.ref) == "ConfigMap shop/debug-flags"

    kept, context = run(transform, CONFIG_MAP)
    assert kept == CONFIG_MAP
    assert context.rewrites == []


def test_builtin_rule_runs_a_registered_builtin(tmp_path: Path) -> None:
    transform = load(
        tmp_path,
        {
            "match": {"kinds": ["Deployment.apps"]},
            "builtin": {"name": "map-namespace", "args": {"mapping": {"shop": "shop-restored"}}},
        },
    )
    result, context = run(transform, fixture("deployment-api"))
    assert isinstance(result, dict)
    assert result["metadata"]["namespace"] == "shop-restored"
    assert ("map-namespace", "metadata.namespace") in [
        (r.transform, r.path) for r in context.rewrites
    ]

    untouched, context = run(transform, fixture("service-api"))
    assert isinstance(untouched, dict)
    assert untouched["metadata"]["namespace"] == "shop"
    assert context.rewrites == []


def test_builtin_rule_runs_map_registry(tmp_path: Path) -> None:
    transform = load(
        tmp_path,
        {
            "name": "mirror images",
            "match": {"kinds": ["Deployment.apps"], "namespaces": ["shop", "shop-*"]},
            "builtin": {
                "name": "map-registry",
                "args": {"mapping": {"registry.shop.example": "mirror.local:5000"}},
            },
        },
    )
    container = {"name": "api", "image": "registry.shop.example/shop/api:1.2"}
    spec = {"template": {"spec": {"containers": [container]}}}
    deployment = make("apps/v1", "Deployment", "api", "shop", spec=spec)

    result, context = run(transform, deployment)

    assert isinstance(result, dict)
    image = result["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "mirror.local:5000/shop/api:1.2"
    assert [(r.transform, r.before, r.after) for r in context.rewrites] == [
        ("map-registry", "registry.shop.example/shop/api:1.2", image)
    ]
    elsewhere, _ = run(transform, make("apps/v1", "Deployment", "api", "other", spec=spec))
    assert elsewhere == make("apps/v1", "Deployment", "api", "other", spec=spec)


def test_a_failing_builtin_is_named_with_its_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explodes(obj: Object, context: TransformContext) -> Object:
        raise KeyError("spec")

    def factory(args: Any) -> Any:
        explodes.name = "explodes"  # type: ignore[attr-defined]
        return explodes

    monkeypatch.setitem(registry.BUILTINS, "explodes", factory)
    transform = load(tmp_path, {"name": "boom", "builtin": {"name": "explodes"}})
    with pytest.raises(TransformError) as failed:
        run_transforms(CONFIG_MAP, [transform], TransformContext())
    assert str(failed.value) == (
        "transform rules failed on ConfigMap shop/settings: RuleFailed: "
        "rule 1 (boom): builtin explodes: KeyError: 'spec'"
    )


# -- order ----------------------------------------------------------------------------------


def test_rules_run_in_order_each_seeing_the_result_of_the_last(tmp_path: Path) -> None:
    transform = load(
        tmp_path,
        {
            "match": {"kinds": ["Deployment.apps"]},
            "mergePatch": {"metadata": {"labels": {"canary": "yes"}}},
        },
        {"match": {"labelSelector": "canary=yes"}, "mergePatch": {"spec": {"replicas": 0}}},
        {"mergePatch": {"spec": {"replicas": 1}}},
        {
            "builtin": {"name": "map-namespace", "args": {"mapping": {"shop": "shop-restored"}}},
        },
        {
            "match": {"namespaces": ["shop-restored"]},
            "mergePatch": {"metadata": {"labels": {"moved": "yes"}}},
        },
        {"match": {"namespaces": ["shop"]}, "drop": True},
    )
    result, context = run(transform, fixture("deployment-api"))
    assert isinstance(result, dict)
    assert result["spec"]["replicas"] == 1  # the later rule wins
    assert result["metadata"]["labels"]["canary"] == "yes"
    assert result["metadata"]["labels"]["moved"] == "yes"  # matched on the new namespace
    paths = [r.path for r in context.rewrites if r.transform == "rules"]
    assert paths == ["rule 1", "rule 2", "rule 3", "rule 5"]


def test_a_drop_stops_later_rules(tmp_path: Path) -> None:
    transform = load(
        tmp_path,
        {"match": {"kinds": ["ConfigMap"]}, "drop": True},
        {"mergePatch": {"metadata": {"labels": {"seen": "yes"}}}},
    )
    result, context = run(transform, CONFIG_MAP)
    assert result is None
    assert [r.path for r in context.rewrites] == ["rule 1"]


# -- purity and Secrets ---------------------------------------------------------------------

EVERY_ACTION = (
    {
        "match": {"kinds": ["Service"]},
        **{k: v for k, v in NODE_PORT_TO_CLUSTER_IP.items() if k != "name"},
    },
    {
        "mergePatch": {
            "metadata": {"labels": {"a": "b"}, "annotations": None},
            "spec": {"replicas": 1},
        }
    },
    {"builtin": {"name": "map-namespace", "args": {"mapping": {"shop": "elsewhere"}}}},
    {"match": {"kinds": ["ConfigMap"], "name": "debug-.*"}, "drop": True},
)


@pytest.mark.parametrize(
    "name",
    ["service-nodeport-assigned", "deployment-api", "secret-db-credentials", "namespace-shop"],
)
def test_objects_are_never_mutated_and_results_share_nothing(tmp_path: Path, name: str) -> None:
    transform = load(tmp_path, *EVERY_ACTION)
    obj = fixture(name)
    original = copy.deepcopy(obj)

    first, _ = run(transform, obj)
    assert obj == original
    assert isinstance(first, dict)
    first["metadata"].setdefault("labels", {})["a"] = "changed"  # must not reach the rule
    first.setdefault("spec", {})["replicas"] = 99
    second, _ = run(transform, obj)
    assert second != first
    assert isinstance(second, dict)
    assert second["metadata"]["labels"]["a"] == "b"


SECRET_RULES = (
    {
        "match": {"kinds": ["Secret"]},
        "mergePatch": {"data": {"password": "bmV3"}, "stringData": {"token": "t0ken-value"}},
    },
    {"match": {"kinds": ["Secret"]}, "mergePatch": {"data": None}},
    {"match": {"kinds": ["Secret"]}, "mergePatch": {"data": {"username": "dXNlcg=="}}},
    {
        "match": {"kinds": ["Secret"]},
        "jsonPatch": [
            {"op": "replace", "path": "/stringData/token", "value": "an0ther-t0ken"},
            {"op": "copy", "from": "/stringData/token", "path": "/metadata/annotations"},
            {"op": "add", "path": "/metadata/labels", "value": {"kept": "yes"}},
        ],
    },
    {
        "match": {"kinds": ["Secret"]},
        "jsonPatch": [{"op": "replace", "path": "/data", "value": {}}],
    },
    {"match": {"kinds": ["Secret"]}, "mergePatch": {"metadata": {"annotations": None}}},
)


def test_secret_values_never_reach_a_record(tmp_path: Path) -> None:
    secret = fixture("secret-db-credentials")
    secret["stringData"] = {"token": "s3cret-token"}
    secret["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"password":"cmVkYWN0ZWQ="}}'
    }
    values = ["cmVkYWN0ZWQ=", "s3cret-token", "bmV3", "t0ken-value", "dXNlcg==", "an0ther-t0ken"]
    context = TransformContext()
    for rule in SECRET_RULES:
        load(tmp_path, rule)(secret, context)
    assert len(context.rewrites) == len(SECRET_RULES)
    for rewrite in context.rewrites:
        text = f"{rewrite.before} {rewrite.after}"
        assert SECRET_VALUE in text
        assert not [value for value in values if value in text], rewrite


def test_secret_values_never_reach_an_error(tmp_path: Path) -> None:
    secret = fixture("secret-db-credentials")
    rule = {"jsonPatch": [{"op": "add", "path": "/data/password/x", "value": "y"}]}
    with pytest.raises(RuleFailed) as failed:
        run(load(tmp_path, rule), secret)
    assert "cmVkYWN0ZWQ=" not in str(failed.value)
    assert str(failed.value).startswith("rule 1: jsonPatch operation 1 (add /data/password/x): ")


def test_secret_metadata_changes_are_shown(tmp_path: Path) -> None:
    rule = {"mergePatch": {"metadata": {"labels": {"team": "ops"}}}}
    _, context = run(load(tmp_path, rule), fixture("secret-db-credentials"))
    [rewrite] = context.rewrites
    assert (rewrite.before, rewrite.after) == (
        "/metadata/labels: (absent)",
        '/metadata/labels: {"team": "ops"}',
    )


# -- describe -------------------------------------------------------------------------------


def test_describe_gives_the_file_and_every_rule_as_written(tmp_path: Path) -> None:
    rules = [
        {
            "name": "mirror images",
            "match": {"kinds": ["Deployment.apps"], "namespaces": ["shop", "shop-*"]},
            "builtin": {"name": "map-namespace", "args": {"mapping": {"shop": "shop-restored"}}},
        },
        NODE_PORT_TO_CLUSTER_IP,
        {"match": {"kinds": ["ConfigMap"], "name": "debug-.*"}, "drop": True},
        {"match": {"kinds": ["Deployment.apps"]}, "mergePatch": {"spec": {"replicas": 1}}},
    ]
    path = write(tmp_path, rules)
    described = load_rules(path).describe()
    assert described == {"name": "rules", "args": {"file": str(path), "rules": rules}}
    assert json.loads(json.dumps(described)) == described
    described["args"]["rules"][0]["name"] = "edited"
    assert load_rules(path).describe()["args"]["rules"][0]["name"] == "mirror images"


def test_an_empty_rule_list_changes_nothing(tmp_path: Path) -> None:
    result, context = run(load(tmp_path), DEPLOYMENT)
    assert result == DEPLOYMENT
    assert context.rewrites == []


# -- refusals at load time ------------------------------------------------------------------


def test_the_schema_is_valid_json_schema_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema())
    assert SCHEMA_FILE.parent.name == "schemas"


RULE = {"match": {"kinds": ["ConfigMap"]}, "drop": True}

LOAD_ERRORS: list[tuple[str, Any, str]] = [
    (
        "invalid YAML",
        "rules: [",
        "invalid YAML: did not find expected node content at line 2, column 1",
    ),
    ("two documents", "a: 1\n---\nb: 2\n", "holds 2 documents; a rules file is one YAML document"),
    ("empty file", "", "holds no document; a rules file is one YAML document"),
    (
        "not a mapping",
        "- drop: true\n",
        "document 1 is a sequence, not a mapping of apiVersion, kind and rules",
    ),
    (
        "another kind",
        {"apiVersion": "kbundle.dev/v1", "kind": "Rules", "rules": []},
        'kind: must be "TransformRules", not "Rules"',
    ),
    (
        "another version",
        {"apiVersion": "kbundle.dev/v2", "kind": "TransformRules", "rules": []},
        'apiVersion: must be "kbundle.dev/v1", not "kbundle.dev/v2"',
    ),
    (
        "unknown top-level field",
        {**HEADER, "rules": [], "metadata": {"name": "x"}},
        "Additional properties are not allowed ('metadata' was unexpected)",
    ),
    ("rules missing", HEADER, "'rules' is a required property"),
    ("rules not a list", {**HEADER, "rules": None}, "rules: expected an array, found null"),
    (
        "misspelt action",
        [RULE, {"jsonpatch": [{"op": "remove", "path": "/a"}]}],
        "rule 2: Additional properties are not allowed ('jsonpatch' was unexpected)",
    ),
    (
        "unknown condition",
        [{"match": {"label": "app=x"}, "drop": True}],
        "rule 1: match: Additional properties are not allowed ('label' was unexpected)",
    ),
    (
        "no action",
        [{"name": "keep", "match": {"kinds": ["ConfigMap"]}}],
        "rule 1 (keep): no action: give one of builtin, jsonPatch, mergePatch or drop",
    ),
    (
        "two actions",
        [{"mergePatch": {"a": 1}, "drop": True}],
        "rule 1: 2 actions (mergePatch, drop): give exactly one per rule",
    ),
    ("drop false", [{"drop": False}], "rule 1: drop: must be true, not false"),
    (
        "bad regex",
        [RULE, RULE, {"name": "mirror images", "match": {"name": "[a"}, "drop": True}],
        "rule 3 (mirror images): match.name: bad regex: unterminated character set at position 0",
    ),
    (
        "bad label selector",
        [{"match": {"labelSelector": "app in ()"}, "drop": True}],
        "rule 1: match.labelSelector: invalid label selector 'app in ()': "
        "bad values in 'app in ()'",
    ),
    (
        "kinds not a list",
        [{"match": {"kinds": "ConfigMap"}, "drop": True}],
        "rule 1: match.kinds: expected an array, found a string",
    ),
    (
        "bare kind of a named group",
        [{"match": {"kinds": ["ConfigMap", "Deployment"]}, "drop": True}],
        "rule 1: match.kinds[1]: 'Deployment' would match only the core group; "
        "write 'Deployment.apps'",
    ),
    (
        "bare Ingress",
        [{"match": {"kinds": ["Ingress"]}, "drop": True}],
        "rule 1: match.kinds[0]: 'Ingress' would match only the core group; "
        "write 'Ingress.networking.k8s.io'",
    ),
    (
        "group without kind",
        [{"match": {"kinds": ["apps/"]}, "drop": True}],
        "rule 1: match.kinds[0]: 'apps/' is not GROUP/KIND (like apps/*)",
    ),
    (
        "unknown built-in",
        [{"name": "mirror", "builtin": {"name": "map-nothing"}}],
        "rule 1 (mirror): builtin: unknown built-in 'map-nothing' (known: ",
    ),
    (
        "built-in refuses its args",
        [{"builtin": {"name": "map-namespace", "args": {"mapping": {"Shop": "x"}}}}],
        "rule 1: builtin map-namespace: ",
    ),
    (
        "built-in args of the wrong shape",
        [{"builtin": {"name": "map-namespace", "args": {"mapping": ["shop"]}}}],
        "rule 1: builtin map-namespace: map-namespace: args.mapping must map old namespace",
    ),
    (
        "JSON patch operation without value",
        [{"jsonPatch": [{"op": "add", "path": "/a"}]}],
        "rule 1: jsonPatch[0]: 'value' is a required property",
    ),
    (
        "JSON patch move without from",
        [{"jsonPatch": [{"op": "test", "path": "/a", "value": 1}, {"op": "move", "path": "/b"}]}],
        "rule 1: jsonPatch[1]: 'from' is a required property",
    ),
    (
        "JSON patch unknown op",
        [{"jsonPatch": [{"op": "delete", "path": "/a"}]}],
        "rule 1: jsonPatch[0].op: 'delete' is not one of",
    ),
    (
        "JSON patch path not a pointer",
        [{"jsonPatch": [{"op": "remove", "path": "spec/type"}]}],
        'rule 1: jsonPatch[0].path: "spec/type" is not a JSON pointer (like /spec/replicas)',
    ),
    (
        "JSON patch bad escape",
        [{"jsonPatch": [{"op": "remove", "path": "/metadata/labels/a~2b"}]}],
        'rule 1: jsonPatch[0].path: "/metadata/labels/a~2b" is not a JSON pointer',
    ),
    (
        "JSON patch empty",
        [{"jsonPatch": []}],
        "rule 1: jsonPatch: [] should be non-empty",
    ),
    (
        "merge patch not an object",
        [{"mergePatch": [{"a": 1}]}],
        "rule 1: mergePatch: expected an object, found an array",
    ),
    (
        "integer key",
        "apiVersion: kbundle.dev/v1\nkind: TransformRules\nrules:\n- mergePatch: {data: {80: x}}\n",
        "invalid YAML: mapping key '80' is not a string (quote it",
    ),
    (
        "YAML 1.1 boolean key",
        "apiVersion: kbundle.dev/v1\nkind: TransformRules\nrules:\n- mergePatch: {on: x}\n",
        "invalid YAML: mapping key 'on' is not a string (quote it; YAML 1.1 reads",
    ),
    (
        "binary value",
        "apiVersion: kbundle.dev/v1\nkind: TransformRules\n"
        "rules:\n- mergePatch: {a: !!binary aGk=}\n",
        "invalid YAML: binary values are not JSON at line 4",
    ),
    (
        "binary where the schema wants a constant",
        "apiVersion: kbundle.dev/v1\nkind: TransformRules\nrules:\n- drop: !!binary aGk=\n",
        "invalid YAML: binary values are not JSON at line 4",
    ),
    (
        "the first bad rule is reported",
        [RULE, {"match": {"name": "("}, "drop": True}, {"drop": False}],
        "rule 2: match.name: bad regex: missing ), unterminated subpattern at position 0",
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"),
    [pytest.param(content, expected, id=case) for case, content, expected in LOAD_ERRORS],
)
def test_a_bad_rules_file_is_refused_in_one_line(
    tmp_path: Path, content: Any, expected: str
) -> None:
    path = tmp_path / "rules.yaml"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, list):
        write(tmp_path, content)
    else:
        path.write_text(yaml.safe_dump(content))

    with pytest.raises(UsageError) as refused:
        load_rules(path)

    message = refused.value.message
    assert message.startswith(f"{path}: {expected}"), message
    assert "\n" not in message
    assert refused.value.hint


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(UsageError) as refused:
        load_rules(missing)
    assert refused.value.message == f"{missing}: cannot read: No such file or directory"
