"""The test clusters are real, independent control planes, and survive restarts."""

from __future__ import annotations

import base64
import ipaddress
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from kbundle.cluster import ApiError, Cluster, Unreachable
from testbed import ClusterUnderTest, LocalCluster, locate
from tests.kube import connect_to, create, eventually, list_of, meta, read, unique_name


def _deployment(name: str, namespace: str, replicas: int) -> dict[str, object]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, namespace),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
            },
        },
    }


def _config_map(name: str, data: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(name, "default"),
        "data": data,
    }


def test_deployment_gets_replicaset_and_pods_from_controller_manager(
    source: Cluster, source_namespace: str
) -> None:
    create(source, _deployment("web", source_namespace, replicas=2))

    replica_sets = eventually(
        lambda: list_of(source, "apps/v1", "ReplicaSet", source_namespace),
        what="the Deployment's ReplicaSet",
    )
    owner = replica_sets[0]["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("Deployment", "web")

    def two_pods() -> list[dict[str, Any]] | None:
        pods = list_of(source, "v1", "Pod", source_namespace)
        return pods if len(pods) == 2 else None

    pods = eventually(two_pods, what="two Pods from the ReplicaSet")
    assert {p["metadata"]["ownerReferences"][0]["uid"] for p in pods} == {
        replica_sets[0]["metadata"]["uid"]
    }


def test_new_namespace_gets_service_account_token_and_root_ca(
    source: Cluster, source_namespace: str, source_cluster: ClusterUnderTest
) -> None:
    account = eventually(
        lambda: (
            (a := read(source, "v1", "ServiceAccount", "default", source_namespace))
            and a.get("secrets")
            and a
        ),
        what="the default ServiceAccount with its token",
    )
    token = read(source, "v1", "Secret", account["secrets"][0]["name"], source_namespace)
    assert token is not None
    assert token["type"] == "kubernetes.io/service-account-token"
    assert base64.b64decode(token["data"]["token"])
    root_ca = eventually(
        lambda: read(source, "v1", "ConfigMap", "kube-root-ca.crt", source_namespace),
        what="the kube-root-ca.crt ConfigMap",
    )
    kubeconfig = yaml.safe_load(source_cluster.kubeconfig.read_text())
    trusted = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    assert root_ca["data"]["ca.crt"].strip() == trusted.decode().strip()


def test_object_created_in_one_cluster_is_absent_from_the_other(
    source: Cluster, destination: Cluster
) -> None:
    name = unique_name("only-in-source")
    create(source, _config_map(name, {"k": "v"}))

    stored = read(source, "v1", "ConfigMap", name, "default")
    assert stored is not None
    assert stored["data"] == {"k": "v"}
    assert read(destination, "v1", "ConfigMap", name, "default") is None


def test_clusters_allocate_service_ips_from_their_own_ranges(
    source_cluster: ClusterUnderTest, destination_cluster: ClusterUnderTest
) -> None:
    if source_cluster.service_cidr is None or destination_cluster.service_cidr is None:
        pytest.skip("the service ranges of existing clusters are not known to the tests")
    for cluster in (source_cluster, destination_cluster):
        assert cluster.service_cidr is not None
        service = create(
            connect_to(cluster),
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta(unique_name("svc"), "default"),
                "spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "protocol": "TCP"}]},
            },
        )
        allocated = ipaddress.ip_address(service["spec"]["clusterIP"])
        assert allocated in ipaddress.ip_network(cluster.service_cidr), cluster.name
    assert not ipaddress.ip_network(source_cluster.service_cidr).overlaps(
        ipaddress.ip_network(destination_cluster.service_cidr)
    )


