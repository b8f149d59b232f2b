"""``make demo``: the main job end to end on two local clusters.

Two clusters come up, the sample app is loaded into the source, exported to one bundle,
the source is stopped, and the bundle is imported into the destination under a new
namespace.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kbundle.cluster import Cluster, open_cluster
from kbundle.core.errors import KbundleError
from testbed.clusters import bring_up
from testbed.fixture_loader import load_sample_app
from testbed.paths import cache_root

console = Console()


def demo_root() -> Path:
    return cache_root() / "demo"


def run_demo(root: Path | None = None) -> None:
    root = root or demo_root()
    console.rule("1. two independent local clusters")
    clusters = bring_up(root)
    for cluster in clusters.values():
        console.print(
            f"  {cluster.context}: {cluster.server}, service CIDR {cluster.state.service_cidr}"
        )
    kubeconfig = root / "kubeconfig"

    console.rule("2. the sample app goes into the source cluster")
    source = open_cluster(str(kubeconfig), clusters["source"].context)
    stored = load_sample_app(source)
    table = Table("kind", "objects")
    for kind, count in sorted(Counter(o["kind"] for o in stored).items()):
        table.add_row(kind, str(count))
    console.print(table)
    console.print(f"  {len(stored)} objects loaded into {clusters['source'].context}")

    console.rule("3. export the app into one bundle, and verify it offline")
    bundle = root / "shop.kbundle"
    kbundle = [sys.executable, "-m", "kbundle"]
    _run(
        [
            *kbundle,
            "export",
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            clusters["source"].context,
            "-n",
            "shop",
            "-n",
            "shop-ops",
            "-o",
            str(bundle),
        ]
    )
    _run([*kbundle, "verify", str(bundle)])
    _run([*kbundle, "inspect", str(bundle)])

    console.rule("4. the source cluster goes away")
    clusters["source"].stop()
    console.print(f"  {clusters['source'].context} stopped; the bundle is the only link left")

    console.rule("5. import into the destination under a new namespace")
    destination_context = clusters["destination"].context
    _run(
        [
            *kbundle,
            "import",
            str(bundle),
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            destination_context,
            "--map-namespace",
            "shop=shop-restored",
        ]
    )

    console.rule("6. what landed in the destination")
    destination = open_cluster(str(kubeconfig), destination_context)
    _wait_for_replica_sets(destination, "shop-restored")
    landed = Table(
        "kind",
        "in shop-restored",
        title=f"{destination_context}: its own controllers made the ReplicaSets and Pods",
    )
    for kind, api_version in LANDED_KINDS:
        resource = destination.resource_for({"apiVersion": api_version, "kind": kind})
        count = len(destination.list_objects(resource, namespace="shop-restored"))
        landed.add_row(kind, str(count))
    console.print(landed)
    console.print(
        f"\nTry it yourself: export KUBECONFIG={kubeconfig}  (bundle: {bundle})\n"
        f"Stop the clusters: python -m testbed down --root {root}"
    )


def _wait_for_replica_sets(cluster: Cluster, namespace: str, timeout: float = 30.0) -> None:
    """Give the destination's controllers a moment to build what they own."""
    deployments = cluster.resource_for({"apiVersion": "apps/v1", "kind": "Deployment"})
    replica_sets = cluster.resource_for({"apiVersion": "apps/v1", "kind": "ReplicaSet"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(
        cluster.list_objects(replica_sets, namespace=namespace)
    ) < len(cluster.list_objects(deployments, namespace=namespace)):
        time.sleep(0.5)


LANDED_KINDS = (
    ("Deployment", "apps/v1"),
    ("ReplicaSet", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("Pod", "v1"),
    ("Service", "v1"),
    ("ConfigMap", "v1"),
    ("Secret", "v1"),
    ("PersistentVolumeClaim", "v1"),
    ("Widget", "example.com/v1"),
)


def _run(command: list[str]) -> None:
    """Run one kbundle command as a user would, showing it and its output."""
    shown = " ".join(["kbundle", *command[3:]])
    console.print(f"  $ {shown}", markup=False, highlight=False)
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise KbundleError(f"demo step failed: {shown} (exit {result.returncode})")
