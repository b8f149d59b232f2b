"""CPU-bound calls spread over worker interpreters of this very kbundle, and the caller.

Parsing a large bundle's YAML is most of its verification, and of the start of its import,
and one interpreter parses on one core. ``run_apart`` runs calls of a kbundle function in
worker processes and in the calling thread at once, and hands back every result in call
order.

Why not ``multiprocessing``: its spawned workers import the caller's ``__main__`` module
again, which runs the code of a script that calls kbundle's Python API without a main guard,
once per worker. These workers are ``python -m kbundle.core.apart``: they import kbundle
and nothing of the caller. Requests and results cross a pipe as pickles between two
processes of the same kbundle (nothing else writes to them); bulky results belong on disk,
with only their place in the pickle.

A worker that cannot start (a frozen build without an interpreter), dies, or fails in a way
the function does not report is never a failure of the work: its call runs again in the
calling thread, where any real error surfaces as it would without workers.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from kbundle.core.collector import only_young_collected

log = logging.getLogger(__name__)
R = TypeVar("R")
Tick = Callable[[int], None]  # what a call reports as it goes (documents parsed...)
_TICK, _DONE, _FAILED = "tick", "done", "failed"


@dataclass
class _Calls(Generic[R]):
    """The calls still to run (by index), their results, and the lock that guards both."""

    function: Callable[..., R]
    arguments: Sequence[tuple[Any, ...]]
    on_tick: Tick
    waiting: queue.SimpleQueue[int] = field(default_factory=queue.SimpleQueue)
    results: dict[int, R] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tick(self, count: int) -> None:
        with self.lock:
            self.on_tick(count)

    def next_index(self) -> int | None:
        try:
            return self.waiting.get_nowait()
        except queue.Empty:
            return None

    def run_here(self, index: int) -> None:
        self.record(index, self.function(*self.arguments[index], tick=self.tick))

    def record(self, index: int, result: R) -> None:
        with self.lock:
            self.results[index] = result


PROCESSES = 4  # at work at once, at most: the calling process and its workers


def extra_processes(calls: int) -> int:
    """Worker processes worth starting beside the calling one for ``calls`` calls: one per
    core this process may use, beyond its own, up to ``PROCESSES`` in all."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min(PROCESSES, calls, cores or 1) - 1)


def run_apart(
    function: Callable[..., R],
    arguments: Sequence[tuple[Any, ...]],
    *,
    workers: int,
    on_tick: Tick = lambda _count: None,
    pass_fds: Sequence[int] = (),
) -> list[R]:
    """``function(*args, tick=...)`` for each of ``arguments``, in up to ``workers`` worker
    processes and the calling thread, taken in the order given (put the longest first);
    the results in that order. ``function`` is a module-level function that a worker can
    import (kbundle's own: a worker's path starts with this kbundle), whose arguments and
    result pickle; ``tick(count)`` reaches ``on_tick`` in the calling process
    (under a lock: from any thread). ``pass_fds``: open files the workers inherit, under the
    same numbers (an anonymous spool they read). An exception ``function`` raises in the
    calling thread propagates after the workers are stopped."""
    calls = _Calls(function, arguments, on_tick)
    for index in range(len(arguments)):
        calls.waiting.put(index)
    started = [_Worker.start(pass_fds) for _ in range(min(workers, len(arguments) - 1))]
    running = [worker for worker in started if worker is not None]
    threads = [
        threading.Thread(target=worker.serve, args=(calls,), daemon=True, name="kbundle-apart")
        for worker in running
    ]
    try:
        for thread in threads:
            thread.start()
        _run_here(calls)
        for thread in threads:
            thread.join()
        _run_here(calls)  # what a worker handed back
    except BaseException:
        for worker in running:
            worker.kill()
        raise
    for worker in running:
        worker.stop()
    return [calls.results[index] for index in range(len(arguments))]


def _run_here(calls: _Calls[R]) -> None:
    while (index := calls.next_index()) is not None:
        calls.run_here(index)


class _Worker:
    """One worker interpreter, fed one call at a time by one thread of the caller."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        self._requests: IO[bytes] = process.stdin
        self._answers: IO[bytes] = process.stdout

    @classmethod
    def start(cls, pass_fds: Sequence[int] = ()) -> _Worker | None:
        """A new worker, or None where no interpreter can run one."""
        if not sys.executable or getattr(sys, "frozen", False):
            return None
        package_root = str(Path(__file__).resolve().parents[2])  # kbundle's own, first
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        try:
            process = subprocess.Popen(
                # -P: "-m" would put the working folder first on the path, and a kbundle
                # there (another checkout) would be imported instead of this one
                [sys.executable, "-P", "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
                pass_fds=tuple(pass_fds),
            )
        except OSError as error:
            log.debug("no worker process (%s); working in this one", error)
            return None
        return cls(process)

    def serve(self, calls: _Calls[R]) -> None:
        """Feed calls until none is left; a call this worker could not finish goes back to
        the queue for the calling thread, and the worker takes no more."""
        while (index := calls.next_index()) is not None:
            try:
                result: R = self._call(calls.function, calls.arguments[index], calls.tick)
            except Exception as error:  # any way a worker fails: the call runs here
                log.debug("worker process failed (%s); the calling process takes over", error)
                calls.waiting.put(index)
                return
            calls.record(index, result)

    def _call(self, function: Callable[..., R], arguments: tuple[Any, ...], tick: Tick) -> R:
        request = (function.__module__, function.__qualname__, arguments)
        pickle.dump(request, self._requests, protocol=pickle.HIGHEST_PROTOCOL)
        self._requests.flush()
        while True:
            what, value = pickle.load(self._answers)
            if what == _TICK:
                tick(value)
            elif what == _DONE:
                done: R = value
                return done
            else:
                raise RuntimeError(f"worker process: {value}")

    def stop(self) -> None:
        """Let the worker end (it reads the end of its requests), or end it."""
        with contextlib.suppress(OSError):
            self._requests.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(OSError):
            self._answers.close()

    def kill(self) -> None:
        """End the worker now, whatever it is doing (the caller is failing or interrupted)."""
        self._process.kill()
        self._process.wait()
        for pipe in (self._requests, self._answers):
            with contextlib.suppress(OSError):
                pipe.close()


# -- the worker's side -------------------------------------------------------------------------


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer requests until the caller closes the pipe."""

    def send(what: str, value: Any) -> None:
        pickle.dump((what, value), answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()

    with only_young_collected():  # a worker parses or renders files: no cycles to find
        while True:
            try:
                module, qualname, arguments = pickle.load(requests)
            except EOFError:
                return
            try:
                function = getattr(importlib.import_module(module), qualname)
                send(_DONE, function(*arguments, tick=lambda count: send(_TICK, count)))
            except Exception as error:  # reported; the caller runs the call itself
                send(_FAILED, f"{type(error).__name__}: {error}")


def _main() -> None:
    # The caller handles ^C (the terminal sends it to every process of the group) and stops
    # its workers: a worker printing a traceback of its own would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Answers go to the pipe stdout was; anything printed goes where stderr goes (nowhere),
    # never into the stream of pickles.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    _main()
