"""Faults during `kbundle import` and `export` between two real clusters: the destination's
etcd going away, an apiserver that throttles (429) or gives up on etcd (504), a user whose
rights cover one namespace only, and Ctrl-C. Every outcome is read back from the real
clusters (kubectl, the apiserver's own metrics), never from kbundle alone.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kbundle.cluster import Cluster
from kbundle.core.errors import ExitCode
from testbed import ClusterUnderTest
from tests.cli import KBUNDLE, export, on
from tests.kube import create, eventually, list_of, meta, read, unique_name
from tests.oracles import kubectl, open_bundle

RBAC = "rbac.authorization.k8s.io/v1"
CONFIG_MAPS = 400
NO_FAULTS = "existing clusters are never stopped or reconfigured by the tests"
# Ctrl-C must end a run within this many seconds: generous, yet far below what the
# interrupted work would take (the rest of a level, or a 120 s retry timeout).
PROMPTLY = 10.0
# The classic max-inflight filter answers 429 at once (1.20's priority and fairness would queue
# instead). It exempts system:masters, so throttled imports run as an ordinary user.
THROTTLED = (
    "--max-requests-inflight=1",
    "--max-mutating-requests-inflight=1",
    "--enable-priority-and-fairness=false",
)


# -- shared objects and helpers --------------------------------------------------------------


def fill_config_maps(cluster: Cluster, namespace: str, count: int, size: int = 16) -> None:
    """``count`` ConfigMaps c0000... in ``namespace``, created concurrently (admin client)."""

    def one(number: int) -> None:
        create(
            cluster,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta(f"c{number:04d}", namespace),
                "data": {"n": f"{number:0{size}d}"},
            },
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(count)))


@dataclass(frozen=True)
class ManyConfigMaps:
    """A bundle of CONFIG_MAPS ConfigMaps in one source namespace."""

    bundle: Path
    namespace: str

    @property
    def names(self) -> list[str]:
        return [f"c{n:04d}" for n in range(CONFIG_MAPS)]


@pytest.fixture(scope="module")
def many(
    source: Cluster, source_cluster: ClusterUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> ManyConfigMaps:
    """Exported once; each test imports it into a fresh destination namespace."""
    namespace = unique_name("many")
    create(source, {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(namespace)})
    fill_config_maps(source, namespace, CONFIG_MAPS)
    bundle = tmp_path_factory.mktemp("faults") / "many.kbundle"
    export(source_cluster, bundle, "-n", namespace)
    return ManyConfigMaps(bundle, namespace)


@dataclass(frozen=True)
class ImportCommand:
    """One `kbundle import` command line, run as often as a test needs, the same each time."""

    args: list[str]
    report: Path

    @contextmanager
    def started(self) -> Iterator[subprocess.Popen[bytes]]:
        """The command running in the background; killed if the test leaves it running."""
        with subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as running:
            try:
                yield running
            finally:
                if running.poll() is None:
                    running.kill()

    def run(self) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(self.args, capture_output=True, check=False, timeout=300)

    def outcomes(self) -> dict[str, dict[str, Any]]:
        """The last run's report, by kind/namespace/name."""
        records = json.loads(self.report.read_text())["objects"]
        return {f"{o['kind']}/{o['namespace'] or ''}/{o['name']}": o for o in records}


def import_command(
    bundle: Path, connection: list[str], tmp_path: Path, *args: str
) -> ImportCommand:
    report = tmp_path / "import.report.json"
    return ImportCommand(
        [KBUNDLE, "import", str(bundle), *connection, "--report", str(report), *args], report
    )


def many_into(
    many: ManyConfigMaps, cluster: ClusterUnderTest, tmp_path: Path, *args: str
) -> tuple[ImportCommand, str]:
    """The import of ``many`` into a new destination namespace, and that namespace."""
    target = unique_name("to")
    command = import_command(
        many.bundle, on(cluster), tmp_path, "--map-namespace", f"{many.namespace}={target}", *args
    )
    return command, target


def landed(cluster: Cluster, namespace: str) -> int:
    """ConfigMaps of the bundle in the destination so far (for deciding when to strike)."""
    return sum(
        c["metadata"]["name"] != "kube-root-ca.crt"
        for c in list_of(cluster, "v1", "ConfigMap", namespace)
    )


