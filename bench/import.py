"""Import benchmark: kbundle import against kubectl and the destination's ceiling, from one run.

Seeds N objects (ConfigMaps, Secrets, Deployments, Services across namespaces, with
``bench/export.py``'s ``seed()``) into a fresh local source cluster, exports it with
``kbundle export -A`` and stops the source. Then, each on a FRESH local destination cluster
(another service range, so Services lose their clusterIP as kbundle applies them), times:

- ``kbundle import BUNDLE``, then the same import again on the same cluster ("second import",
  nothing changed);
- ``kubectl apply -f DIR`` (client-side apply) of the same objects, one YAML file per bundle
  level, in level order;
- ``kubectl apply --server-side -f DIR``;
- the destination's ceiling: a minimal server-side-apply loop over raw HTTPS, 16 threads with
  one keep-alive connection each, level by level (discovery included in the time), then the
  same loop again on the now unchanged objects.

After every run each object of the bundle is looked up in the destination; a missing one
fails the benchmark. Times are printed with objects/s and as ratios to the ceiling, then the
targets: kbundle import <= 1.25 x ceiling, and second import >= 1.2x faster than the first.

Run: ``.venv/bin/python bench/import.py [--objects 5000] [--namespaces 10] [--parallel N]
[--bundle all.kbundle] [--skip-kbundle] [--keep]``
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
import zstandard
from export import KBUNDLE, run_kbundle_export, seed

from kbundle.cluster import Cluster, Discovery, open_cluster

# The test bed lives at the repository root and never ships in the wheel; run as
# `python bench/import.py`, this script has only bench/ on sys.path, so add the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testbed import Binaries, LocalCluster, locate

SOURCE_CIDR = "10.96.0.0/16"
DESTINATION_CIDR = "10.112.0.0/16"
THREADS = 16
APPLY_PATCH = "application/apply-patch+yaml"
SERVICE_ACCOUNT_RACE = re.compile(
    r'Error from server \(AlreadyExists\): error when creating ".*": '
    r'serviceaccounts "default" already exists'
)
Object = dict[str, Any]


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to; the message says what went wrong."""


@dataclass(frozen=True)
class Level:
    """One bundle level (``01-namespaces``) and its objects, in bundle order."""

    name: str
    objects: list[Object]


@dataclass(frozen=True)
class Row:
    """One line of the table: what ran, how long it took, and anything worth a note."""

    label: str
    seconds: float
    note: str = ""


# -- step 1: the bundle ------------------------------------------------------------------


def make_bundle(
    workdir: Path, binaries: Binaries, objects: int, namespaces: int, *, keep: bool
) -> Path:
    """Seed a fresh source cluster, export it with the real CLI, stop it."""
    with local_cluster(workdir, binaries, "source", SOURCE_CIDR, keep=keep) as cluster:
        api = open_cluster(str(cluster.kubeconfig), cluster.context)
        say(f"seeding {objects} objects in {namespaces} namespaces ...")
        started = time.perf_counter()
        seed(api, objects, namespaces)
        say(f"seeded in {time.perf_counter() - started:.1f}s; letting controllers settle ...")
        settle(api)
        bundle = workdir / "all.kbundle"
        seconds, _ = run_kbundle_export(cluster.kubeconfig, cluster.context, bundle)
        say(f"exported in {seconds:.1f}s to {bundle}")
    return bundle


def settle(api: Cluster, timeout: float = 300.0) -> None:
    """Wait until every Deployment has its ReplicaSet, then a little longer."""
    deployments = api.resource_for({"apiVersion": "apps/v1", "kind": "Deployment"})
    replica_sets = api.resource_for({"apiVersion": "apps/v1", "kind": "ReplicaSet"})
    deadline = time.monotonic() + timeout
    while len(api.list_objects(replica_sets)) < len(api.list_objects(deployments)):
        if time.monotonic() > deadline:
            raise BenchError(f"controllers did not settle within {timeout:.0f}s")
        time.sleep(2)
    time.sleep(5)


# -- step 2: the objects as kbundle applies them -------------------------------------------


def read_levels(bundle: Path) -> list[Level]:
    """The bundle's objects grouped by level folder, in member (= level) order."""
    levels: dict[str, list[Object]] = {}
    with bundle.open("rb") as compressed:
        data = zstandard.ZstdDecompressor().stream_reader(compressed).read()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if not member.name.startswith("objects/"):
                continue
            extracted = archive.extractfile(member)
            if extracted is None:
                raise BenchError(f"{bundle}: member {member.name} is not a file")
            level = member.name.split("/")[1]
            documents = yaml.safe_load_all(extracted.read())
            levels.setdefault(level, []).extend(as_applied(d) for d in documents if d)
    return [Level(name, objects) for name, objects in levels.items()]


