"""Start-up benchmark: what a command costs before it does anything, side by side.

Every command pays Python's start and its imports before its first useful instruction. This
prints, from one run, ``kbundle --version`` beside ``python -c 'import typer'`` (the floor
of any typer program; target: at most 0.05 s more), ``kbundle verify --help`` beside the
same floor (no target: help is rendered by rich), and for each verb module what it loads by
itself, read from ``python -X importtime``: the offline verbs must not load the cluster
layer, and no verb loads the CLI.

Runs alternate A B A B so drift of a shared machine falls on both sides; medians are quoted.

Run: ``.venv/bin/python bench/startup.py [--runs 21]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

PYTHON = sys.executable
KBUNDLE = str(Path(PYTHON).parent / "kbundle")
TARGET = 0.05  # seconds over the floor
VERBS = ("export", "verify", "importing", "clone", "transform", "render", "sign")
OFFLINE = {"verify", "transform", "render", "sign"}
WATCHED = ("kubernetes", "kbundle.cluster", "kbundle.cli", "typer", "rich", "jsonschema", "yaml")


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def paired(a: list[str], b: list[str], runs: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` run alternately, after one warm-up each."""
    wall(a)
    wall(b)
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(wall(a))
        times_b.append(wall(b))
    return statistics.median(times_a), statistics.median(times_b)


def imported_by(module: str) -> dict[str, float]:
    """Each module ``import module`` loads, with its cumulative import time in seconds."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
    )
    loaded: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        if cumulative.isdigit():
            loaded[name] = int(cumulative) / 1e6
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    floor = [PYTHON, "-c", "import typer"]
    print(f"{'':36} {'kbundle':>9} {'floor':>9} {'more':>8}  target")
    for label, command, target in (
        ("kbundle --version", [KBUNDLE, "--version"], True),
        # help text is rendered by rich, loaded for --help only
        ("kbundle verify --help", [KBUNDLE, "verify", "--help"], False),
    ):
        ours, base = paired(command, floor, args.runs)
        verdict = ("met" if ours - base <= TARGET else "MISSED") if target else "(no target)"
        print(
            f"{label + ' (s)':36} {ours:9.3f} {base:9.3f} {ours - base:+8.3f}  "
            + (f"<= +{TARGET:.2f} s: {verdict}" if target else verdict)
        )

    print()
    print(f"{'verb module':36} {'import (s)':>10}  loads")
    for verb in VERBS:
        module = f"kbundle.verbs.{verb}"
        loaded = imported_by(module)
        heavy = [w for w in WATCHED if any(m == w or m.startswith(w + ".") for m in loaded)]
        note = ""
        if verb in OFFLINE:
            clean = not {"kubernetes", "kbundle.cluster"} & set(heavy)
            note = "  (offline: no cluster layer: " + ("met" if clean else "MISSED") + ")"
        print(f"{module:36} {loaded.get(module, 0.0):10.3f}  {', '.join(heavy) or '-'}{note}")


if __name__ == "__main__":
    main()