def config_map_names(cluster: ClusterUnderTest, namespace: str) -> list[str]:
    """Every ConfigMap name in ``namespace`` as kubectl lists it, duplicates included."""
    listed = json.loads(kubectl(cluster, "get", "configmaps", "-n", namespace, "-o", "json"))
    return sorted(
        item["metadata"]["name"]
        for item in listed["items"]
        if item["metadata"]["name"] != "kube-root-ca.crt"
    )


def names_once_etcd_answers(cluster: ClusterUnderTest, namespace: str) -> list[str]:
    """``config_map_names`` once the apiserver reads etcd again: just after etcd restarts,
    an apiserver started with --request-timeout=1s may still time a list out."""

    def listed() -> list[str] | None:
        try:
            return config_map_names(cluster, namespace)
        except AssertionError as error:
            if "(Timeout)" in str(error):
                return None
            raise

    return eventually(listed, what="the apiserver to read etcd again")


def assert_clean_failure(stderr: bytes) -> None:
    assert b"Traceback" not in stderr, stderr.decode()


def config_map_actions(command: ImportCommand) -> set[str]:
    return {o["action"] for o in command.outcomes().values() if o["kind"] == "ConfigMap"}


def service_account_kubeconfig(
    cluster: Cluster,
    cluster_under_test: ClusterUnderTest,
    path: Path,
    namespace: str,
    *,
    cluster_role: str,
    everywhere: bool,
) -> list[str]:
    """A ServiceAccount in ``namespace`` bound to ``cluster_role`` (in that namespace only,
    or cluster-wide), and kbundle's flags for a kubeconfig holding its token."""
    account = "importer"
    create(
        cluster,
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(account, namespace)},
    )
    subjects = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    role = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role}
    if everywhere:
        binding = {"kind": "ClusterRoleBinding", "metadata": meta(f"{namespace}-{account}")}
    else:
        binding = {"kind": "RoleBinding", "metadata": meta(account, namespace)}
    create(cluster, {"apiVersion": RBAC, **binding, "subjects": subjects, "roleRef": role})
    # A token Secret made by hand is filled in by the token controller on every version
    # (from 1.24 on, none is made automatically).
    create(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": meta(
                f"{account}-token",
                namespace,
                annotations={"kubernetes.io/service-account.name": account},
            ),
        },
    )

    def token() -> str | None:
        secret = read(cluster, "v1", "Secret", f"{account}-token", namespace) or {}
        encoded = (secret.get("data") or {}).get("token")
        return base64.b64decode(encoded).decode() if encoded else None

    bearer = eventually(token, timeout=60, what="the ServiceAccount's token")
    admin = yaml.safe_load(cluster_under_test.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == cluster_under_test.context)
    server = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [server],
                "users": [{"name": account, "user": {"token": bearer}}],
                "contexts": [
                    {"name": "importer", "context": {"cluster": server["name"], "user": account}}
                ],
                "current-context": "importer",
            }
        )
    )
    path.chmod(0o600)
    return ["--kubeconfig", str(path), "--context", "importer"]


@pytest.fixture()
def restore_apiserver(destination_cluster: ClusterUnderTest) -> Iterator[None]:
    """For tests that restart the shared destination's apiserver with test flags: whatever
    happens, it runs with its usual flags (and etcd runs) again afterwards."""
    if not destination_cluster.can_inject_faults:
        pytest.skip(NO_FAULTS)
    try:
        yield
    finally:
        destination_cluster.start_component("etcd")  # no-op when running
        destination_cluster.restart_component("apiserver")


# -- a user with rights in one namespace only --------------------------------------------------


@dataclass(frozen=True)
class TwoNamespaces:
    """Source namespaces ``a`` and ``b`` (three ConfigMaps and a claim each), the claims using
    StorageClass ``storage_class``, so that an export brings that cluster-scoped object too."""

    a: str
    b: str
    storage_class: str


@pytest.fixture(scope="module")
def two_namespaces(source: Cluster) -> TwoNamespaces:
    found = TwoNamespaces(unique_name("a"), unique_name("b"), unique_name("slow"))
    create(
        source,
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": meta(found.storage_class),
            "provisioner": "kubernetes.io/no-provisioner",
        },
    )
    for namespace in (found.a, found.b):
        create(source, {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(namespace)})
        fill_config_maps(source, namespace, 3)
        create(
            source,
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": meta("data", namespace),
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": found.storage_class,
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        )
    return found