def as_applied(obj: Object) -> Object:
    """The object as kbundle applies it: a Service's clusterIP belongs to the source's range."""
    spec = obj.get("spec")
    if obj["kind"] == "Service" and isinstance(spec, dict) and spec.get("clusterIP") != "None":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    return obj


def count(levels: list[Level]) -> int:
    return sum(len(level.objects) for level in levels)


# -- clusters ------------------------------------------------------------------------------


@contextmanager
def local_cluster(
    workdir: Path, binaries: Binaries, name: str, service_cidr: str, *, keep: bool
) -> Iterator[LocalCluster]:
    """A fresh local cluster, stopped afterwards (even on Ctrl-C); its folder is deleted
    unless ``keep``. Folder and cluster share the name, so ``python -m testbed up NAME
    --root WORKDIR/clusters`` restarts a kept one."""
    folder = workdir / "clusters" / name
    cluster: LocalCluster | None = None
    try:
        cluster = LocalCluster.provision(folder, binaries, name, service_cidr)
        cluster.start(tie_to_parent=True)
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def check_applied(cluster: LocalCluster, levels: list[Level], what: str) -> None:
    """Fail unless every object of the bundle exists in the destination."""
    wanted: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for level in levels:
        for obj in level.objects:
            meta = obj["metadata"]
            wanted[(obj["apiVersion"], obj["kind"])].add((meta.get("namespace", ""), meta["name"]))
    api = open_cluster(str(cluster.kubeconfig), cluster.context)
    missing: list[str] = []
    for (api_version, kind), names in wanted.items():
        resource = api.resource_for({"apiVersion": api_version, "kind": kind})
        present = {
            (o["metadata"].get("namespace", ""), o["metadata"]["name"])
            for o in api.list_objects(resource)
        }
        missing += [f"{kind} {ns}/{name}".replace(" /", " ") for ns, name in names - present]
    if missing:
        raise BenchError(
            f"{what}: {len(missing)} of {count(levels)} objects are missing in the destination, "
            f"e.g. {', '.join(sorted(missing)[:5])}"
        )


# -- 3a: kbundle import --------------------------------------------------------------------


def kbundle_import(cluster: LocalCluster, bundle: Path, parallel: int | None) -> float:
    command = [
        KBUNDLE,
        "import",
        str(bundle),
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--context",
        cluster.context,
        *(["--parallel", str(parallel)] if parallel is not None else []),
    ]
    return timed_command(command, "kbundle import")[0]


def timed_command(
    command: list[str], what: str, tolerated: re.Pattern[str] | None = None
) -> tuple[float, int]:
    """Seconds ``command`` took, and how many errors it reported that ``tolerated`` matches.

    The exit code must be 0, unless every error line the command printed is tolerated.
    """
    started = time.perf_counter()
    result = subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode == 0:
        return seconds, 0
    errors = [line for line in result.stderr.splitlines() if line.lower().startswith("error")]
    if tolerated is None or not errors or not all(tolerated.fullmatch(e) for e in errors):
        raise BenchError(f"{what} exited with {result.returncode}:\n{result.stderr[-3000:]}")
    return seconds, len(errors)


# -- 3b, 3c: kubectl apply -----------------------------------------------------------------


def write_manifests(levels: list[Level], folder: Path) -> Path:
    """One multi-document YAML file per level; sorted file names follow the level order."""
    folder.mkdir(parents=True)
    for level in levels:
        with (folder / f"{level.name}.yaml").open("w") as handle:
            yaml.safe_dump_all(level.objects, handle, sort_keys=False)
    return folder


def kubectl_apply(
    kubectl: Path, cluster: LocalCluster, folder: Path, *flags: str
) -> tuple[float, int]:
    """Seconds, and how many races with the ServiceAccount controller kubectl lost.

    Client-side apply GETs an object and POSTs it when absent; the destination's
    ServiceAccount controller creates each new namespace's ``default`` ServiceAccount in
    between now and then, and kubectl reports AlreadyExists (after applying everything else).
    """
    command = [
        str(kubectl),
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--context",
        cluster.context,
        "apply",
        *flags,
        "-f",
        str(folder),
    ]
    return timed_command(command, " ".join(["kubectl apply", *flags]), SERVICE_ACCOUNT_RACE)


# -- 3d: the raw server-side-apply ceiling -------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach an apiserver, read from a kubeconfig context."""

    host: str
    port: int
    token: str
    tls: ssl.SSLContext


def endpoint(kubeconfig: Path, context: str) -> Endpoint:
    config = yaml.safe_load(kubeconfig.read_text())
    chosen = named(config["contexts"], context)["context"]
    cluster = named(config["clusters"], chosen["cluster"])["cluster"]
    user = named(config["users"], chosen["user"])["user"]
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    server = urllib.parse.urlsplit(cluster["server"])
    if server.hostname is None:
        raise BenchError(f"{kubeconfig}: server {cluster['server']!r} has no host")
    return Endpoint(
        server.hostname, server.port or 443, user["token"], ssl.create_default_context(cadata=ca)
    )


