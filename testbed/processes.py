"""Start, find and stop one long-running control-plane process.

A process is remembered by a pid file so that a later command (``python -m testbed down``)
can stop what an earlier one started. Processes started for a pytest session are tied to it
with ``PR_SET_PDEATHSIG`` so a killed test run does not leave clusters behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class ProcessStartError(RuntimeError):
    """A control-plane process exited during start; the message carries its log tail."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ManagedProcess:
    """One daemon: its command line, log file and pid file."""

    name: str
    args: Sequence[str]
    log_path: Path
    pid_path: Path
    _child: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *, tie_to_parent: bool) -> None:
        """Launch the process in the background (does not wait for readiness)."""
        if self.is_running():
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {time.strftime('%Y-%m-%dT%H:%M:%S')} ---\n".encode())
            log.flush()
            preexec: Callable[[], None] | None = _die_with_parent if tie_to_parent else None
            self._child = subprocess.Popen(
                list(self.args),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=not tie_to_parent,
                preexec_fn=preexec,  # noqa: PLW1509 - only prctl, started from the main thread
            )
        self.pid_path.write_text(f"{self._child.pid}\n")

    def pid(self) -> int | None:
        """Pid of the running process, or None (stale pid files are ignored)."""
        if self._child is not None:  # ours: no need to guess (and no fork/exec race)
            return None if self._child.poll() is not None else self._child.pid
        try:
            pid = int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return None
        if state == "Z" or not cmdline or cmdline[0] != str(self.args[0]).encode():
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def exited_with(self) -> int | None:
        """Exit code if this object started the process and it has already exited."""
        return None if self._child is None else self._child.poll()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; returns once the process is gone."""
        pid = self.pid()
        if pid is not None:
            _signal(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.pid() is not None:
                _signal(pid, signal.SIGKILL)
                while self.pid() is not None:
                    time.sleep(0.05)
        if self._child is not None:
            self._child.wait()
            self._child = None
        self.pid_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
