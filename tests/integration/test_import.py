"""`kbundle import` and `clone` between two real clusters that never see each other."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
import zstandard

from kbundle.apply.options import ApplyOptions
from kbundle.cluster import ApiError, Cluster
from kbundle.core.errors import ExitCode
from testbed import ClusterUnderTest
from tests.bundle_samples import write_bundle
from tests.cli import KBUNDLE, export, on, run_kbundle
from tests.kube import create, eventually, list_of, read, unique_name
from tests.listener import ConnectionCounter, write_counting_kubeconfig
from tests.oracles import Object, kubectl, open_bundle

RBAC = "rbac.authorization.k8s.io/v1"


def import_bundle(
    cluster: ClusterUnderTest, bundle: Path, *args: str, expect_ok: bool = True
) -> tuple[subprocess.CompletedProcess[bytes], dict[str, Any]]:
    report = bundle.with_suffix(f".report-{unique_name('r')}.json")
    result = run_kbundle(
        "import",
        str(bundle),
        *on(cluster),
        "--report",
        str(report),
        *args,
    )
    if expect_ok:
        assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    data = json.loads(report.read_text()) if report.exists() else {}
    return result, data


def actions(report: dict[str, Any]) -> dict[str, str]:
    return {
        f"{o['kind']}/{o['namespace'] or ''}/{o['name']}": o["action"] for o in report["objects"]
    }


FIELD_MANAGER = ApplyOptions().field_manager


def live_objects(cluster: ClusterUnderTest, bundle_objects: list[Object]) -> dict[str, Object]:
    """The destination's copy of each bundle object, read with kubectl (not kbundle)."""
    found = {}
    for obj in bundle_objects:
        meta = obj["metadata"]
        where = ["-n", meta["namespace"]] if meta.get("namespace") else []
        kind = (
            obj["kind"].lower()
            + "."
            + (obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else "")
        )
        output = kubectl(cluster, "get", kind.rstrip("."), meta["name"], *where, "-o", "json")
        found[f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"] = json.loads(output)
    return found


def contained(want: Any, have: Any, path: str = "") -> list[str]:
    """Paths where ``have`` lacks or differs from what ``want`` sets (test's own compare)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [path]
        return [
            p
            for k, v in want.items()
            for p in ([f"{path}.{k}"] if k not in have else contained(v, have[k], f"{path}.{k}"))
        ]
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return [path]
        return [
            p
            for i, (a, b) in enumerate(zip(want, have, strict=True))
            for p in contained(a, b, f"{path}[{i}]")
        ]
    return [] if want == have else [path]


# -- the round trip of the sample app --------------------------------------------------------


@pytest.fixture(scope="module")
def first_import(destination_cluster: ClusterUnderTest, sample_bundle: Path) -> dict[str, Any]:
    """The sample app imported into the destination (the source is not contacted)."""
    _, report = import_bundle(destination_cluster, sample_bundle)
    return report


def test_round_trip_recreates_every_exported_object_with_its_content(
    destination_cluster: ClusterUnderTest, sample_bundle: Path, first_import: dict[str, Any]
) -> None:
    bundle_objects = open_bundle(sample_bundle).objects()
    assert set(actions(first_import).values()) <= {"create", "unchanged"}
    live = live_objects(destination_cluster, bundle_objects)
    for obj in bundle_objects:
        key = f"{obj['kind']}/{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
        expected = json.loads(json.dumps(obj))
        if obj["kind"] == "Service" and obj["spec"].get("clusterIP") != "None":
            expected["spec"].pop("clusterIP", None)
            expected["spec"].pop("clusterIPs", None)
        for owner in expected["metadata"].get("ownerReferences", []):
            owner.pop("uid")
        assert contained(expected, live[key]) == [], key


def test_destination_controllers_recreate_the_derived_objects(
    destination: Cluster, first_import: dict[str, Any]
) -> None:
    def derived() -> bool:
        replica_sets = list_of(destination, "apps/v1", "ReplicaSet", "shop")
        pods = {p["metadata"]["name"] for p in list_of(destination, "v1", "Pod", "shop")}
        claim = read(destination, "v1", "PersistentVolumeClaim", "uploads", "shop") or {}
        token = read(destination, "v1", "Secret", "api-long-lived-token", "shop") or {}
        return (
            len(replica_sets) == 2
            and len(pods) >= 6
            # the StatefulSet's pod comes once its claim template's claim exists: often last
            and {"db-0", "debug-shell"} <= pods
            and claim.get("status", {}).get("phase") == "Bound"
            and "token" in (token.get("data") or {})
        )

    eventually(derived, timeout=90, what="ReplicaSets, Pods, binding and token in the destination")


def test_owned_configmap_points_at_the_owners_new_uid(
    source: Cluster, destination: Cluster, first_import: dict[str, Any]
) -> None:
    widget = read(destination, "example.com/v1", "Widget", "storefront", "shop")
    state = read(destination, "v1", "ConfigMap", "storefront-widget-state", "shop")
    source_widget = read(source, "example.com/v1", "Widget", "storefront", "shop")
    assert widget and state and source_widget
    owner = state["metadata"]["ownerReferences"][0]
    assert owner["uid"] == widget["metadata"]["uid"] != source_widget["metadata"]["uid"]


def test_service_ips_come_from_the_destination_and_user_node_ports_stay(
    destination: Cluster, destination_cluster: ClusterUnderTest, first_import: dict[str, Any]
) -> None:
    services = {s["metadata"]["name"]: s for s in list_of(destination, "v1", "Service", "shop")}
    assert services["db"]["spec"]["clusterIP"] == "None"
    assert services["frontend"]["spec"]["ports"][0]["nodePort"] == 30080
    if destination_cluster.service_cidr:
        prefix = destination_cluster.service_cidr.split(".0.0/")[0]
        assert services["cache"]["spec"]["clusterIP"].startswith(prefix + ".")
    assert services["cache"]["spec"]["clusterIP"] != "10.96.0.50"


def test_second_import_changes_nothing(
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    sample_bundle: Path,
    first_import: dict[str, Any],
) -> None:
    bundle_objects = open_bundle(sample_bundle).objects()

    bundled = {
        f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": o
        for o in bundle_objects
    }

    def written() -> dict[str, Object]:
        """Each object as a write of the import would change it: all but its status, and
        what other writers own: their field managers (a ResourceQuota's usage moves whenever
        a controller creates a pod, at any time) and annotations the bundle does not set
        (autoscaling/v1 shows a HorizontalPodAutoscaler's conditions as annotations, which
        its controller rewrites every 15 seconds)."""
        found = {}
        for key, live in live_objects(destination_cluster, bundle_objects).items():
            meta = {k: v for k, v in live["metadata"].items() if k != "resourceVersion"}
            meta["managedFields"] = [
                m for m in meta.get("managedFields", []) if m["manager"] == FIELD_MANAGER
            ]
            ours = bundled[key]["metadata"].get("annotations") or {}
            meta["annotations"] = {
                k: v for k, v in (meta.get("annotations") or {}).items() if k in ours
            }
            found[key] = {**{k: v for k, v in live.items() if k != "status"}, "metadata": meta}
        return found

    def settled() -> dict[str, Object] | None:
        first = written()
        time.sleep(2)
        return first if written() == first else None

    before = eventually(settled, timeout=90, what="the destination's controllers to settle")
    result, report = import_bundle(destination_cluster, sample_bundle, "-vv")
    assert set(actions(report).values()) == {"unchanged"}
    assert len(report["objects"]) == len(bundle_objects)
    assert written() == before
    # What the preflight found as the bundle wants it is not read and compared again; an
    # object with ownerReferences is (import points them at the owners' UIDs first).
    owned = [o for o in bundle_objects if o["metadata"].get("ownerReferences")]
    taken = result.stderr.decode().count("(as the preflight found it)")
    assert owned and taken == len(bundle_objects) - len(owned)


# -- bad bundles never reach the cluster -----------------------------------------------------


@pytest.fixture()
def counting_kubeconfig(tmp_path: Path) -> Iterator[tuple[Path, ConnectionCounter]]:
    counter = ConnectionCounter()
    path = write_counting_kubeconfig(tmp_path / "counting.kubeconfig", counter.port)
    yield path, counter
    counter.close()


def _members(bundle: Path) -> list[tuple[str, bytes]]:
    data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(bundle.read_bytes())).read()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [(m.name, archive.extractfile(m).read()) for m in archive]  # type: ignore[union-attr]


def _pack(members: list[tuple[str, bytes]], *, symlink: str | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if symlink:
            link = tarfile.TarInfo(symlink)
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            archive.addfile(link)
    return zstandard.ZstdCompressor().compress(raw.getvalue())


def _bad_bundles(good: Path) -> dict[str, tuple[bytes, str]]:
    """Each bad bundle with the text its one-line error must contain."""
    members = _members(good)
    names = [n for n, _ in members]
    flipped = [
        (n, d if n != names[-1] else d[:10] + bytes([d[10] ^ 1]) + d[11:]) for n, d in members
    ]
    manifest = yaml.safe_load(members[0][1])
    manifest["formatVersion"] = "2.0.0"
    future = [(names[0], yaml.safe_dump(manifest).encode()), *members[1:]]
    return {
        "flipped byte": (_pack(flipped), names[-1]),
        "missing member": (_pack(members[:-1]), names[-1]),
        "unknown major version": (_pack(future), "2.0.0"),
        "path traversal": (_pack([*members, ("../evil.yaml", b"x")]), "../evil.yaml"),
        "symlink member": (_pack(members, symlink="objects/link.yaml"), "objects/link.yaml"),
        "not a bundle": (b"PK\x03\x04 a zip file, not a kbundle", "not a kbundle file"),
    }


def test_bad_bundles_are_refused_before_any_request(
    sample_bundle: Path, counting_kubeconfig: tuple[Path, ConnectionCounter], tmp_path: Path
) -> None:
    kubeconfig, counter = counting_kubeconfig
    for case, (data, culprit) in _bad_bundles(sample_bundle).items():
        bad = tmp_path / "bad.kbundle"
        bad.write_bytes(data)
        result = run_kbundle("import", str(bad), "--kubeconfig", str(kubeconfig))
        lines = result.stderr.decode().strip().splitlines()
        assert result.returncode != 0, case
        assert len(lines) == 1 and culprit in lines[0], (case, lines)
    assert counter.connections == 0
    # The counter does count: a good bundle makes kbundle connect (and fail on TLS).
    result = run_kbundle(
        "import", str(sample_bundle), "--kubeconfig", str(kubeconfig), "--retry-timeout", "1"
    )
    assert result.returncode != 0
    assert counter.connections > 0


# -- modes for objects that exist ------------------------------------------------------------


@pytest.fixture()
def small_bundle(
    source: Cluster, source_cluster: ClusterUnderTest, source_namespace: str, tmp_path: Path
) -> Path:
    """A namespace with a ConfigMap, a Secret and a Job, exported."""
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": source_namespace},
            "data": {"mode": "blue"},
        },
    )
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "creds", "namespace": source_namespace},
            "stringData": {"password": "hunter2-never-printed"},
        },
    )
    create(source, _job(source_namespace, "1"))
    path = tmp_path / "small.kbundle"
    export(source_cluster, path, "-n", source_namespace)
    return path


def _job(namespace: str, version: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": namespace},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "m", "image": f"registry.example/migrate:{version}"}],
                }
            }
        },
    }


def test_existing_update_corrects_drift_and_skip_leaves_it(
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    small_bundle: Path,
    source_namespace: str,
) -> None:
    import_bundle(destination_cluster, small_bundle)
    resource = destination.resource_for({"apiVersion": "v1", "kind": "ConfigMap"})
    live = read(destination, "v1", "ConfigMap", "settings", source_namespace)
    assert live is not None
    live["data"]["mode"] = "green"
    changed = destination.replace(resource, live, field_manager="someone-else")

    _, skipped = import_bundle(destination_cluster, small_bundle, "--existing", "skip")
    assert actions(skipped)[f"ConfigMap/{source_namespace}/settings"] == "skip"
    after_skip = read(destination, "v1", "ConfigMap", "settings", source_namespace)
    assert after_skip is not None
    assert after_skip["data"]["mode"] == "green"
    assert after_skip["metadata"]["resourceVersion"] == changed["metadata"]["resourceVersion"]

    _, updated = import_bundle(destination_cluster, small_bundle, "--force-conflicts")
    assert actions(updated)[f"ConfigMap/{source_namespace}/settings"] == "update"
    restored = read(destination, "v1", "ConfigMap", "settings", source_namespace)
    assert restored is not None and restored["data"]["mode"] == "blue"


def test_conflicting_field_owner_is_reported_without_force(
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    small_bundle: Path,
    source_namespace: str,
) -> None:
    import_bundle(destination_cluster, small_bundle)
    resource = destination.resource_for({"apiVersion": "v1", "kind": "ConfigMap"})
    destination.apply(
        resource,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": source_namespace},
            "data": {"mode": "red"},
        },
        field_manager="other-tool",
        force=True,
    )
    result, report = import_bundle(destination_cluster, small_bundle, expect_ok=False)
    assert result.returncode == ExitCode.PARTIAL
    outcome = next(o for o in report["objects"] if o["name"] == "settings")
    assert outcome["action"] == "fail" and "conflict" in outcome["message"].lower()


def test_recreate_replaces_an_object_whose_update_is_refused_as_immutable(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    small_bundle: Path,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    import_bundle(destination_cluster, small_bundle)
    first_uid = (read(destination, "batch/v1", "Job", "migrate", source_namespace) or {})[
        "metadata"
    ]["uid"]
    jobs = source.resource_for({"apiVersion": "batch/v1", "kind": "Job"})
    source.delete(jobs, "migrate", source_namespace)
    eventually(
        lambda: read(source, "batch/v1", "Job", "migrate", source_namespace) is None or None,
        what="the old Job to go",
    )
    create(source, _job(source_namespace, "2"))
    changed = tmp_path / "changed.kbundle"
    export(source_cluster, changed, "-n", source_namespace)

    result, refused = import_bundle(destination_cluster, changed, expect_ok=False)
    job_outcome = next(o for o in refused["objects"] if o["kind"] == "Job")
    assert result.returncode == ExitCode.PARTIAL and job_outcome["action"] == "fail"
    assert "immutable" in job_outcome["message"]

    _, recreated = import_bundle(destination_cluster, changed, "--existing", "recreate")
    job_outcome = next(o for o in recreated["objects"] if o["kind"] == "Job")
    assert job_outcome["action"] == "update"
    assert "deleted and created again" in job_outcome["message"]
    job = read(destination, "batch/v1", "Job", "migrate", source_namespace)
    assert job is not None and job["metadata"]["uid"] != first_uid
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":2")


# -- dry runs --------------------------------------------------------------------------------


def test_client_dry_run_prints_the_plan_and_changes_nothing(
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    small_bundle: Path,
    source_namespace: str,
) -> None:
    result, report = import_bundle(destination_cluster, small_bundle, "--dry-run", "client")
    plan = result.stdout.decode()
    assert f"create    Secret {source_namespace}/creds" in plan
    assert f"create    Job.batch {source_namespace}/migrate" in plan
    assert report["dryRun"] == "client"
    assert read(destination, "v1", "Namespace", source_namespace) is None
    assert b"hunter2" not in result.stdout + result.stderr


def test_server_dry_run_surfaces_what_the_apiserver_refuses_and_changes_nothing(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "edge", "namespace": source_namespace},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "edge"},
                "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31999}],
            },
        },
    )
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "fine", "namespace": source_namespace},
        },
    )
    bundle = tmp_path / "edge.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    create(
        destination,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": source_namespace}},
    )
    create(
        destination,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "taken", "namespace": "default"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "x"},
                "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31999}],
            },
        },
    )

    result, report = import_bundle(
        destination_cluster, bundle, "--dry-run", "server", expect_ok=False
    )
    assert result.returncode == ExitCode.FAILED  # a dry run: nothing applied
    by_name = {o["name"]: o for o in report["objects"]}
    assert by_name["edge"]["action"] == "fail"
    assert "already allocated" in by_name["edge"]["message"]
    assert by_name["fine"]["action"] == "create"
    assert read(destination, "v1", "ConfigMap", "fine", source_namespace) is None


# -- what the destination lacks --------------------------------------------------------------


def test_kind_the_destination_does_not_serve_is_reported_and_the_rest_lands(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    group = f"{unique_name('g')}.example.org"
    create(
        source,
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"gadgets.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        },
    )
    eventually(
        lambda: source.discovery(refresh=True).find(f"{group}/v1", "Gadget"),
        what="the CRD to be served",
    )
    create(
        source,
        {
            "apiVersion": f"{group}/v1",
            "kind": "Gadget",
            "metadata": {"name": "g1", "namespace": source_namespace},
            "spec": {"a": 1},
        },
    )
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "plain", "namespace": source_namespace},
        },
    )
    bundle = tmp_path / "gadgets.kbundle"
    export(source_cluster, bundle, "-n", source_namespace, "--include-cluster-resources=false")

    result, report = import_bundle(destination_cluster, bundle, expect_ok=False)
    assert result.returncode == ExitCode.PARTIAL
    gadget = next(o for o in report["objects"] if o["kind"] == "Gadget")
    assert gadget["action"] == "fail"
    assert f"Gadget {group}/v1 is not served" in gadget["message"]
    assert read(destination, "v1", "ConfigMap", "plain", source_namespace) is not None
    namespace = next(o for o in report["objects"] if o["kind"] == "Namespace")
    assert namespace["action"] == "create"  # the bundle had none: created for its objects


# -- faults ----------------------------------------------------------------------------------


def test_an_import_cut_off_by_a_dead_apiserver_finishes_when_run_again(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    if not destination_cluster.can_inject_faults:
        pytest.skip("existing clusters are never stopped by the tests")
    resource = source.resource_for({"apiVersion": "v1", "kind": "ConfigMap"})
    for number in range(400):
        source.apply(
            resource,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"c{number:03d}", "namespace": source_namespace},
                "data": {"n": str(number)},
            },
            field_manager="test",
        )
    bundle = tmp_path / "many.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    command = [
        "import",
        str(bundle),
        *on(destination_cluster),
        "--parallel",
        "2",
        "--retry-timeout",
        "4",
    ]
    running = subprocess.Popen([KBUNDLE, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eventually(
        lambda: len(_config_maps(destination, source_namespace)) >= 40,
        timeout=60,
        what="the import to be under way",
    )
    destination_cluster.stop_component("apiserver")
    try:
        _, stderr = running.communicate(timeout=120)
    finally:
        destination_cluster.start_component("apiserver")
    assert running.returncode == ExitCode.PARTIAL
    assert b"re-run the same command" in stderr
    landed = len(_config_maps(destination, source_namespace))
    assert 40 <= landed < 400

    _, report = import_bundle(destination_cluster, bundle)
    counts = report["totals"]
    assert counts["fail"] == 0 and counts["create"] + counts["unchanged"] == len(report["objects"])
    names = sorted(c["metadata"]["name"] for c in _config_maps(destination, source_namespace))
    assert names == [f"c{n:03d}" for n in range(400)]


def _config_maps(cluster: Cluster, namespace: str) -> list[Object]:
    return [
        c
        for c in list_of(cluster, "v1", "ConfigMap", namespace)
        if c["metadata"]["name"] != "kube-root-ca.crt"
    ]


# -- streams ---------------------------------------------------------------------------------


def test_import_reads_a_bundle_from_stdin(
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    small_bundle: Path,
    source_namespace: str,
) -> None:
    result = run_kbundle(
        "import",
        "-",
        *on(destination_cluster),
        input_bytes=small_bundle.read_bytes(),
    )
    assert result.returncode == 0, result.stderr.decode()
    assert read(destination, "v1", "Secret", "creds", source_namespace) is not None


def test_clone_streams_an_export_into_an_import_without_a_file(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    create(
        source,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cloned", "namespace": source_namespace},
            "data": {"k": "v"},
        },
    )
    merged = tmp_path / "both.kubeconfig"
    merged.write_text(_merged_kubeconfig(source_cluster, destination_cluster))
    target = unique_name("cloned")
    result = run_kbundle(
        "clone",
        "--kubeconfig",
        str(merged),
        "--from-context",
        source_cluster.context,
        "--to-context",
        destination_cluster.context,
        "-n",
        source_namespace,
        "--map-namespace",
        f"{source_namespace}={target}",
    )
    assert result.returncode == 0, result.stderr.decode()
    copied = read(destination, "v1", "ConfigMap", "cloned", target)
    assert copied is not None and copied["data"] == {"k": "v"}
    assert list(tmp_path.iterdir()) == [merged]


def _merged_kubeconfig(*clusters: ClusterUnderTest) -> str:
    documents = [yaml.safe_load(c.kubeconfig.read_text()) for c in clusters]
    merged = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": clusters[0].context,
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    for document in documents:
        for key in ("clusters", "users", "contexts"):
            merged[key] += document[key]
    return yaml.safe_dump(merged)


# -- what real-world manifests throw at an importer ------------------------------------------


def _large_crd(group: str, fields: int) -> dict[str, Any]:
    """A CRD whose schema is as big as popular operators' (well over 256 KiB)."""
    properties = {
        f"setting{number:04d}": {
            "type": "object",
            "description": f"Setting {number}: " + "explains what the operator does. " * 4,
            "properties": {
                "enabled": {"type": "boolean"},
                "mode": {"type": "string", "enum": ["fast", "safe", "off"]},
                "limits": {
                    "type": "object",
                    "properties": {"cpu": {"type": "string"}, "memory": {"type": "string"}},
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
        for number in range(fields)
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"bigthings.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "bigthings", "singular": "bigthing", "kind": "BigThing"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "properties": properties}},
                        }
                    },
                }
            ],
        },
    }


