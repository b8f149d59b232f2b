"""Retry transient apiserver failures with capped exponential backoff.

Transient: no answer, 429 (honouring Retry-After), 5xx, and optimistic-concurrency
conflicts. Everything else is the server's final word and is raised at once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from kbundle.cluster.transport import ApiError, Unreachable

T = TypeVar("T")
log = logging.getLogger(__name__)
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# 1.20's server-side apply answers 500 for objects it cannot type; retrying never helps.
PERMANENT_500_MARKERS = (
    "failed to create typed patch object",
    "failed to create typed live object",
)


def apply_cannot_type(error: ApiError) -> bool:
    """1.20's server-side apply refusing an object it cannot type (a 500 that no retry
    mends): import creates or replaces such an object instead."""
    return error.status == 500 and any(m in error.server_message for m in PERMANENT_500_MARKERS)


def is_transient(error: Exception) -> bool:
    if isinstance(error, Unreachable):
        return True
    if not isinstance(error, ApiError):
        return False
    if apply_cannot_type(error):
        return False
    if error.status == 409:
        # A field-manager conflict of server-side apply is a decision, not a race.
        return "conflict" not in error.server_message.lower() or "modified" in (
            error.server_message.lower()
        )
    return error.status in TRANSIENT_STATUSES


def is_transient_on_write(error: Exception) -> bool:
    """``is_transient``, and the refusal of a Pod created right after its namespace, whose
    ServiceAccount token does not exist yet (the server says to retry)."""
    if is_transient(error):
        return True
    return (
        isinstance(error, ApiError)
        and "service account" in error.server_message.lower()
        and "retry" in error.server_message.lower()
    )


def with_retries(
    action: Callable[[], T],
    *,
    deadline_seconds: float = 120.0,
    first_delay: float = 0.2,
    max_delay: float = 10.0,
    transient: Callable[[Exception], bool] = is_transient,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``action`` until it succeeds, a permanent error occurs, or the deadline passes."""
    deadline = clock() + deadline_seconds
    delay = first_delay
    while True:
        try:
            return action()
        except (ApiError, Unreachable) as error:
            if not transient(error) or clock() >= deadline:
                raise
            wait = delay
            if isinstance(error, ApiError) and error.retry_after is not None:
                wait = max(wait, error.retry_after)
            wait = min(wait, max_delay, max(0.0, deadline - clock())) * (
                0.8 + 0.4 * random.random()
            )
            log.info("retrying in %.1fs: %s", wait, error)
            sleep(wait)
            delay = min(delay * 2, max_delay)
