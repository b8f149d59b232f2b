"""Private scratch folders that never outlive the command, even on Ctrl-C.

``tempfile.TemporaryDirectory`` creates its folder before it registers the cleanup, so an
interrupt landing between the two leaves an empty folder behind. Here the name is chosen
first and the folder is created inside the ``try`` whose ``finally`` removes it.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def scratch_folder(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A new folder, mode 0700, under ``parent`` (default: the temporary folder)."""
    base = parent if parent is not None else Path(tempfile.gettempdir())
    folder = base / f"{prefix}{secrets.token_hex(8)}"
    try:
        folder.mkdir(mode=0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
