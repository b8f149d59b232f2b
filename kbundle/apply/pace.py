"""How many objects an import writes at once: as many as the destination takes well.

One fixed ``--parallel`` is wrong for most clusters: too few for a large control plane, too
many for a small or busy one, whose apiserver then answers 429 (or API Priority and Fairness
queues the requests until they time out). The import starts at the ceiling (``--parallel``)
and adjusts, additive increase and multiplicative decrease, as TCP does:

- a 429 halves the limit (once per ``cooldown``: the requests already in flight answer 429
  too, and all of them together are one signal, not eight);
- answers much slower than the best seen lately (the server queues) take a quarter off,
  and the slower pace becomes the measure until answers speed up again;
- every ``limit`` healthy answers in a row (no 429, not much slower than the best) add one,
  up to the ceiling.

The clock is injectable, so the policy is tested with scripted answers and no waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

COOLDOWN = 2.0  # seconds after a decrease during which no other decrease happens
SLOW_FACTOR = 4.0  # answers this many times slower than the best recent are a slow-down
HEALTHY_FACTOR = 2.0  # within this many times the best, answers earn a step up
SLOW_FLOOR = 0.5  # seconds: below this no answer counts as slow, however fast the best
SMOOTHING = 0.2  # weight of each new answer's time in the running average


class AdaptiveLimit:
    """A concurrency limit between 1 and ``ceiling`` that follows the server's answers."""

    def __init__(self, ceiling: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self._clock = clock
        self._in_flight = 0
        self._good = 0  # answers without trouble since the last change
        self._last_decrease = -COOLDOWN
        self._average: float | None = None  # running average of answer times
        self._best: float | None = None  # the fastest average seen since the last slow-down
        self._changed = threading.Condition()

    # -- slots ------------------------------------------------------------------------------

    def slot(self) -> AdaptiveLimit:
        """Hold one of ``limit`` places for the duration of a ``with`` block. The limit is
        its own context manager: a generator-based one cost more per object than the rest
        of this class."""
        return self

    def __enter__(self) -> None:
        with self._changed:
            while self._in_flight >= self.limit:
                self._changed.wait()
            self._in_flight += 1

    def __exit__(self, *_: object) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify()

    # -- what the server answered -----------------------------------------------------------

    def heard(self, method: str, status: int, seconds: float) -> None:
        """One answer of the destination: to what, its status and how long it took. Only
        writes set the pace: a list of 250 objects is slow by nature, not a sign of load."""
        if method == "GET":
            return
        with self._changed:
            if status == 429:
                self._decrease(0.5, "the apiserver answered 429 (too many requests)")
                return
            if status >= 500:
                return  # an outage is the retrier's business, not a matter of pace
            self._average = (
                seconds
                if self._average is None
                else (1 - SMOOTHING) * self._average + SMOOTHING * seconds
            )
            self._best = self._average if self._best is None else min(self._best, self._average)
            if self._average > max(SLOW_FLOOR, SLOW_FACTOR * self._best):
                if self._decrease(0.75, f"answers slowed to {self._average:.2f}s"):
                    self._best = self._average  # the new normal, until it improves
                return
            if self._average > max(SLOW_FLOOR, HEALTHY_FACTOR * self._best):
                return  # strained: hold the pace, neither more nor less
            self._good += 1
            if self._good >= self.limit and self.limit < self.ceiling:
                self.limit += 1
                self._good = 0
                log.debug("the destination keeps up: %d objects at once", self.limit)
                self._changed.notify_all()

    def _decrease(self, factor: float, why: str) -> bool:
        now = self._clock()
        self._good = 0
        if now - self._last_decrease < COOLDOWN or self.limit == 1:
            return False
        self._last_decrease = now
        before, self.limit = self.limit, max(1, int(self.limit * factor))
        log.info("%s: %d objects at once, was %d", why, self.limit, before)
        return True
