"""Daemons are found again by pid file, and stopped for sure."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from testbed.processes import ManagedProcess


def _sleeper(tmp_path: Path, name: str = "sleeper") -> ManagedProcess:
    sleep = shutil.which("sleep") or "/bin/sleep"
    return ManagedProcess(name, [sleep, "300"], tmp_path / f"{name}.log", tmp_path / f"{name}.pid")


def test_a_later_command_finds_and_stops_a_detached_process(tmp_path: Path) -> None:
    first = _sleeper(tmp_path)
    first.start(tie_to_parent=False)
    pid = first.pid()
    assert pid is not None

    later = _sleeper(tmp_path)  # a new object, as a later `testbed down` would make
    deadline = time.monotonic() + 5  # until the child has exec'd, /proc shows python
    while later.pid() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert later.pid() == pid
    later.stop(timeout=5)
    first.stop(timeout=5)  # reaps our own child; already gone for the later command
    assert later.pid() is None
    assert not (tmp_path / "sleeper.pid").exists()


def test_a_stale_pid_file_is_not_mistaken_for_a_running_process(tmp_path: Path) -> None:
    other = subprocess.Popen(["sh", "-c", "exit 0"])
    other.wait()
    (tmp_path / "sleeper.pid").write_text(f"{other.pid}\n")
    assert _sleeper(tmp_path).pid() is None


def test_a_pid_reused_by_another_program_is_ignored(tmp_path: Path) -> None:
    unrelated = subprocess.Popen(["sh", "-c", "sleep 30"])
    try:
        (tmp_path / "sleeper.pid").write_text(f"{unrelated.pid}\n")
        assert _sleeper(tmp_path).pid() is None
    finally:
        unrelated.kill()
        unrelated.wait()


def test_starting_twice_keeps_one_process(tmp_path: Path) -> None:
    process = _sleeper(tmp_path)
    process.start(tie_to_parent=True)
    pid = process.pid()
    process.start(tie_to_parent=True)
    assert process.pid() == pid
    process.stop(timeout=5)
