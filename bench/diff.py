"""Diff benchmark: ``kbundle diff`` beside ``kbundle import`` of the same bundle, from one run.

Seeds N objects into a fresh local source cluster and exports them (``bench/import.py``'s
``make_bundle``), imports the bundle into a fresh destination, then times, on that
destination:

- ``kbundle import BUNDLE`` (the first import: the baseline);
- ``kbundle diff BUNDLE`` against the destination that now holds it (nothing differs: exit 0);
- ``kbundle diff BUNDLE`` after 1% of the ConfigMaps were changed in the destination by
  another field manager (exit 1, exactly those objects reported);
- offline, ``kbundle diff A B`` of the bundle and a copy with one label set on every object
  (every object differs), and of the bundle with itself.

Diff sends a server-side dry run for each object that differs from the live one and none for
an object already as the bundle wants it, so against a destination holding the bundle it
costs a few list requests. Figures are printed with their ratio to the first import.

Run: ``.venv/bin/python bench/diff.py [--objects 5000] [--namespaces 10] [--bundle B]``
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kbundle.cluster import open_cluster

bench_import: Any = importlib.import_module("import")  # bench/import.py ("import" is a keyword)
KBUNDLE = bench_import.KBUNDLE
CHANGED_SHARE = 0.01


def timed(command: list[str], expected: int) -> float:
    """Seconds ``command`` took; its exit code must be ``expected``."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != expected:
        raise bench_import.BenchError(
            f"{' '.join(command[:3])} exited with {result.returncode}, expected {expected}:\n"
            f"{result.stderr[-2000:]}"
        )
    return seconds


def change_config_maps(kubeconfig: Path, context: str, share: float) -> int:
    """Edit ``share`` of the destination's bench ConfigMaps as another field manager."""
    cluster = open_cluster(str(kubeconfig), context)
    resource = cluster.resource_for({"apiVersion": "v1", "kind": "ConfigMap"})
    maps = [
        m for m in cluster.list_objects(resource) if m["metadata"]["name"].startswith("configmap-")
    ]
    chosen = maps[: max(1, int(len(maps) * share))]
    for item in chosen:
        patch = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": item["metadata"]["name"],
                "namespace": item["metadata"]["namespace"],
            },
            "data": {"LOG_LEVEL": "debug"},
        }
        cluster.apply(resource, patch, field_manager="bench-editor", force=True)
    return len(chosen)


def run(args: argparse.Namespace, workdir: Path) -> None:
    binaries = bench_import.locate(build_if_missing=True)
    bundle = (
        args.bundle.resolve()
        if args.bundle
        else bench_import.make_bundle(workdir, binaries, args.objects, args.namespaces, keep=False)
    )
    objects = bench_import.count(bench_import.read_levels(bundle))
    rows: list[tuple[str, float, str]] = []
    with bench_import.local_cluster(
        workdir, binaries, "dest-diff", bench_import.DESTINATION_CIDR, keep=False
    ) as cluster:
        on = ["--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context]
        say("kbundle import ...")
        imported = timed([KBUNDLE, "import", str(bundle), *on], 0)
        rows.append(("kbundle import (baseline)", imported, ""))
        say("kbundle diff, destination holding the bundle ...")
        rows.append(
            (
                "kbundle diff, nothing differs",
                timed([KBUNDLE, "diff", str(bundle), *on], 0),
                "exit 0",
            )
        )
        changed = change_config_maps(cluster.kubeconfig, cluster.context, CHANGED_SHARE)
        say(f"kbundle diff, {changed} ConfigMaps changed by another field manager ...")
        report = workdir / "diff.json"
        started = time.perf_counter()
        with report.open("w") as out:
            result = subprocess.run(
                [KBUNDLE, "diff", str(bundle), *on, "-o", "json"], stdout=out, check=False
            )
        seconds = time.perf_counter() - started
        if result.returncode != 1:
            raise bench_import.BenchError(f"kbundle diff exited with {result.returncode}, not 1")
        import json  # noqa: PLC0415

        found = json.loads(report.read_text())
        differing = [o for o in found["objects"] if o["status"] != "unchanged"]
        if len(differing) != changed:
            raise bench_import.BenchError(
                f"diff reported {len(differing)} differing objects, {changed} were changed"
            )
        rows.append((f"kbundle diff, {changed} objects changed", seconds, "exit 1, exactly those"))
    labelled = workdir / "labelled.kbundle"
    subprocess.run(
        [KBUNDLE, "transform", str(bundle), "-o", str(labelled), "--set-label", "bench=diff"],
        check=True,
        capture_output=True,
    )
    say("kbundle diff A B, offline ...")
    rows.append(
        (
            "offline diff, bundle with itself",
            timed([KBUNDLE, "diff", str(bundle), str(bundle)], 0),
            "exit 0",
        )
    )
    rows.append(
        (
            "offline diff, every object relabelled",
            timed([KBUNDLE, "diff", str(bundle), str(labelled), "-o", "json"], 1),
            "exit 1",
        )
    )
    print()
    print(f"{objects} objects; one run each, in seconds, and as ratios to the first import")
    print(f"{'':42} {'seconds':>9} {'ratio':>7}")
    for label, seconds, note in rows:
        print(f"{label:42} {seconds:9.2f} {seconds / imported:7.2f}  {note}")


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--bundle", type=Path, help="reuse this bundle; skips seeding/export")
    args = parser.parse_args()
    bench_import.run_in_workdir("diff", lambda workdir: run(args, workdir))


if __name__ == "__main__":
    main()
