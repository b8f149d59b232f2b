"""Export benchmark: kbundle against what users run today, side by side, from one run.

Seeds N objects (ConfigMaps, Secrets, Deployments, Services across namespaces) into a fresh
local source cluster, then measures:
- throughput of ``kbundle export -A`` against the kubectl shell loop
  (``kubectl api-resources --verbs=list --namespaced -o name | xargs -n1 kubectl get -n NS
  -o yaml``, per namespace);
- bundle size against a gzip tar of one JSON file per object (Velero's layout) holding the
  same objects as the server returns them;
- peak memory of the export.
Figures are printed as ratios to the baseline; absolute times vary with the machine.

Run: ``.venv/bin/python bench/export.py [--objects 5000] [--namespaces 10]``
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
import zstandard

from kbundle.cluster import Cluster, open_cluster

# The test bed lives at the repository root and never ships in the wheel; run as
# `python bench/export.py`, this script has only bench/ on sys.path, so add the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testbed import LocalCluster, locate

KBUNDLE = str(Path(sys.executable).parent / "kbundle")
MIX = (("ConfigMap", 0.4), ("Secret", 0.3), ("Deployment", 0.15), ("Service", 0.15))


def seed_object(kind: str, namespace: str, number: int) -> dict[str, Any]:
    name = f"{kind.lower()}-{number:05d}"
    labels = {"app": f"app-{number % 50}", "tier": ("web", "api", "db")[number % 3]}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    if kind == "ConfigMap":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "data": {
                "settings.yaml": f"replicas: {number % 7}\nregion: eu-{number % 3}\n",
                "LOG_LEVEL": "info",
            },
        }
    if kind == "Secret":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "type": "Opaque",
            "stringData": {"password": f"pw-{number:05d}-{number * 7919 % 100000:05d}"},
        }
    if kind == "Service":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "spec": {
                "selector": labels,
                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            },
        }
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": meta,
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"bench": name}},
            "template": {
                "metadata": {"labels": {**labels, "bench": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example/app:{number % 9}",
                            "envFrom": [
                                {
                                    "configMapRef": {
                                        "name": f"configmap-{number:05d}",
                                        "optional": True,
                                    }
                                }
                            ],
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        }
                    ]
                },
            },
        },
    }


def seed(
    cluster: Cluster, objects: int, namespaces: int, mix: tuple[tuple[str, float], ...] = MIX
) -> list[str]:
    names = [f"bench-{i:02d}" for i in range(namespaces)]
    core = cluster.resource_for({"apiVersion": "v1", "kind": "Namespace"})
    for name in names:
        cluster.create(
            core,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            field_manager="bench",
        )
    plan = []
    for kind, share in mix:
        plan += [(kind, names[n % namespaces], n) for n in range(int(objects * share))]

    def create(item: tuple[str, str, int]) -> None:
        obj = seed_object(*item)
        for attempt in range(20):
            try:
                cluster.create(cluster.resource_for(obj), obj, field_manager="bench")
                return
            except Exception:
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"could not create {item}")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, plan))
    return names


def run_kbundle_export(kubeconfig: Path, context: str, target: Path) -> tuple[float, int]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            KBUNDLE,
            "export",
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            context,
            "-A",
            "-o",
            str(target),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib


def run_shell_loop(
    kubectl: str, kubeconfig: Path, context: str, namespaces: list[str], out: Path
) -> float:
    base = f"{kubectl} --kubeconfig {kubeconfig} --context {context}"
    started = time.perf_counter()
    for namespace in namespaces:
        script = (
            f"{base} api-resources --verbs=list --namespaced -o name | "
            f"xargs -n1 {base} get -n {namespace} -o yaml > {out / namespace}.yaml"
        )
        subprocess.run(["bash", "-c", script], check=True, capture_output=True)
    return time.perf_counter() - started


def velero_layout_size(cluster: Cluster, bundle: Path) -> int:
    """gzip tar of one JSON file per object, as the server returns it, for the same objects."""
    wanted = set()
    data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(bundle.read_bytes())).read()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if member.name.startswith("objects/"):
                extracted = archive.extractfile(member)
                assert extracted is not None
                for doc in yaml.safe_load_all(extracted.read()):
                    if doc:
                        meta = doc["metadata"]
                        wanted.add((doc["kind"], meta.get("namespace", ""), meta["name"]))
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w") as archive,
    ):
        for resource_type in cluster.discovery().preferred:
            if not resource_type.listable:
                continue
            for obj in cluster.list_objects(resource_type):
                meta = obj["metadata"]
                if (obj["kind"], meta.get("namespace", ""), meta["name"]) not in wanted:
                    continue
                where = f"namespaces/{meta['namespace']}/" if meta.get("namespace") else ""
                payload = json.dumps(obj).encode()
                info = tarfile.TarInfo(
                    f"resources/{resource_type.group_resource}/{where}{meta['name']}.json"
                )
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
    return len(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--namespaces", type=int, default=10)
    args = parser.parse_args()

    binaries = locate(build_if_missing=True)
    if binaries.kubectl is None:
        sys.exit("the benchmark needs the kubectl built with the local control plane")
    with tempfile.TemporaryDirectory(prefix="kbundle-bench-") as work:
        root = Path(work)
        cluster = LocalCluster.provision(root / "source", binaries, "bench-source")
        cluster.start(tie_to_parent=True)
        try:
            api = open_cluster(str(cluster.kubeconfig), cluster.context)
            print(f"seeding {args.objects} objects in {args.namespaces} namespaces ...", flush=True)
            started = time.perf_counter()
            namespaces = seed(api, args.objects, args.namespaces)
            print(
                f"seeded in {time.perf_counter() - started:.1f}s; letting controllers settle ...",
                flush=True,
            )
            time.sleep(10)

            bundle = root / "all.kbundle"
            kbundle_seconds, peak_kib = run_kbundle_export(
                cluster.kubeconfig, cluster.context, bundle
            )
            loop_dir = root / "loop"
            loop_dir.mkdir()
            loop_seconds = run_shell_loop(
                str(binaries.kubectl), cluster.kubeconfig, cluster.context, namespaces, loop_dir
            )
            bundle_size = bundle.stat().st_size
            velero_size = velero_layout_size(api, bundle)
        finally:
            cluster.stop()

    rate, loop_rate = args.objects / kbundle_seconds, args.objects / loop_seconds
    print()
    print(f"{'':34} {'kbundle':>12} {'baseline':>12} {'ratio':>8}  target")
    print(
        f"{'export throughput (objects/s)':34} {rate:12.0f} {loop_rate:12.0f} "
        f"{rate / loop_rate:7.1f}x  >= 10x (baseline: kubectl shell loop)"
    )
    print(f"{'  wall time (s)':34} {kbundle_seconds:12.2f} {loop_seconds:12.2f}")
    print(
        f"{'bundle size (KiB)':34} {bundle_size / 1024:12.1f} {velero_size / 1024:12.1f} "
        f"{bundle_size / velero_size:7.2f}x  <= 0.20x (baseline: JSON per object, tar.gz)"
    )
    print(f"{'peak memory of kbundle (MiB)':34} {peak_kib / 1024:12.0f}")
    print(
        f"\nmachine: {os.cpu_count()} cores; Kubernetes v{binaries.version_text} local "
        f"control plane; {args.objects} seeded objects in {args.namespaces} namespaces"
    )


if __name__ == "__main__":
    main()