@pytest.mark.parametrize(
    "cluster_resources",
    [
        pytest.param("auto", id="with-namespaces-and-storage-class"),
        pytest.param("false", id="namespaced-objects-only"),
    ],
)
def test_a_user_with_rights_in_one_namespace_imports_it_and_each_other_object_is_forbidden(
    two_namespaces: TwoNamespaces,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    cluster_resources: str,
    tmp_path: Path,
) -> None:
    """The user may use namespace A (the built-in ``admin`` role there) and nothing else: not
    read namespaces, not B, not cluster-scoped objects. What it may not even read to check
    (namespaces) does not stop the import; every object outside A fails on its own as
    forbidden, in the report too, and everything in A lands."""
    bundle = tmp_path / "two.kbundle"
    export(
        source_cluster,
        bundle,
        "-n",
        two_namespaces.a,
        "-n",
        two_namespaces.b,
        f"--include-cluster-resources={cluster_resources}",
    )
    a, b = unique_name("a"), unique_name("b")
    for namespace in (a, b):
        create(destination, {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(namespace)})
    user = service_account_kubeconfig(
        destination,
        destination_cluster,
        tmp_path / "a-only.kubeconfig",
        a,
        cluster_role="admin",
        everywhere=False,
    )
    command = import_command(
        bundle,
        user,
        tmp_path,
        "--map-namespace",
        f"{two_namespaces.a}={a}",
        "--map-namespace",
        f"{two_namespaces.b}={b}",
    )
    result = command.run()

    assert result.returncode == ExitCode.PARTIAL, result.stderr.decode()
    assert_clean_failure(result.stderr)
    assert b"failed: " in result.stderr and b"is forbidden" in result.stderr
    renamed = {two_namespaces.a: a, two_namespaces.b: b}
    expected = {}
    for obj in open_bundle(bundle).objects():
        namespace = renamed.get(obj["metadata"].get("namespace", ""), "")
        name = renamed.get(obj["metadata"]["name"], obj["metadata"]["name"])
        expected[f"{obj['kind']}/{namespace}/{name}"] = namespace == a or (
            obj["kind"] == "Namespace" and name == a
        )
    outcomes = command.outcomes()
    assert set(outcomes) == set(expected)
    for key, allowed in expected.items():
        outcome = outcomes[key]
        if allowed:
            assert outcome["action"] in {"create", "unchanged", "update"}, (key, outcome)
        else:
            assert outcome["action"] == "fail", (key, outcome)
            assert outcome["message"].startswith("403 Forbidden: "), (key, outcome)
            assert "is forbidden: User" in outcome["message"], (key, outcome)
    if cluster_resources == "auto":
        assert f"StorageClass//{two_namespaces.storage_class}" in expected
        assert f"Namespace//{b}" in expected
    assert config_map_names(destination_cluster, a) == ["c0000", "c0001", "c0002"]
    assert read(destination, "v1", "PersistentVolumeClaim", "data", a) is not None
    assert config_map_names(destination_cluster, b) == []
    assert read(destination, "v1", "PersistentVolumeClaim", "data", b) is None
    storage_class = read(
        destination, "storage.k8s.io/v1", "StorageClass", two_namespaces.storage_class
    )
    assert storage_class is None


# -- Ctrl-C ----------------------------------------------------------------------------------


def test_ctrl_c_during_an_export_leaves_no_bundle_and_no_temporary_files(
    source: Cluster, source_cluster: ClusterUnderTest, tmp_path: Path
) -> None:
    """Exit 130, nothing at the target (no bundle, no partial file), TMPDIR empty."""
    namespace = unique_name("big")
    create(source, {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(namespace)})
    fill_config_maps(source, namespace, 1500, size=3000)  # about a second of export work
    private_tmp, output = tmp_path / "tmp", tmp_path / "out"
    private_tmp.mkdir()
    output.mkdir()
    args = [KBUNDLE, "export", *on(source_cluster), "-o", str(output / "big.kbundle")]
    with subprocess.Popen(
        [*args, "-n", namespace],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(private_tmp)},
    ) as running:
        deadline = time.monotonic() + 60
        # Strike the instant the work folder appears: the folder is created inside the
        # try/finally that removes it (tempfile.TemporaryDirectory left it behind about
        # 1 run in 30, when the interrupt fell between its mkdir and its cleanup).
        while not any(private_tmp.glob("kbundle-export-*")):
            assert running.poll() is None, "the export ended before its work had begun"
            assert time.monotonic() < deadline, "the export never began its work"
            time.sleep(0.005)
        running.send_signal(signal.SIGINT)
        _, stderr = running.communicate(timeout=60)
    assert running.returncode == 130, stderr.decode()
    assert_clean_failure(stderr)
    assert list(output.iterdir()) == []  # no bundle, no partial file
    assert list(private_tmp.iterdir()) == []


