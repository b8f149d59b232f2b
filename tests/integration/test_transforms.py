"""Transforms between two real clusters whose namespaces and service ranges differ."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kbundle.cluster import Cluster
from testbed import ClusterUnderTest
from tests.cli import export, on, run_kbundle
from tests.kube import create, eventually, read, unique_name
from tests.oracles import Object, kubectl, open_bundle

PLUGIN = Path(__file__).resolve().parents[2] / "fixtures" / "plugins" / "kbundle-example-plugin"


def _rules(folder: Path) -> Path:
    """The frontend's nodePort is taken in the destination by an earlier import of the same
    app; a JSON patch (guarded by a test) lets the destination allocate another."""
    rules = folder / "rules.yaml"
    rules.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kbundle.dev/v1",
                "kind": "TransformRules",
                "rules": [
                    {
                        "name": "free the node port",
                        "match": {"kinds": ["Service"], "name": "^frontend$"},
                        "jsonPatch": [
                            {"op": "test", "path": "/spec/ports/0/nodePort", "value": 30080},
                            {"op": "remove", "path": "/spec/ports/0/nodePort"},
                        ],
                    }
                ],
            }
        )
    )
    return rules


def test_sample_app_lands_under_new_namespaces_and_service_range(
    destination: Cluster, destination_cluster: ClusterUnderTest, sample_bundle: Path, tmp_path: Path
) -> None:
    if destination_cluster.service_cidr is None:
        pytest.skip("the destination's service range is not known for existing clusters")
    store, ops = unique_name("store"), unique_name("ops")
    report = tmp_path / "report.json"
    result = run_kbundle(
        "import",
        str(sample_bundle),
        *on(destination_cluster),
        "--map-namespace",
        f"shop={store}",
        "--map-namespace",
        f"shop-ops={ops}",
        "--map-ip",
        f"10.96.0.0/16={destination_cluster.service_cidr}",
        "--transforms",
        str(_rules(tmp_path)),
        "--report",
        str(report),
    )
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    outcomes = json.loads(report.read_text())
    assert outcomes["totals"]["fail"] == 0

    offset_ip = destination_cluster.service_cidr.split("/")[0].rsplit(".", 2)[0] + ".0.50"
    cache = read(destination, "v1", "Service", "cache", store)
    assert cache is not None and cache["spec"]["clusterIP"] == offset_ip
    binding = read(destination, "rbac.authorization.k8s.io/v1", "RoleBinding", "api-reader", store)
    assert binding is not None
    assert {s["namespace"] for s in binding["subjects"]} == {store, ops}
    volume = read(destination, "v1", "PersistentVolume", "shop-uploads")
    assert volume is not None and volume["spec"]["claimRef"]["namespace"] == store
    webhook = read(
        destination,
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "shop-widget-guard",
    )
    if webhook is not None:  # cluster-scoped: only in the bundle if a namespace needed it
        assert webhook["webhooks"][0]["clientConfig"]["service"]["namespace"] == ops
    policy = read(
        destination, "networking.k8s.io/v1", "NetworkPolicy", "api-allow-frontend-and-ops", store
    )
    assert policy is not None
    assert policy["spec"]["ingress"][0]["from"][1]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": ops
    }
    config = read(destination, "v1", "ConfigMap", "shop-config", store)
    assert config is not None
    assert config["data"]["API_URL"] == f"http://api.{store}.svc.cluster.local:8080"
    assert config["data"]["METRICS_PUSH"] == f"http://pushgateway.{ops}.svc:9091"
    gateway = read(destination, "v1", "Service", "payments-gateway", store)
    assert gateway is not None
    assert gateway["spec"]["externalName"] == f"gateway.{ops}.svc.cluster.local"
    frontend = read(destination, "v1", "Service", "frontend", store)
    assert frontend is not None and frontend["spec"]["ports"][0]["nodePort"] != 30080
    endpoints = read(destination, "v1", "Endpoints", "legacy-billing", store)
    assert endpoints is not None
    assert endpoints["subsets"][0]["addresses"][0]["ip"] == "192.168.10.20"  # in no range
    rewrites = outcomes["rewrites"]
    assert any(r["transform"] == "map-ip" and r["after"] == offset_ip for r in rewrites)
    assert any(r["transform"] == "rules" for r in rewrites)


def _install_plugin(target: Path) -> None:
    """pip builds inside the source folder, so build a copy and keep fixtures/ clean."""
    source = target.parent / "plugin-source"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )


def test_a_plugin_installed_through_its_entry_point_runs_during_import(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    for name, labels in (("kept", {}), ("skipped", {"example.kbundle.dev/skip": "true"})):
        create(
            source,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": source_namespace, "labels": labels},
                "data": {"k": name},
            },
        )
    bundle = tmp_path / "plugin.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    site = tmp_path / "site"
    _install_plugin(site)
    report = tmp_path / "report.json"
    result = run_kbundle(
        "import",
        str(bundle),
        *on(destination_cluster),
        "--transform",
        "example",
        "--report",
        str(report),
        env={"PYTHONPATH": os.pathsep.join([str(site), *sys.path])},
    )
    assert result.returncode == 0, result.stderr.decode()
    kept = read(destination, "v1", "ConfigMap", "kept", source_namespace)
    assert kept is not None
    assert kept["metadata"]["labels"]["example.kbundle.dev/imported-by"] == "example-plugin"
    assert read(destination, "v1", "ConfigMap", "skipped", source_namespace) is None
    skipped = [o for o in json.loads(report.read_text())["objects"] if o["name"] == "skipped"]
    assert skipped[0]["action"] == "skip" and "dropped" in skipped[0]["message"]


def test_an_unknown_plugin_is_refused_before_anything_runs(
    destination_cluster: ClusterUnderTest, sample_bundle: Path
) -> None:
    result = run_kbundle(
        "import",
        str(sample_bundle),
        *on(destination_cluster),
        "--transform",
        "no_such_module:transform",
    )
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1
    assert "no_such_module" in lines[0]


def test_transform_rewrites_a_bundle_offline_into_one_that_verifies(
    sample_bundle: Path, tmp_path: Path
) -> None:
    output = tmp_path / "staging.kbundle"
    result = run_kbundle(
        "transform",
        str(sample_bundle),
        "-o",
        str(output),
        "--map-namespace",
        "shop=staging",
        "--map-registry",
        "registry.shop.example=mirror.local:5000",
        "--set-label",
        "env=staging",
        env={"KUBECONFIG": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr.decode()
    assert run_kbundle("verify", str(output)).returncode == 0
    content = open_bundle(output)
    recorded = [t["name"] for t in content.manifest["transforms"]]
    assert recorded == ["map-namespace", "map-registry", "set-labels"]
    api = content.object("Deployment", "api", "staging")
    images = [c["image"] for c in api["spec"]["template"]["spec"]["containers"]]
    assert images == [
        "mirror.local:5000/shop/api@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12a"
        "b4d8e11ba873c2f11161202b945"
    ]
    assert api["metadata"]["labels"]["env"] == "staging"
    assert not [o for o in content.objects() if o["metadata"].get("namespace") == "shop"]
    original = open_bundle(sample_bundle)
    assert len(content.objects()) == len(original.objects())


def test_rendered_yaml_is_accepted_by_the_destination_apiserver(
    source_cluster: ClusterUnderTest,
    sample_app: list[Object],
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "shop-only.kbundle"
    export(source_cluster, bundle, "-n", "shop")
    target = unique_name("rendered")
    folder = tmp_path / "yaml"
    result = run_kbundle(
        "render",
        str(bundle),
        "-o",
        str(folder),
        "--map-namespace",
        f"shop={target}",
        "--remove-field",
        "spec.ports[*].nodePort",
        env={"KUBECONFIG": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr.decode()
    files = sorted(p.name for p in folder.iterdir())
    assert files[0] == "00-crds.yaml" and files[1] == "01-namespaces.yaml"
    assert all(
        o.get("metadata", {}).get("ownerReferences") is None
        for f in folder.iterdir()
        for o in yaml.safe_load_all(f.read_text())
        if o
    )

    create(destination, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}})
    eventually(
        lambda: read(destination, "v1", "ServiceAccount", "default", target),
        what="the new namespace's default ServiceAccount",
    )
    accepted = kubectl(
        destination_cluster,
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "-f",
        str(folder),
    )
    assert "configmap/shop-config serverside-applied (server dry run)" in accepted
    assert read(destination, "v1", "ConfigMap", "shop-config", target) is None


def test_bad_transform_flags_are_refused_in_one_line(sample_bundle: Path, tmp_path: Path) -> None:
    cases: list[tuple[list[str], str]] = [
        (["--map-ip", "10.96.0.0/16=10.112.0.0/24"], "10.112.0.0/24"),
        (["--map-namespace", "shop=Shop"], "Shop"),
        (["--map-registry", "https://r.example=m"], "https://r.example"),
        (["--remove-field", "metadata.name"], "metadata.name"),
        (["--transforms", str(tmp_path / "missing.yaml")], "missing.yaml"),
    ]
    for args, culprit in cases:
        result = run_kbundle(
            "transform", str(sample_bundle), "-o", str(tmp_path / "x.kbundle"), *args
        )
        lines = result.stderr.decode().strip().splitlines()
        assert result.returncode == 2, (args, lines)
        assert len(lines) == 1 and culprit in lines[0], (args, lines)
    assert not (tmp_path / "x.kbundle").exists()