def test_a_crd_larger_than_256_kib_and_its_resources_round_trip(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    group = f"{unique_name('big')}.example.org"
    crd = _large_crd(group, fields=700)
    assert len(json.dumps(crd)) > 256 * 1024
    create(source, crd)
    eventually(
        lambda: source.discovery(refresh=True).find(f"{group}/v1", "BigThing"),
        what="the large CRD to be served",
    )
    create(
        source,
        {
            "apiVersion": f"{group}/v1",
            "kind": "BigThing",
            "metadata": {"name": "one", "namespace": source_namespace},
            "spec": {"setting0001": {"enabled": True, "mode": "safe"}},
        },
    )
    bundle = tmp_path / "big.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)

    _, first = import_bundle(destination_cluster, bundle)
    assert actions(first)[f"CustomResourceDefinition//bigthings.{group}"] == "create"
    copied = read(destination, f"{group}/v1", "BigThing", "one", source_namespace)
    assert copied is not None and copied["spec"]["setting0001"]["mode"] == "safe"
    _, second = import_bundle(destination_cluster, bundle)
    assert set(actions(second).values()) == {"unchanged"}


def test_objects_server_side_apply_cannot_type_are_created_plainly_and_stay_idempotent(
    destination: Cluster, destination_cluster: ClusterUnderTest, tmp_path: Path
) -> None:
    namespace = unique_name("hand")
    service: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "no-protocol", "namespace": namespace},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]},
    }
    bundle = tmp_path / "hand-made.kbundle"
    write_bundle(
        bundle,
        [
            (
                1,
                "namespaces",
                [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}],
            ),
            (8, "services", [service]),
        ],
    )
    resource = destination.resource_for(service)
    create(
        destination,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"{namespace}-probe"}},
    )
    with pytest.raises(ApiError, match="omits key field"):  # 1.20 cannot type it for apply
        destination.apply(
            resource,
            {**service, "metadata": {**service["metadata"], "namespace": f"{namespace}-probe"}},
            field_manager="probe",
        )

    _, first = import_bundle(destination_cluster, bundle)
    assert actions(first)[f"Service/{namespace}/no-protocol"] == "create"
    live = read(destination, "v1", "Service", "no-protocol", namespace)
    assert live is not None and live["spec"]["ports"][0]["protocol"] == "TCP"
    _, second = import_bundle(destination_cluster, bundle)
    assert set(actions(second).values()) == {"unchanged"}