def named(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for entry in entries:
        if entry["name"] == name:
            return entry
    raise BenchError(f"kubeconfig has no entry named {name!r}")


class RawApplier:
    """Server-side apply over one keep-alive HTTPS connection per worker thread."""

    def __init__(self, target: Endpoint) -> None:
        self.target = target
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPSConnection] = []

    def apply(self, request: tuple[str, bytes]) -> None:
        path, body = request
        connection = self._connection()
        connection.request(
            "PATCH",
            f"{path}?fieldManager=bench&force=true",
            body=body,
            headers={
                "Authorization": f"Bearer {self.target.token}",
                "Content-Type": APPLY_PATCH,
                "Accept": "application/json",
            },
        )
        response = connection.getresponse()
        payload = response.read()
        if response.status not in (200, 201):
            raise BenchError(f"PATCH {path}: {response.status} {payload[:500].decode()}")

    def close(self) -> None:
        for connection in self._connections:
            connection.close()

    def _connection(self) -> http.client.HTTPSConnection:
        connection: http.client.HTTPSConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPSConnection(
                self.target.host, self.target.port, context=self.target.tls, timeout=120
            )
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection


def raw_ssa(cluster: LocalCluster, levels: list[Level]) -> float:
    """Seconds for discovery plus every level applied concurrently, one level after another."""
    started = time.perf_counter()
    discovery = open_cluster(str(cluster.kubeconfig), cluster.context).discovery()
    applier = RawApplier(endpoint(cluster.kubeconfig, cluster.context))
    pool = ThreadPoolExecutor(THREADS)
    try:
        for level in levels:
            list(pool.map(applier.apply, [apply_request(discovery, o) for o in level.objects]))
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C, do not send what is still queued
        applier.close()
    return time.perf_counter() - started


def apply_request(discovery: Discovery, obj: Object) -> tuple[str, bytes]:
    """The object's URL path and its JSON body."""
    resource = discovery.find(obj["apiVersion"], obj["kind"])
    if resource is None:
        raise BenchError(f"{obj['kind']} {obj['apiVersion']} is not served by the destination")
    meta = obj["metadata"]
    return resource.path(meta.get("namespace"), meta["name"]), json.dumps(obj).encode()


# -- the runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What every measurement needs."""

    workdir: Path
    binaries: Binaries
    kubectl: Path
    bundle: Path
    levels: list[Level]
    manifests: Path
    parallel: int | None
    keep: bool

    @contextmanager
    def destination(self, name: str) -> Iterator[LocalCluster]:
        with local_cluster(
            self.workdir, self.binaries, name, DESTINATION_CIDR, keep=self.keep
        ) as cluster:
            yield cluster


def measure_kbundle(setup: Setup) -> list[Row]:
    with setup.destination("dest-kbundle") as cluster:
        say("kbundle import ...")
        first = kbundle_import(cluster, setup.bundle, setup.parallel)
        check_applied(cluster, setup.levels, "kbundle import")
        say("kbundle import again (nothing changed) ...")
        second = kbundle_import(cluster, setup.bundle, setup.parallel)
        check_applied(cluster, setup.levels, "second kbundle import")
    return [Row("kbundle import", first), Row("kbundle second import", second)]


def measure_kubectl(setup: Setup, label: str, name: str, *flags: str) -> list[Row]:
    with setup.destination(name) as cluster:
        say(f"{label} ...")
        seconds, races = kubectl_apply(setup.kubectl, cluster, setup.manifests, *flags)
        check_applied(cluster, setup.levels, label)
    note = (
        f"{label}: lost {races} race(s) with the ServiceAccount controller (AlreadyExists on a "
        "default ServiceAccount; exit code 1 accepted, every object is there)"
        if races
        else ""
    )
    return [Row(label, seconds, note)]


def measure_ceiling(setup: Setup) -> list[Row]:
    with setup.destination("dest-raw") as cluster:
        say(f"raw server-side apply, {THREADS} threads ...")
        first = raw_ssa(cluster, setup.levels)
        check_applied(cluster, setup.levels, "raw server-side apply")
        say("raw server-side apply again (objects unchanged) ...")
        again = raw_ssa(cluster, setup.levels)
        check_applied(cluster, setup.levels, "raw server-side apply, again")
    return [
        Row(f"raw SSA ceiling ({THREADS} threads)", first),
        Row("raw SSA re-apply, unchanged", again),
    ]