def test_ctrl_c_during_an_import_stops_it_within_the_level_and_the_same_command_finishes_it(
    many: ManyConfigMaps,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    tmp_path: Path,
) -> None:
    """The objects of the level not yet sent are dropped: the run ends promptly with 130,
    part of the level in place, and the same command completes it."""
    command, target = many_into(many, destination_cluster, tmp_path, "--parallel", "2")
    with command.started() as running:
        eventually(lambda: landed(destination, target) >= 20, what="the import to be under way")
        running.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        _, stderr = running.communicate(timeout=60)
        took = time.monotonic() - interrupted
    assert running.returncode == 130, stderr.decode()
    assert_clean_failure(stderr)
    assert took < PROMPTLY
    assert 20 <= len(config_map_names(destination_cluster, target)) < CONFIG_MAPS

    again = command.run()
    assert again.returncode == 0, again.stderr.decode()
    assert config_map_names(destination_cluster, target) == many.names


# -- a throttling destination ----------------------------------------------------------------


def throttled_applies(cluster: ClusterUnderTest) -> int:
    """ConfigMap applies the apiserver turned away with 429, by its own /metrics (admin)."""
    total = 0
    for line in kubectl(cluster, "get", "--raw", "/metrics").splitlines():
        if line.startswith("apiserver_request_terminations_total{") and all(
            label in line for label in ('code="429"', 'resource="configmaps"', 'verb="APPLY"')
        ):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def import_as_ordinary_user(
    many: ManyConfigMaps,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    tmp_path: Path,
    prefix: str,
) -> tuple[ImportCommand, str]:
    """``many`` into a new namespace with --parallel 16 and -v, as a ServiceAccount bound to
    cluster-admin: system:masters is never throttled, an ordinary user is."""
    home = unique_name("importer")
    create(destination, {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(home)})
    importer = service_account_kubeconfig(
        destination,
        destination_cluster,
        tmp_path / "importer.kubeconfig",
        home,
        cluster_role="cluster-admin",
        everywhere=True,
    )
    target = unique_name(prefix)
    command = import_command(
        many.bundle,
        importer,
        tmp_path,
        "--map-namespace",
        f"{many.namespace}={target}",
        "--parallel",
        "16",
        "-v",
    )
    return command, target


def test_an_import_throttled_with_429_finishes_through_retries(
    many: ManyConfigMaps,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    restore_apiserver: None,
    tmp_path: Path,
) -> None:
    """The apiserver lets one request in at a time and turns the rest away with 429 and
    Retry-After; sixteen workers still land every object. The apiserver's own counters prove
    the 429s happened (as an ordinary user: system:masters is never throttled)."""
    command, target = import_as_ordinary_user(
        many, destination, destination_cluster, tmp_path, "to"
    )
    destination_cluster.restart_component("apiserver", THROTTLED)
    before = throttled_applies(destination_cluster)
    result = command.run()
    after = throttled_applies(destination_cluster)

    assert result.returncode == 0, result.stderr.decode()
    assert after > before, "the apiserver never answered 429: the test proved nothing"
    # -v tells the user why the import is slow: each 429, the wait, the attempt
    assert b"429 from the apiserver, sending again in" in result.stderr
    assert config_map_actions(command) == {"create"}
    assert config_map_names(destination_cluster, target) == many.names


SMALL_DESTINATION = (
    "--max-requests-inflight=2",
    "--max-mutating-requests-inflight=1",
    "--enable-priority-and-fairness=false",  # the classic limits answer 429 at once
)


def test_an_import_into_a_small_apiserver_slows_to_its_pace_and_finishes_without_failures(
    many: ManyConfigMaps,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    restore_apiserver: None,
    tmp_path: Path,
) -> None:
    """An apiserver that takes two requests at a time: --parallel 16 is only the ceiling, the
    import halves its pace at the 429s (and says so with -v), and every object lands."""
    command, target = import_as_ordinary_user(
        many, destination, destination_cluster, tmp_path, "small"
    )
    destination_cluster.restart_component("apiserver", SMALL_DESTINATION)
    result = command.run()

    assert result.returncode == 0, result.stderr.decode()
    assert re.search(rb"429 \(too many requests\): \d+ objects at once, was 16", result.stderr)
    assert config_map_actions(command) == {"create"}
    assert config_map_names(destination_cluster, target) == many.names


# -- etcd of the destination goes away ---------------------------------------------------------


