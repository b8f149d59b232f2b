"""Where the CLI writes: results on stdout, everything else on stderr, progress on a
terminal only, logs with ``-v``. Rich is loaded on first use, not at start-up."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
Progress = Callable[[int, int, str], None]  # done, total, what is being done


@functools.cache
def out() -> Console:
    from rich.console import Console  # noqa: PLC0415 - start-up time

    return Console(highlight=False, soft_wrap=True)


@functools.cache
def err() -> Console:
    from rich.console import Console  # noqa: PLC0415 - start-up time

    return Console(stderr=True, highlight=False, soft_wrap=True)


def say(line: str) -> None:
    """One line on stderr, exactly as given (no markup)."""
    err().print(line, markup=False)


def show(line: str) -> None:
    """One line of results on stdout, exactly as given (no markup)."""
    out().print(line, markup=False)


def with_progress(run: Callable[[Progress | None], T], description: str) -> T:
    """Run ``run`` with a progress bar on a terminal, silently otherwise. Each phase the
    work announces (``core.progress``) gets a bar of its own: its name, count, rate and
    time left, in place of the last phase's."""
    if not err().is_terminal:
        return run(None)
    from rich.progress import (  # noqa: PLC0415 - start-up time
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar  # noqa: PLC0415

    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _rate_column(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[what]}"),
        console=err(),
        transient=True,
    ) as bar:
        return run(_PhasedBar(bar, description))


class _PhasedBar:
    """The progress callback the verbs get: counts for the current phase's task; a new
    phase replaces the task, so that rate and time left restart with it."""

    def __init__(self, bar: Any, description: str) -> None:
        self._bar = bar
        self._task = bar.add_task(description, total=None, what="")

    def __call__(self, done: int, total: int, what: str) -> None:
        self._bar.update(self._task, completed=done, total=total, what=what)

    def phase(self, name: str) -> None:
        self._bar.remove_task(self._task)
        self._task = self._bar.add_task(name, total=None, what="")


def _rate_column() -> Any:
    """Items per second, as the bar's own speed estimate has it (blank until known)."""
    from rich.progress import ProgressColumn  # noqa: PLC0415 - start-up time
    from rich.text import Text  # noqa: PLC0415

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.speed
            return Text("" if speed is None else f"{speed:,.0f}/s")

    return Rate()


LEVELS = {0: logging.WARNING, 1: logging.INFO}


def configure_logging(verbosity: int) -> None:
    """``-v``: what kbundle decides and retries (INFO); ``-vv``: every request (DEBUG).
    Records carry paths, statuses, timings and reasons; never a body, so never a Secret."""
    root = logging.getLogger("kbundle")
    root.handlers.clear()
    root.propagate = False
    if verbosity <= 0:
        root.setLevel(logging.WARNING)
        root.addHandler(logging.NullHandler())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s.%(msecs)03d %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S"
        )
    )
    root.addHandler(handler)
    root.setLevel(LEVELS.get(verbosity, logging.DEBUG))
