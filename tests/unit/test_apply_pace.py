"""The import's pace follows the destination: 429s halve it (once per burst), a server that
slows down takes a quarter off, a server that keeps up earns one more object at a time, up
to ``--parallel``. A fake clock and scripted answers; nothing waits."""

from __future__ import annotations

import threading
import time

import pytest

from kbundle.apply.pace import COOLDOWN, AdaptiveLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _answers(limit: AdaptiveLimit, count: int, seconds: float = 0.05) -> None:
    for _ in range(count):
        limit.heard("PATCH", 200, seconds)


def test_it_starts_at_the_ceiling() -> None:
    assert AdaptiveLimit(16, clock=FakeClock()).limit == 16
    assert AdaptiveLimit(0, clock=FakeClock()).limit == 1


def test_a_burst_of_429s_halves_the_limit_once() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(16, clock=clock)
    for _ in range(16):  # every request in flight comes back 429 together
        limit.heard("PATCH", 429, 0.01)
    assert limit.limit == 8
    clock.now += COOLDOWN  # still throttled after the cooldown: halve again
    limit.heard("PATCH", 429, 0.01)
    assert limit.limit == 4


def test_it_never_goes_below_one_or_above_the_ceiling() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(4, clock=clock)
    for _ in range(10):
        clock.now += COOLDOWN
        limit.heard("POST", 429, 0.01)
    assert limit.limit == 1
    _answers(limit, 1000)
    assert limit.limit == 4


def test_it_climbs_back_one_step_per_limit_good_answers() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(16, clock=clock)
    limit.heard("PATCH", 429, 0.01)
    assert limit.limit == 8
    _answers(limit, 7)
    assert limit.limit == 8
    _answers(limit, 1)
    assert limit.limit == 9
    _answers(limit, 9)
    assert limit.limit == 10


def test_a_429_resets_the_climb() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(16, clock=clock)
    limit.heard("PATCH", 429, 0.01)
    _answers(limit, 7)
    limit.heard("PATCH", 429, 0.01)  # within the cooldown: no halving, but no credit either
    _answers(limit, 7)
    assert limit.limit == 8


def test_answers_much_slower_than_the_best_take_a_quarter_off() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(16, clock=clock)
    _answers(limit, 20, seconds=0.05)
    assert limit.limit == 16
    _answers(limit, 30, seconds=2.0)  # the server queues the writes
    assert limit.limit == 12
    clock.now += COOLDOWN
    _answers(limit, 5, seconds=2.0)  # slow is the new normal: no further cut
    assert limit.limit == 12


def test_slow_answers_under_half_a_second_are_not_a_slow_down() -> None:
    limit = AdaptiveLimit(16, clock=FakeClock())
    _answers(limit, 20, seconds=0.01)
    _answers(limit, 20, seconds=0.2)
    assert limit.limit == 16


def test_lists_and_outages_do_not_set_the_pace() -> None:
    limit = AdaptiveLimit(16, clock=FakeClock())
    _answers(limit, 20, seconds=0.05)
    for _ in range(20):
        limit.heard("GET", 200, 5.0)  # a list of 250 objects
        limit.heard("PATCH", 503, 30.0)  # the retrier's business
    assert limit.limit == 16


def test_slots_hold_at_most_limit_at_once() -> None:
    limit = AdaptiveLimit(8, clock=FakeClock())
    limit.heard("PATCH", 429, 0.01)
    assert limit.limit == 4
    inside, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with limit.slot():
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.01)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert most == 4


@pytest.mark.parametrize("status", [200, 201, 409, 422])
def test_any_answer_that_is_not_throttling_counts_as_keeping_up(status: int) -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(4, clock=clock)
    limit.heard("PATCH", 429, 0.01)
    _answers(limit, 1)
    limit.heard("PATCH", status, 0.05)
    assert limit.limit == 3


def test_it_goes_back_up_when_the_server_recovers() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(16, clock=clock)
    _answers(limit, 20, seconds=0.05)
    _answers(limit, 30, seconds=2.0)
    assert limit.limit == 12
    _answers(limit, 200, seconds=0.05)  # fast again
    assert limit.limit == 16
