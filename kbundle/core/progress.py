"""How long work reports where it is: counts per phase, and when each phase starts.

A progress callback is called ``(done, total, what)``. Work with several phases (an export
lists, then writes; an import verifies, reads its bundle, reads the destination, then
applies) restarts the counts at each, and tells a callback that also has a ``phase(name)``
method (the command line's bar) the phase's name first, so that its rate and time left are
the phase's own.
"""

from __future__ import annotations

import threading

from kbundle.core.model import ProgressCallback

LISTING = "listing"
WRITING = "writing"
VERIFYING = "verifying"
READING_BUNDLE = "reading the bundle"
READING_DESTINATION = "reading the destination"
APPLYING = "applying"
DRY_RUN = "dry run"


def begin_phase(progress: ProgressCallback | None, name: str) -> None:
    """Tell ``progress`` that the phase ``name`` starts, if it listens for phases."""
    starts = getattr(progress, "phase", None)
    if callable(starts):
        starts(name)


class Tally:
    """A count several threads advance; each step is reported (steps are whole requests)."""

    def __init__(self, progress: ProgressCallback | None, total: int) -> None:
        self._progress = progress
        self._total = total
        self._done = 0
        self._lock = threading.Lock()

    def advance(self, what: str) -> None:
        with self._lock:
            self._done += 1
            done = self._done
        if self._progress is not None:
            self._progress(done, self._total, what)


class Every:
    """Calls ``progress`` for at most one in ``step`` counts, and always for the last: a
    phase of 100,000 small steps should not cost 100,000 redraws."""

    def __init__(self, progress: ProgressCallback | None, total: int, step: int = 64) -> None:
        self._progress = progress
        self._total = total
        self._step = step
        self.done = 0

    def advance(self, what: str, count: int = 1) -> None:
        self.done += count
        if self._progress is not None and (
            self.done % self._step < count or self.done >= self._total
        ):
            self._progress(self.done, self._total, what)
