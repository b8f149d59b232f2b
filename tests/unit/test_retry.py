"""Transient failures are retried with backoff and a cap; permanent ones are not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kbundle.cluster.retry import is_transient, with_retries
from kbundle.cluster.transport import ApiError, Unreachable


def error(status: int, message: str = "", retry_after: float | None = None) -> ApiError:
    return ApiError(status, "Reason", message, method="PATCH", path="/x", retry_after=retry_after)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def failing(errors: list[Exception], result: str = "ok") -> Callable[[], str]:
    def action() -> str:
        if errors:
            raise errors.pop(0)
        return result

    return action


@pytest.mark.parametrize(
    "failure",
    [
        Unreachable("refused"),
        error(429),
        error(500),
        error(503),
        error(504),
        error(409, "the object has been modified"),
    ],
)
def test_transient_failures_are_retried_until_they_pass(failure: Exception) -> None:
    clock = FakeClock()
    result = with_retries(
        failing([failure, failure]),
        sleep=clock.sleep,
        clock=clock,
    )
    assert result == "ok" and len(clock.sleeps) == 2


@pytest.mark.parametrize(
    "failure",
    [
        error(400),
        error(403),
        error(404),
        error(422),
        error(409, 'Apply failed with 1 conflict: conflict with "other"'),
        error(500, "failed to create typed patch object"),
    ],
)
def test_permanent_failures_are_raised_at_once(failure: Exception) -> None:
    clock = FakeClock()
    with pytest.raises(type(failure)):
        with_retries(failing([failure]), sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []
    assert not is_transient(failure)


def test_retry_after_is_honoured() -> None:
    clock = FakeClock()
    with_retries(
        failing([error(429, retry_after=5)]),
        sleep=clock.sleep,
        clock=clock,
    )
    assert clock.sleeps[0] >= 5 * 0.8


def test_backoff_grows_and_is_capped() -> None:
    clock = FakeClock()
    with_retries(
        failing([error(503)] * 10),
        sleep=clock.sleep,
        clock=clock,
        first_delay=0.5,
        max_delay=4,
        deadline_seconds=1000,
    )
    assert clock.sleeps[1] > clock.sleeps[0]
    assert max(clock.sleeps) <= 4 * 1.2


def test_retries_stop_at_the_deadline() -> None:
    clock = FakeClock()
    with pytest.raises(Unreachable):
        with_retries(
            failing([Unreachable("down")] * 1000),
            sleep=clock.sleep,
            clock=clock,
            deadline_seconds=30,
        )
    assert clock.now <= 30 * 1.2
