"""When the destination stops answering: retry, then stop the import instead of hanging.

Every request of an import goes through one ``Retrier``. Transient failures are retried; one
clock is shared by all workers, so an outage costs one retry timeout, not one per object.
After it the import gives up and says to re-run the same command, which finishes the job. An
interrupt (Ctrl-C) ends every retry at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from kbundle.cluster import ApiError, Unreachable
from kbundle.cluster.retry import is_transient_on_write, with_retries

# Answers that mean "nobody is really there": a proxy or load balancer without a backend, or
# an apiserver that gave up waiting for etcd (504 after its --request-timeout). Like no answer
# at all, they count towards the shared outage that stops the import after the retry timeout.
NOT_ANSWERING_STATUSES = frozenset({502, 503, 504})
T = TypeVar("T")

log = logging.getLogger(__name__)


class DestinationGone(Exception):
    """The destination stayed unreachable longer than the retry timeout."""


class _Interrupted(Exception):
    """The run is being interrupted: a worker stops before its next request."""


def not_answering(error: Exception) -> bool:
    """No answer, or an answer that only says no server is behind it (see above)."""
    if isinstance(error, Unreachable):
        return True
    return isinstance(error, ApiError) and error.status in NOT_ANSWERING_STATUSES


def describe(error: Exception) -> str:
    """A failed request as the import report shows it: the server's own words, in one line;
    for a server-side apply conflict, who owns which fields and the two ways out."""
    if not isinstance(error, ApiError):
        return str(error)
    owners = conflicting_owners(error)
    if owners:
        held = "; ".join(f'"{manager}" owns {", ".join(fields)}' for manager, fields in owners)
        return (
            f"{error.status} {error.reason}: other field managers own fields the bundle sets: "
            f"{held}; take them over with --force-conflicts, or leave the object as it is "
            "with --existing skip"
        )
    return f"{error.status} {error.reason}: {' '.join(error.server_message.split())}"


def conflicting_owners(error: ApiError) -> list[tuple[str, list[str]]]:
    """Server-side apply conflicts of a 409: each other field manager, with the fields it
    owns that the applied object sets differently (paths as the server writes them)."""
    if error.status != 409:
        return []
    by_manager: dict[str, list[str]] = {}
    for cause in error.details.get("causes") or []:
        if not isinstance(cause, dict) or cause.get("reason") != "FieldManagerConflict":
            continue
        message = str(cause.get("message", ""))
        manager = message.split('"')[1] if message.count('"') >= 2 else message
        by_manager.setdefault(manager, []).append(str(cause.get("field", "")))
    return sorted(by_manager.items())


class Reachability:
    """Shared across workers: one outage costs one retry timeout, not one per object."""

    def __init__(self, patience: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.patience = patience
        self._clock = clock
        self._down_since: float | None = None
        self.gave_up: str | None = None
        self._lock = threading.Lock()

    def failed(self, error: Exception) -> None:
        with self._lock:
            now = self._clock()
            if self._down_since is None:
                self._down_since = now
                log.info("the destination does not answer: %s", error)
            elif now - self._down_since >= self.patience and self.gave_up is None:
                self.gave_up = (
                    f"the destination did not answer for {self.patience:.0f}s "
                    f"({error}); re-run the same command to finish the import"
                )
                log.info("giving up: %s", self.gave_up)

    def answered(self) -> None:
        with self._lock:
            if self._down_since is not None and self.gave_up is None:
                log.info(
                    "the destination answers again after %.1fs", self._clock() - self._down_since
                )
            self._down_since = None


class Retrier:
    """Sends requests for one import run under its outage policy and its interrupt."""

    def __init__(self, patience: float) -> None:
        self._reachability = Reachability(patience)
        self._patience = patience
        self._stopping = threading.Event()  # set on an interrupt: no more requests, no retries

    @property
    def gave_up(self) -> str | None:
        """Why the import stopped early (the destination's outage outlasted the patience)."""
        return self._reachability.gave_up

    def stop(self) -> None:
        """An interrupt: no further request starts, and every backoff ends at once."""
        self._stopping.set()

    def call(self, action: Callable[[], T]) -> T:
        """``action`` until it succeeds or fails for good; DestinationGone once the import
        gave up."""

        def attempt() -> T:
            if self._stopping.is_set():
                raise _Interrupted
            return action()

        def transient(error: Exception) -> bool:
            if not_answering(error):
                self._reachability.failed(error)
            else:  # any other answer, even a refusal, shows the destination is there
                self._reachability.answered()
            return self.gave_up is None and is_transient_on_write(error)

        def pause(seconds: float) -> None:
            self._stopping.wait(seconds)  # an interrupt ends the backoff at once

        if self.gave_up:
            raise DestinationGone
        try:
            result = with_retries(
                attempt,
                deadline_seconds=self._patience,
                transient=transient,
                sleep=pause,
            )
        except (ApiError, Unreachable) as error:
            if self.gave_up and not_answering(error):
                raise DestinationGone from None
            raise
        self._reachability.answered()
        return result
