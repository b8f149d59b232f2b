"""Calls spread over worker interpreters: results in call order whoever ran them, progress
heard from every process, a failing or missing worker never a failed call, and a script
without a main guard never run again by a worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbundle.core import apart
from kbundle.core.apart import Tick, run_apart
from kbundle.core.model import Object
from kbundle.core.spool import ObjectSpool, SpoolWriter

ROOT = Path(__file__).resolve().parents[2]


def pid_after(seconds: float, *, tick: Tick) -> tuple[int, float]:
    """Where the call ran; slow enough that the calling thread cannot take every call."""
    time.sleep(seconds)
    tick(3)
    return os.getpid(), seconds


def die_unless_in(caller: int, *, tick: Tick) -> str:
    """Kills any worker that runs it, the way an out-of-memory kill would."""
    if os.getpid() != caller:
        os._exit(9)
    return "ran in the caller"


def spool_then_die_unless_in(caller: int, path: str, *, tick: Tick) -> list[Object]:
    """Spools part of its objects, then dies in a worker (an out-of-memory kill part-way
    through a file); in the caller, spools them all and reads them back."""
    writer = SpoolWriter(Path(path))
    writer.append({"number": 0})
    if os.getpid() != caller:
        writer.close()
        os._exit(9)
    writer.append({"number": 1})
    return list(ObjectSpool.adopt(writer.close()))


def always_fails(number: int, *, tick: Tick) -> int:
    raise ValueError(f"call {number} fails")


def _children() -> set[int]:
    """This process's children now (a test session may have others: clusters, servers)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            children = (task / "children").read_text()
        except OSError:  # a thread that ended since the folder was read
            continue
        found |= {int(pid) for pid in children.split()}
    return found


@pytest.fixture
def no_worker_left() -> Iterator[None]:
    """Every worker a test starts has ended when it returns."""
    before = _children()
    yield
    assert _children() <= before


@pytest.mark.usefixtures("no_worker_left")
def test_results_come_back_in_call_order_from_the_caller_and_a_worker() -> None:
    seconds = [0.4, 0.3, 0.3, 0.2, 0.2, 0.1]
    heard: list[int] = []
    results = run_apart(pid_after, [(s,) for s in seconds], workers=1, on_tick=heard.append)
    assert [s for _, s in results] == seconds
    assert {pid for pid, _ in results} - {os.getpid()}, "no call ran in a worker"
    assert os.getpid() in {pid for pid, _ in results}
    assert sum(heard) == 3 * len(seconds)


@pytest.mark.usefixtures("no_worker_left")
def test_a_worker_that_dies_leaves_its_call_to_the_caller() -> None:
    results = run_apart(die_unless_in, [(os.getpid(),)] * 4, workers=2)
    assert results == ["ran in the caller"] * 4


@pytest.mark.usefixtures("no_worker_left")
def test_a_spool_a_dead_worker_began_is_written_afresh_by_the_caller(tmp_path: Path) -> None:
    paths = [(os.getpid(), str(tmp_path / str(n))) for n in range(4)]
    results = run_apart(spool_then_die_unless_in, paths, workers=2)
    assert results == [[{"number": 0}, {"number": 1}]] * 4


def test_without_an_interpreter_every_call_runs_in_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "executable", "")
    results = run_apart(pid_after, [(0.0,), (0.0,)], workers=3)
    assert [pid for pid, _ in results] == [os.getpid()] * 2


@pytest.mark.usefixtures("no_worker_left")
def test_an_error_of_the_function_surfaces_in_the_caller_and_workers_end() -> None:
    with pytest.raises(ValueError, match=r"call \d fails"):
        run_apart(always_fails, [(n,) for n in range(3)], workers=2)


def test_a_script_without_a_main_guard_runs_once(tmp_path: Path) -> None:
    """The reason for workers of kbundle's own: a spawned multiprocessing worker imports
    the caller's __main__ again, and an unguarded script would run once per worker."""
    runs = tmp_path / "runs"
    script = tmp_path / "script.py"
    script.write_text(
        "import os\n"
        "from kbundle.core.apart import run_apart\n"
        "from tests.unit.test_apart import pid_after\n"
        f"with open({str(runs)!r}, 'a') as f:\n"
        "    f.write('ran\\n')\n"
        "results = run_apart(pid_after, [(0.3,)] * 4, workers=1)\n"
        "print(len({pid for pid, _ in results}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    assert runs.read_text() == "ran\n"
    assert done.stdout.strip() == "2"  # the worker did take calls


def test_workers_start_from_this_kbundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even from a folder that holds another kbundle (a checkout of another version)."""
    other = tmp_path / "kbundle" / "core"
    other.mkdir(parents=True)
    (tmp_path / "kbundle" / "__init__.py").write_text("raise SystemExit('the other kbundle')\n")
    (other / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path)
    worker = apart._Worker.start()
    assert worker is not None
    try:
        assert worker._call(pid_after, (0.0,), lambda _count: None)[0] != os.getpid()
    finally:
        worker.stop()
