"""Session-wide real clusters: ``source_cluster`` and ``destination_cluster``.

Existing clusters named by KBUNDLE_TEST_*_KUBECONFIG are used as they are; otherwise two
local control planes are started for the session (tied to this process, so they die with
it) and stopped at the end. Provisioning failures are errors, never skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kbundle.cluster import Cluster
from testbed import (
    ROLES,
    ClusterUnderTest,
    LocalCluster,
    OwnedLocalCluster,
    existing_clusters_from_env,
    locate,
    start_clusters,
)
from testbed.clusters import service_cidr
from testbed.fixture_loader import load_sample_app
from testbed.registry import LocalRegistry
from testbed.s3 import S3Server, start_s3_server
from tests.cli import export
from tests.kube import connect_to, create, eventually, list_of, read, unique_name


@pytest.fixture(scope="session")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ClusterUnderTest]]:
    existing = existing_clusters_from_env()
    if existing is not None:
        yield dict(existing)
        return
    binaries = locate(build_if_missing=True)
    root: Path = tmp_path_factory.mktemp("clusters")
    local = [
        LocalCluster.provision(root / role, binaries, role, service_cidr(role)) for role in ROLES
    ]
    try:
        start_clusters(local, tie_to_parent=True)
        yield {c.name: OwnedLocalCluster(c, tie_to_parent=True) for c in local}
    finally:
        for cluster in local:
            cluster.stop()


@pytest.fixture(scope="session")
def source_cluster(clusters: dict[str, ClusterUnderTest]) -> ClusterUnderTest:
    return clusters["source"]


@pytest.fixture(scope="session")
def destination_cluster(clusters: dict[str, ClusterUnderTest]) -> ClusterUnderTest:
    return clusters["destination"]


@pytest.fixture(scope="session")
def source(source_cluster: ClusterUnderTest) -> Cluster:
    """The source cluster's API, as kbundle's own client layer sees it."""
    return connect_to(source_cluster)


@pytest.fixture(scope="session")
def destination(destination_cluster: ClusterUnderTest) -> Cluster:
    return connect_to(destination_cluster)


@pytest.fixture()
def source_namespace(source: Cluster) -> str:
    """A fresh namespace in the source cluster for one test."""
    name = unique_name("t")
    create(source, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture(scope="session")
def sample_app(source: Cluster) -> list[dict[str, object]]:
    """The sample app loaded once into the source, after its controllers have settled."""
    stored = load_sample_app(source)

    last = [""]

    def settled() -> bool:
        pods = list_of(source, "v1", "Pod", "shop")
        claim = read(source, "v1", "PersistentVolumeClaim", "uploads", "shop") or {}
        accounts = list_of(source, "v1", "ServiceAccount", "shop")
        owned = len([p for p in pods if p["metadata"].get("ownerReferences")])
        phase = claim.get("status", {}).get("phase")
        tokenless = [a["metadata"]["name"] for a in accounts if not a.get("secrets")]
        last[0] = f"{owned} owned pods, claim uploads {phase}, accounts without token {tokenless}"
        return owned >= 5 and phase == "Bound" and not tokenless

    eventually(
        settled, timeout=90, what="the sample app's controllers to settle", seen=lambda: last[0]
    )
    return stored


@pytest.fixture(scope="session")
def sample_bundle(
    source_cluster: ClusterUnderTest,
    sample_app: list[dict[str, object]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The sample app's namespaces exported once, for every test that imports it."""
    path = tmp_path_factory.mktemp("bundles") / "shop.kbundle"
    export(source_cluster, path, "-n", "shop", "-n", "shop-ops")
    return path


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """An S3 API on loopback (moto's server, its own process) with ``s3_server.bucket``
    created; ``s3_server.env()`` reaches it from a ``kbundle`` subprocess. No cluster."""
    server = start_s3_server(tmp_path_factory.mktemp("s3"))
    try:
        server.create_bucket()
        yield server
    finally:
        server.stop()


def _running_registry(
    folder: Path, *, with_auth: bool = False, with_token_auth: bool = False
) -> Iterator[LocalRegistry]:
    """A registry provisioned in ``folder``, running until the session ends."""
    server = LocalRegistry.provision(folder, with_auth=with_auth, with_token_auth=with_token_auth)
    server.start(tie_to_parent=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A real OCI registry (Debian's docker-registry) on loopback, plain HTTP, no auth:
    ``registry.host`` is ``127.0.0.1:PORT``; ``registry.blob_path(digest)`` its stored bytes."""
    yield from _running_registry(tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="session")
def registry_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """The same with basic auth (htpasswd): ``registry_with_auth.credentials`` holds the user,
    the password and a Docker config folder (``$DOCKER_CONFIG``) logged in to it."""
    yield from _running_registry(tmp_path_factory.mktemp("registry-auth"), with_auth=True)


@pytest.fixture(scope="session")
def registry_with_token_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """The same with bearer tokens: the registry trusts ``registry.token_issuer``, a token
    realm on loopback that issues tokens for ``registry.credentials`` (basic) only."""
    yield from _running_registry(tmp_path_factory.mktemp("registry-token"), with_token_auth=True)
