"""Bundles that live elsewhere, end to end on the two real clusters: exported straight into an
OCI registry or S3, the source stopped, imported from there into the destination. Nothing
is applied from a remote bundle that did not verify: a tampered blob or object is refused
with zero requests to the cluster."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kbundle.cluster import Cluster
from testbed import ClusterUnderTest
from testbed.registry import LocalRegistry
from testbed.s3 import S3Server
from tests.cli import on, run_kbundle
from tests.kube import create, read, unique_name
from tests.listener import ConnectionCounter, write_counting_kubeconfig

ARTIFACT = "application/vnd.kbundle.bundle.v1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture()
def app_namespace(source: Cluster, source_namespace: str) -> str:
    """A namespace holding a ConfigMap and a Deployment, in the source."""
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": source_namespace},
            "data": {"mode": "remote"},
        },
    )
    create(
        source,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": source_namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
                },
            },
        },
    )
    return source_namespace


@pytest.fixture()
def source_stopped(source_cluster: ClusterUnderTest) -> Iterator[None]:
    """The source's apiserver stopped for the test's import (where faults can be injected):
    the bundle must need nothing of the source any more."""
    stop = source_cluster.can_inject_faults
    if stop:
        source_cluster.stop_component("apiserver")
    try:
        yield
    finally:
        if stop:
            source_cluster.start_component("apiserver")


def _import(destination_cluster: ClusterUnderTest, reference: str, namespace: str,
            landed: str, *args: str, env: dict[str, str] | None = None) -> None:  # fmt: skip
    done = run_kbundle(
        "import", reference, *on(destination_cluster),
        "--map-namespace", f"{namespace}={landed}", *args, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()


def test_export_to_a_registry_then_import_from_it_with_the_source_stopped(
    app_namespace: str,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    registry: LocalRegistry,
    request: pytest.FixtureRequest,
) -> None:
    reference = f"oci://{registry.host}/bundles/{app_namespace}:v1"
    exported = run_kbundle(
        "export", *on(source_cluster), "-n", app_namespace, "-o", reference, "--plain-http"
    )
    assert exported.returncode == 0, exported.stderr.decode()

    manifest = _registry_manifest(registry, f"bundles/{app_namespace}", "v1")
    assert manifest["mediaType"] == OCI_MANIFEST and manifest["artifactType"] == ARTIFACT
    assert manifest["annotations"]["io.kbundle.namespaces"] == app_namespace
    assert manifest["annotations"]["io.kbundle.objects"] == "4"  # ns, SA, ConfigMap, Deployment
    assert [layer["annotations"]["org.opencontainers.image.title"] for layer in
            manifest["layers"]] == [f"{app_namespace}.kbundle", "manifest.yaml"]  # fmt: skip

    request.getfixturevalue("source_stopped")
    landed = unique_name("from-oci")
    _import(destination_cluster, reference, app_namespace, landed, "--plain-http")
    assert read(destination, "v1", "ConfigMap", "settings", landed) is not None
    assert read(destination, "apps/v1", "Deployment", "web", landed) is not None


def test_a_blob_changed_in_the_registry_is_refused_before_any_request(
    app_namespace: str,
    source_cluster: ClusterUnderTest,
    registry: LocalRegistry,
    tmp_path: Path,
) -> None:
    repository = f"tampered/{app_namespace}"
    reference = f"oci://{registry.host}/{repository}:v1"
    exported = run_kbundle(
        "export", *on(source_cluster), "-n", app_namespace, "-o", reference, "--plain-http"
    )
    assert exported.returncode == 0, exported.stderr.decode()
    bundle_layer = _registry_manifest(registry, repository, "v1")["layers"][0]
    blob = registry.blob_path(bundle_layer["digest"])
    damaged = bytearray(blob.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    blob.write_bytes(bytes(damaged))

    with ConnectionCounter() as counter:
        kubeconfig = write_counting_kubeconfig(tmp_path / "kubeconfig", counter.port)
        refused = run_kbundle("import", reference, "--kubeconfig", str(kubeconfig), "--plain-http")
        assert counter.settled() == 0
    assert refused.returncode == 1
    lines = refused.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and reference in lines[0], lines


def test_inspect_of_a_registry_bundle_reads_only_its_manifest(
    app_namespace: str, source_cluster: ClusterUnderTest, registry: LocalRegistry
) -> None:
    reference = f"oci://{registry.host}/peek/{app_namespace}:v1"
    exported = run_kbundle(
        "export", *on(source_cluster), "-n", app_namespace, "-o", reference, "--plain-http"
    )
    assert exported.returncode == 0, exported.stderr.decode()
    layer = _registry_manifest(registry, f"peek/{app_namespace}", "v1")["layers"][0]
    registry.blob_path(layer["digest"]).unlink()  # the bundle itself is gone: never needed

    shown = run_kbundle("inspect", reference, "--plain-http", "-o", "json")
    assert shown.returncode == 0, shown.stderr.decode()
    document = json.loads(shown.stdout)
    assert document["selection"]["namespaces"] == [app_namespace]
    assert document["reach"] is None  # what only the whole bundle can tell: not read


def test_export_to_s3_then_import_from_it_with_the_source_stopped(
    app_namespace: str,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    s3_server: S3Server,
    request: pytest.FixtureRequest,
) -> None:
    reference = f"s3://{s3_server.bucket}/snapshots/{app_namespace}.kbundle"
    env = s3_server.env()
    exported = run_kbundle(
        "export", *on(source_cluster), "-n", app_namespace, "-o", reference, env=env
    )
    assert exported.returncode == 0, exported.stderr.decode()
    shown = run_kbundle("inspect", reference, "-o", "json", env=env)
    assert json.loads(shown.stdout)["selection"]["namespaces"] == [app_namespace]

    request.getfixturevalue("source_stopped")
    landed = unique_name("from-s3")
    _import(destination_cluster, reference, app_namespace, landed, env=env)
    assert read(destination, "v1", "ConfigMap", "settings", landed) is not None


def test_a_changed_object_in_s3_is_refused_before_any_request(
    app_namespace: str, source_cluster: ClusterUnderTest, s3_server: S3Server, tmp_path: Path
) -> None:
    env = s3_server.env()
    local = tmp_path / "app.kbundle"
    exported = run_kbundle("export", *on(source_cluster), "-n", app_namespace, "-o", str(local))
    assert exported.returncode == 0, exported.stderr.decode()
    damaged = bytearray(local.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    local.write_bytes(bytes(damaged))
    reference = f"s3://{s3_server.bucket}/damaged/{app_namespace}.kbundle"
    pushed = run_kbundle("push", str(local), reference, env=env)
    assert pushed.returncode == 1  # push verifies first: a damaged bundle is never published
    from kbundle.remote.refs import RemoteBundle, StorageRef  # noqa: PLC0415
    from kbundle.remote.storage import upload  # noqa: PLC0415

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        upload(local, StorageRef(reference, "s3"), RemoteBundle.parse(reference).options)

    with ConnectionCounter() as counter:
        kubeconfig = write_counting_kubeconfig(tmp_path / "kubeconfig", counter.port)
        refused = run_kbundle("import", reference, "--kubeconfig", str(kubeconfig), env=env)
        assert counter.settled() == 0
    assert refused.returncode == 1
    assert refused.stderr.decode().startswith(f"error: {reference}: ")


def test_push_prints_the_digest_that_pull_can_pin(
    app_namespace: str, source_cluster: ClusterUnderTest, registry: LocalRegistry, tmp_path: Path
) -> None:
    local = tmp_path / "app.kbundle"
    exported = run_kbundle("export", *on(source_cluster), "-n", app_namespace, "-o", str(local))
    assert exported.returncode == 0, exported.stderr.decode()
    repository = f"{registry.host}/pinned/{app_namespace}"
    pushed = run_kbundle("push", str(local), f"oci://{repository}:v1", "--plain-http")
    assert pushed.returncode == 0, pushed.stderr.decode()
    digest = pushed.stdout.decode().strip()
    assert digest.startswith("sha256:")
    pulled = run_kbundle(
        "pull", f"oci://{repository}@{digest}", "-o", str(tmp_path / "back.kbundle"),
        "--plain-http",
    )  # fmt: skip
    assert pulled.returncode == 0, pulled.stderr.decode()
    assert (tmp_path / "back.kbundle").read_bytes() == local.read_bytes()


def _registry_manifest(registry: LocalRegistry, repository: str, tag: str) -> dict[str, Any]:
    """The artifact's manifest straight from the registry's HTTP API."""
    ask = urllib.request.Request(
        f"{registry.url}/v2/{repository}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}
    )
    with urllib.request.urlopen(ask, timeout=10) as answer:
        document: dict[str, Any] = json.loads(answer.read())
    return document