def test_an_import_waits_out_a_short_etcd_outage_and_finishes_on_its_own(
    many: ManyConfigMaps,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    tmp_path: Path,
) -> None:
    """The apiserver holds requests while etcd is away (up to its 60 s request timeout), so
    a short outage only pauses the import: the first run completes, nothing fails."""
    if not destination_cluster.can_inject_faults:
        pytest.skip(NO_FAULTS)
    command, target = many_into(many, destination_cluster, tmp_path, "--parallel", "2")
    with command.started() as running:
        eventually(lambda: landed(destination, target) >= 40, what="the import to be under way")
        destination_cluster.stop_component("etcd")
        try:
            time.sleep(2)  # the outage
            assert running.poll() is None, "the import ended while etcd was down"
        finally:
            destination_cluster.start_component("etcd")
        _, stderr = running.communicate(timeout=120)
    assert running.returncode == 0, stderr.decode()
    assert config_map_actions(command) == {"create"}
    assert config_map_names(destination_cluster, target) == many.names

    again = command.run()
    assert again.returncode == 0, again.stderr.decode()
    assert config_map_actions(command) == {"unchanged"}
    assert config_map_names(destination_cluster, target) == many.names


def test_an_import_stops_when_the_apiserver_only_times_out_and_the_same_command_finishes_it(
    many: ManyConfigMaps,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    restore_apiserver: None,
    tmp_path: Path,
) -> None:
    """An apiserver that gives up on a dead etcd answers 504 (here after 1 s instead of 60 s).
    Those answers count as an outage shared by all workers: after --retry-timeout the import
    stops, says so, and leaves the rest for the re-run (not one retry timeout per object)."""
    destination_cluster.restart_component("apiserver", ["--request-timeout=1s"])
    command, target = many_into(
        many, destination_cluster, tmp_path, "--parallel", "2", "--retry-timeout", "2", "-v"
    )
    with command.started() as running:
        eventually(lambda: landed(destination, target) >= 40, what="the import to be under way")
        destination_cluster.stop_component("etcd")
        try:
            _, stderr = running.communicate(timeout=60)  # ends while etcd is still down
        finally:
            destination_cluster.start_component("etcd")
    assert running.returncode == ExitCode.PARTIAL, stderr.decode()
    assert_clean_failure(stderr)
    assert b"did not answer for 2s" in stderr and b"504" in stderr
    assert b"re-run the same command" in stderr
    assert b"INFO  kbundle.cluster.retry: retrying in " in stderr  # -v: each retry and why
    report = json.loads(command.report.read_text())
    assert "did not answer" in report["aborted"]
    failures = [o for o in command.outcomes().values() if o["action"] == "fail"]
    assert failures and all(
        "504" in o["message"] or o["message"].startswith("not attempted") for o in failures
    )
    first = names_once_etcd_answers(destination_cluster, target)
    assert 40 <= len(first) < CONFIG_MAPS

    again = command.run()
    assert again.returncode == 0, again.stderr.decode()
    assert config_map_names(destination_cluster, target) == many.names


# -- Ctrl-C while the destination is stuck ---------------------------------------------------


@pytest.mark.parametrize(
    "component",
    [
        pytest.param("apiserver", id="apiserver-down-workers-retrying"),
        pytest.param("etcd", id="etcd-down-requests-hanging"),
    ],
)
def test_ctrl_c_while_the_destination_is_stuck_stops_the_import_at_once(
    many: ManyConfigMaps,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    component: str,
    tmp_path: Path,
) -> None:
    """Neither workers waiting to retry (for up to --retry-timeout, 120 s by default) nor
    requests the apiserver holds while etcd is away (up to a minute) keep the import alive
    after Ctrl-C; the same command finishes the job afterwards."""
    if not destination_cluster.can_inject_faults:
        pytest.skip(NO_FAULTS)
    command, target = many_into(many, destination_cluster, tmp_path, "--parallel", "2")
    with command.started() as running:
        eventually(lambda: landed(destination, target) >= 20, what="the import to be under way")
        destination_cluster.stop_component(component)
        try:
            time.sleep(1)
            assert running.poll() is None, f"the import ended while {component} was down"
            running.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            _, stderr = running.communicate(timeout=90)
            took = time.monotonic() - interrupted
        finally:
            destination_cluster.start_component(component)
    assert running.returncode == 130, stderr.decode()
    assert_clean_failure(stderr)
    assert took < PROMPTLY

    again = command.run()
    assert again.returncode == 0, again.stderr.decode()
    assert config_map_names(destination_cluster, target) == many.names