def measure_all(setup: Setup, *, skip_kbundle: bool) -> list[Row]:
    rows = [] if skip_kbundle else measure_kbundle(setup)
    rows += measure_kubectl(setup, "kubectl apply -f", "dest-kubectl-csa")
    rows += measure_kubectl(
        setup, "kubectl apply --server-side", "dest-kubectl-ssa", "--server-side"
    )
    return rows + measure_ceiling(setup)


# -- the report ----------------------------------------------------------------------------


def report(rows: list[Row], objects: int, binaries: Binaries) -> None:
    by_label = {row.label: row.seconds for row in rows}
    ceiling = by_label[f"raw SSA ceiling ({THREADS} threads)"]
    print()
    print(f"{'':32} {'seconds':>9} {'objects/s':>10} {'x ceiling':>10}")
    for row in rows:
        print(
            f"{row.label:32} {row.seconds:9.2f} {objects / row.seconds:10.0f} "
            f"{row.seconds / ceiling:10.2f}"
        )
    for row in rows:
        if row.note:
            print(f"note: {row.note}")
    print()
    if "kbundle import" in by_label:
        first, second = by_label["kbundle import"], by_label["kbundle second import"]
        verdict(
            f"kbundle import <= 1.25 x ceiling: {first / ceiling:.2f}x", first <= 1.25 * ceiling
        )
        verdict(
            f"second import >= 1.2x faster than first: {first / second:.2f}x", first >= 1.2 * second
        )
        speedup = by_label["kubectl apply -f"] / first
        print(f"kbundle import vs kubectl apply -f: {speedup:.1f}x faster")
    else:
        print("targets: not measured (--skip-kbundle)")
    print(
        f"\nmachine: {os.cpu_count()} cores; Kubernetes v{binaries.version_text} local control "
        f"planes (kubectl {binaries.version_text}); N = {objects} objects from the bundle"
    )


def verdict(target: str, passed: bool) -> None:
    print(f"target: {target:58} {'PASS' if passed else 'FAIL'}")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000, help="objects to seed")
    parser.add_argument("--namespaces", type=int, default=10, help="namespaces to seed")
    parser.add_argument("--parallel", type=int, help="passed to kbundle import as --parallel")
    parser.add_argument("--bundle", type=Path, help="reuse this bundle; skips seeding/export")
    parser.add_argument("--skip-kbundle", action="store_true", help="measure baselines only")
    parser.add_argument("--keep", action="store_true", help="keep the clusters' folders")
    return parser.parse_args()


def run(args: argparse.Namespace, workdir: Path) -> None:
    binaries = locate(build_if_missing=True)
    if binaries.kubectl is None:
        raise BenchError("the benchmark needs the kubectl built with the local control plane")
    bundle = args.bundle or make_bundle(
        workdir, binaries, args.objects, args.namespaces, keep=args.keep
    )
    levels = read_levels(bundle.resolve())
    names = ", ".join(level.name for level in levels)
    say(f"{count(levels)} objects in {len(levels)} levels: {names}")
    setup = Setup(
        workdir=workdir,
        binaries=binaries,
        kubectl=binaries.kubectl,
        bundle=bundle.resolve(),
        levels=levels,
        manifests=write_manifests(levels, workdir / "manifests"),
        parallel=args.parallel,
        keep=args.keep,
    )
    rows = measure_all(setup, skip_kbundle=args.skip_kbundle)
    report(rows, count(levels), binaries)


def interrupt(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every cluster is stopped and its folder removed."""
    raise KeyboardInterrupt


def run_in_workdir(
    name: str, body: Callable[[Path], None], *, keep: bool = False, kept: str = ""
) -> None:
    """Run ``body`` in a fresh work folder ``kbundle-bench-NAME-*``, removed afterwards
    unless ``keep`` (then ``kept`` is said, with ``{workdir}`` and ``{clusters}`` filled
    in). SIGTERM unwinds like Ctrl-C, so every cluster is stopped; a BenchError or an
    interrupt ends the benchmark with one line."""
    signal.signal(signal.SIGTERM, interrupt)
    prefix = f"kbundle-bench-{name}-"
    try:
        if keep:
            workdir = Path(tempfile.mkdtemp(prefix=prefix))
            say(kept.format(workdir=workdir, clusters=workdir / "clusters"))
            body(workdir)
        else:
            with tempfile.TemporaryDirectory(prefix=prefix) as work:
                body(Path(work))
    except BenchError as error:
        sys.exit(f"benchmark failed: {error}")
    except KeyboardInterrupt:
        sys.exit("interrupted; every cluster started was stopped")


def main() -> None:
    args = parse_args()
    run_in_workdir(
        "import",
        lambda workdir: run(args, workdir),
        keep=args.keep,
        kept="--keep: everything stays in {workdir}; restart a stopped cluster with "
        "python -m testbed up NAME --root {clusters}",
    )


if __name__ == "__main__":
    main()
