"""How many malloc heaps the process may use: set once, before any thread starts.

glibc gives threads that allocate at once heaps of their own, up to eight per core. Export
decodes list pages on eight threads, and each heap kept what its pages left behind: at
80,000 listed objects, 15 MiB of the export's peak, and 7 MiB at 8,000, for no measurable
speed (the interpreter's lock serialises most allocation anyway). Elsewhere (musl, macOS)
there is no ``mallopt`` and nothing changes; a ``MALLOC_ARENA_MAX`` the user set is left to
glibc.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter number
HEAPS = 2


def limit_malloc_heaps() -> bool:
    """Ask glibc for at most ``HEAPS`` heaps; whether the setting was made."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, HEAPS))
