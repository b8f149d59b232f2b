"""Python's cyclic garbage collector, kept from walking a cluster's worth of objects again
and again.

Reading a cluster creates millions of short-lived containers (each list page, decoded) while
the facts kept about every object grow to hundreds of thousands of small ones; each full
pass of the cyclic collector walks them all, more often the more there are. None of it forms
reference cycles: reference counting frees every page as soon as it is read. At 50,000
objects those passes were a fifth to a quarter of the export's time.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic collection inside the block (it is process-wide: a library caller's other
    threads pause too, for as long as the block runs); as it was, afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Full passes come after this many young passes (the default is 10): in effect, never.
_NEVER = 1 << 30


@contextlib.contextmanager
def only_young_collected() -> Iterator[None]:
    """Inside the block, the cyclic collector passes over young objects only, never over
    every object (process-wide, like ``collection_paused``; as it was, afterwards).

    For work that keeps a table per object for the whole run (an import's outcomes and
    refs, the live objects it compares with): each full pass walks all of them, and at
    50,000 objects full passes were a fifth of a re-import's time. Unlike a pause, the
    cycles such work does make (an exception with its traceback, one per failed object)
    still die young and are collected."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, _NEVER)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


def no_collection_at_exit() -> None:
    """At the end of a command-line run, the interpreter's final collection walks every
    object still alive, to find cycles whose memory the operating system frees anyway: 0.05
    to 0.1 s after the last write of a 50,000-object import. The objects alive then are
    frozen (``gc.freeze``) as the last thing before it, so it has none to walk. Files and
    temporary folders are closed and removed by their owners and by the exit handlers
    registered after this one, which run first. For the CLI only: a library caller's
    process is its own."""
    atexit.register(gc.freeze)
