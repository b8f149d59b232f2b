"""Python's cyclic garbage collector, paused while a cluster's worth of facts piles up.

Reading a cluster creates millions of short-lived containers (each list page, decoded) while
the facts kept about every object grow to hundreds of thousands of small ones; each full
pass of the cyclic collector walks them all, more often the more there are. None of it forms
reference cycles: reference counting frees every page as soon as it is read. At 50,000
objects those passes were a fifth to a quarter of the export's time.
"""

from __future__ import annotations

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
