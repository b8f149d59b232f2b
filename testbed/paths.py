"""Where the test environment keeps binaries and cluster state.

One place decides the folders so the build, the locator and the CLI never disagree.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Root of kbundle's test-environment cache (``KBUNDLE_TESTENV_CACHE`` overrides it)."""
    override = os.environ.get("KBUNDLE_TESTENV_CACHE")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "kbundle" / "testenv"


def binaries_dir(version: str) -> Path:
    """Folder holding the control-plane binaries of one Kubernetes version."""
    return cache_root() / version


def clusters_root() -> Path:
    """Default home of clusters started by ``python -m testbed up``."""
    return cache_root() / "clusters"
