"""The pure parts of how import lives with faults: throttling, outages, interrupts, 403s.

The same behaviours are proven end to end against real clusters in
tests/integration/test_faults.py; these pin the decisions themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any, cast

import pytest
from kubernetes.client import ApiClient, Configuration

from kbundle.apply.outage import Reachability, Retrier, not_answering
from kbundle.apply.waits import wait_for_namespaces
from kbundle.apply.workers import Workers
from kbundle.cluster import ApiError, ApiResource, Cluster, Unreachable
from kbundle.cluster.transport import (
    THROTTLED_ATTEMPTS,
    THROTTLED_WAIT_CAP,
    Target,
    Transport,
    throttled_wait,
)
from tests.loopback_http import JsonHandler, serving


def error(status: int) -> ApiError:
    return ApiError(status, "Reason", "message", method="GET", path="/x")


# -- throttling: a 429 is sent again by the transport itself ---------------------------------


def test_a_429_is_sent_again_after_the_wait_the_server_asks_for() -> None:
    assert throttled_wait(429, {"retry-after": "2"}, attempt=1) == 2.0


@pytest.mark.parametrize("header", [{}, {"retry-after": "soon"}, {"retry-after": "-3"}])
def test_a_429_without_a_usable_retry_after_waits_one_second(header: dict[str, str]) -> None:
    assert throttled_wait(429, header, attempt=1) == 1.0


def test_a_long_retry_after_is_capped() -> None:
    assert throttled_wait(429, {"retry-after": "3600"}, attempt=1) == THROTTLED_WAIT_CAP


def test_the_last_429_and_every_other_answer_are_final() -> None:
    assert throttled_wait(429, {"retry-after": "1"}, attempt=THROTTLED_ATTEMPTS) is None
    for status in (200, 404, 409, 500, 503):
        assert throttled_wait(status, {"retry-after": "1"}, attempt=1) is None


# -- outages: what counts as "the destination does not answer" -------------------------------


@pytest.mark.parametrize(
    ("failure", "down"),
    [
        (Unreachable("refused"), True),
        (error(502), True),
        (error(503), True),
        (error(504), True),  # an apiserver that gave up waiting for etcd
        (error(500), False),  # the server answered: a bug or a webhook, not an outage
        (error(429), False),  # busy, but there
        (error(403), False),
    ],
)
def test_no_answer_and_gateway_timeouts_count_as_an_outage(failure: Exception, down: bool) -> None:
    assert not_answering(failure) is down


def test_an_outage_gives_up_once_failures_last_the_patience_and_an_answer_resets_it() -> None:
    now = [0.0]
    reachability = Reachability(10.0, clock=lambda: now[0])
    reachability.failed(error(504))
    now[0] = 9.0
    reachability.failed(error(504))
    assert reachability.gave_up is None
    reachability.answered()
    now[0] = 15.0
    reachability.failed(error(504))  # a new outage starts here
    assert reachability.gave_up is None
    now[0] = 25.0
    reachability.failed(error(504))
    assert reachability.gave_up is not None
    assert "did not answer for 10s" in reachability.gave_up
    assert "re-run the same command" in reachability.gave_up


# -- interrupts: a worker waiting to retry stops at once -------------------------------------


def test_an_interrupt_ends_a_workers_retries_at_once() -> None:
    retrier = Retrier(120.0)
    attempts: list[float] = []
    ended: list[BaseException] = []

    def never_answers() -> None:
        attempts.append(time.monotonic())
        raise Unreachable("no answer")

    def worker() -> None:
        try:
            retrier.call(never_answers)
        except BaseException as stop:
            ended.append(stop)

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 5
    while len(attempts) < 2 and time.monotonic() < deadline:  # it is retrying now
        time.sleep(0.01)
    retrier.stop()
    sent = len(attempts)
    thread.join(timeout=2)  # not the 120 s retry timeout
    assert not thread.is_alive()
    assert len(attempts) <= sent + 1  # at most one that had already passed the check
    assert ended and not isinstance(ended[0], Unreachable)  # stopped, not failed


def test_workers_give_results_in_order_and_drop_the_queue_when_the_wait_ends_early() -> None:
    workers = Workers(2)
    try:
        assert workers.map(lambda n: n * n, range(20)) == [n * n for n in range(20)]
        ran: list[int] = []

        def slow(number: int) -> int:
            if number == 1:
                raise ValueError("stop here")  # stands for Ctrl-C in the waiting thread
            time.sleep(0.02)
            ran.append(number)
            return number

        with pytest.raises(ValueError, match="stop here"):
            workers.map(slow, range(100))
        time.sleep(0.2)
        assert len(ran) < 10  # the queued rest was dropped, not run
    finally:
        workers.close()


def test_worker_threads_never_hold_the_process_at_exit() -> None:
    before = set(threading.enumerate())
    workers = Workers(3)
    started = [t for t in threading.enumerate() if t not in before]
    workers.close()
    assert len(started) == 3 and all(t.daemon for t in started)


# -- 403: what the user may not read is not waited for ---------------------------------------


NAMESPACES = ApiResource("", "v1", "namespaces", "Namespace", False, frozenset({"get", "list"}))


class OneNamespaceUser:
    """A cluster as seen by a user who may read namespace ``mine`` only."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def discovery(self, refresh: bool = False) -> Any:
        return self

    def preferred_for(self, group: str, kind: str) -> ApiResource:
        return NAMESPACES

    def list_objects(self, resource: ApiResource) -> list[dict[str, Any]]:
        raise error(403)

    def get(self, resource: ApiResource, name: str) -> dict[str, Any]:
        self.reads.append(name)
        if name != "mine":
            raise error(403)
        return {"metadata": {"name": name}, "status": {"phase": "Active"}}


def test_namespaces_the_user_may_not_read_are_not_waited_for() -> None:
    user = OneNamespaceUser()
    pending = wait_for_namespaces(cast(Cluster, user), ["mine", "theirs"], timeout=30)
    assert pending == []
    assert sorted(user.reads) == ["mine", "theirs"]


# -- the transport sends a throttled request again ---------------------------------------------


class Throttling(ThreadingHTTPServer):
    """Answers 429 (Retry-After: 0) to the first ``refusals`` requests, then 200."""

    def __init__(self, refusals: int) -> None:
        super().__init__(("127.0.0.1", 0), _ThrottlingHandler)
        self.refusals = refusals
        self.requests = 0


class _ThrottlingHandler(JsonHandler):
    server: Throttling

    def do_GET(self) -> None:
        self.server.requests += 1
        if self.server.requests <= self.server.refusals:
            self.answer(429, b'{"message": "Too many requests"}', {"Retry-After": "0"})
        else:
            self.answer(200, b'{"ok": true}')


@contextmanager
def throttling(refusals: int) -> Iterator[tuple[Transport, Throttling]]:
    server = Throttling(refusals)
    with serving(server) as url:
        configuration = Configuration()
        configuration.host = url
        yield Transport(ApiClient(configuration), Target("test", configuration.host)), server


def test_a_throttled_request_is_sent_again_until_the_server_takes_it() -> None:
    with throttling(refusals=THROTTLED_ATTEMPTS - 1) as (transport, server):
        assert transport.request("GET", "/api") == {"ok": True}
        assert server.requests == THROTTLED_ATTEMPTS


def test_a_request_throttled_every_time_ends_in_a_429_for_the_caller() -> None:
    with throttling(refusals=100) as (transport, server):
        with pytest.raises(ApiError) as raised:
            transport.request("GET", "/api")
        assert raised.value.status == 429 and raised.value.retry_after == 0
        assert server.requests == THROTTLED_ATTEMPTS