def test_persistent_volume_claim_is_bound_by_the_volume_controller(
    source: Cluster, source_namespace: str
) -> None:
    volume = unique_name("pv")
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": meta(volume),
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": volume,
                "hostPath": {"path": "/tmp/x"},
            },
        },
    )
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": meta("data", source_namespace),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": volume,
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    claim = eventually(
        lambda: (
            (c := read(source, "v1", "PersistentVolumeClaim", "data", source_namespace))
            and c.get("status", {}).get("phase") == "Bound"
            and c
        ),
        what="the claim to be Bound",
    )
    assert claim["spec"]["volumeName"] == volume


def test_tls_is_verified_against_each_clusters_own_ca(
    source_cluster: ClusterUnderTest, destination_cluster: ClusterUnderTest
) -> None:
    source_config = yaml.safe_load(source_cluster.kubeconfig.read_text())["clusters"][0]
    destination_config = yaml.safe_load(destination_cluster.kubeconfig.read_text())["clusters"][0]
    source_ca = source_config["cluster"]["certificate-authority-data"]
    assert source_ca != destination_config["cluster"]["certificate-authority-data"]

    wrong_ca = ssl.create_default_context(cadata=base64.b64decode(source_ca).decode())
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen(
            f"{destination_config['cluster']['server']}/version", context=wrong_ca, timeout=5
        )
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


def test_objects_survive_an_apiserver_restart(source_cluster: ClusterUnderTest) -> None:
    if not source_cluster.can_inject_faults:
        pytest.skip("existing clusters are never restarted by the tests")
    cluster = connect_to(source_cluster)
    name = unique_name("durable")
    create(cluster, _config_map(name, {"a": "1"}))

    source_cluster.stop_component("apiserver")
    try:
        with pytest.raises(Unreachable):
            read(cluster, "v1", "ConfigMap", name, "default")
    finally:
        source_cluster.start_component("apiserver")

    restarted = read(cluster, "v1", "ConfigMap", name, "default")
    assert restarted is not None
    assert restarted["data"] == {"a": "1"}


def test_objects_survive_an_etcd_restart(source_cluster: ClusterUnderTest) -> None:
    if not source_cluster.can_inject_faults:
        pytest.skip("existing clusters are never restarted by the tests")
    cluster = connect_to(source_cluster)
    name = unique_name("on-disk")
    create(cluster, _config_map(name, {"b": "2"}))

    source_cluster.stop_component("apiserver")
    source_cluster.stop_component("etcd")
    source_cluster.start_component("etcd")
    source_cluster.start_component("apiserver")

    restarted = read(cluster, "v1", "ConfigMap", name, "default")
    assert restarted is not None
    assert restarted["data"] == {"b": "2"}


def test_a_request_the_server_refuses_names_the_reason(source: Cluster) -> None:
    with pytest.raises(ApiError) as refused:
        create(source, _config_map("Not_A_Valid_Name", {}))
    assert refused.value.status == 422
    assert "Not_A_Valid_Name" in str(refused.value)


def test_a_cluster_whose_ports_were_taken_meanwhile_starts_on_fresh_ones(
    source_cluster: ClusterUnderTest, tmp_path: Path
) -> None:
    if not source_cluster.can_inject_faults:
        pytest.skip("needs the local control-plane binaries")
    cluster = LocalCluster.provision(tmp_path / "raced", locate(), "raced", "10.120.0.0/16")
    taken = cluster.state.etcd_client_port, cluster.state.apiserver_port
    squatters = []
    for port in taken:
        squatter = socket.socket()
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen(1)
        squatters.append(squatter)
    try:
        cluster.start(tie_to_parent=True)
        assert (cluster.state.etcd_client_port, cluster.state.apiserver_port) != taken
        assert cluster.state.etcd_client_port != taken[0]
        assert cluster.state.apiserver_port != taken[1]
        assert set(cluster.status().values()) == {"ready"}
        restored = LocalCluster.load(tmp_path / "raced", locate())
        assert restored.state == cluster.state  # the new ports are remembered
    finally:
        cluster.stop()
        for squatter in squatters:
            squatter.close()
