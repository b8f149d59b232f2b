"""A worker pool whose threads never keep the process alive, so Ctrl-C ends an import at once.

ThreadPoolExecutor joins its threads at exit: after Ctrl-C an import would wait for every
hanging request (an apiserver waiting for a dead etcd holds them up to a minute). These are
daemon threads, abandoned instead. An abandoned request may or may not land; re-running the
same command (server-side apply) makes that no matter.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_AHEAD_PER_THREAD = 4  # items per thread, queued or running: no thread waits for work
A = TypeVar("A")


class Workers:
    """A fixed set of daemon threads for one import run."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._tasks: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        for number in range(count):
            threading.Thread(target=self._work, name=f"kbundle-apply-{number}", daemon=True).start()

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            future, call = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as error:
                future.set_exception(error)

    def map(
        self, function: Callable[[A], T], items: Iterable[A], *, ahead: int = _AHEAD_PER_THREAD
    ) -> list[T]:
        """``function`` over ``items`` concurrently, results in order. At most ``ahead``
        items per thread are taken from ``items`` and not finished (a slow one does not hold
        the others up), so a lazy ``items`` (a spool of 50,000 objects) is never all in
        memory. When the wait is interrupted (Ctrl-C), the items no worker has started yet
        are dropped."""
        room = threading.BoundedSemaphore(self._count * max(1, ahead))
        failed = threading.Event()  # an item raised: take no more, its error ends the map

        def finished(future: Future[T]) -> None:
            if not future.cancelled() and future.exception() is not None:
                failed.set()
            room.release()

        futures: list[Future[T]] = []
        try:
            for item in items:
                room.acquire()
                if failed.is_set():
                    break
                future: Future[T] = Future()
                future.add_done_callback(finished)
                self._tasks.put((future, functools.partial(function, item)))
                futures.append(future)
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()  # only those still queued

    def close(self) -> None:
        """Let every thread end once it is done with its current task (never waits)."""
        for _ in range(self._count):
            self._tasks.put(None)
