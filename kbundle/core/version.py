"""kbundle's version: one place, read by the package metadata and by ``--version``."""

__version__ = "0.1.0"
