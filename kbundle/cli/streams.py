"""``-`` on the command line: a bundle read from stdin or written to stdout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from kbundle.core.errors import UsageError

STREAM = "-"


def bundle_source(bundle: str) -> Path | BinaryIO:
    return sys.stdin.buffer if bundle == STREAM else Path(bundle)


def bundle_target(output: str) -> Path | BinaryIO:
    """A path, or stdout (never a terminal: a bundle is binary)."""
    if output != STREAM:
        return Path(output)
    if sys.stdout.isatty():
        raise UsageError(
            "refusing to write a binary bundle to a terminal", hint="redirect stdout or use -o FILE"
        )
    return sys.stdout.buffer
