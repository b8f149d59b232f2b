"""Where a bundle on the command line is: ``-`` (stdin or stdout), a file, or a remote
reference (``oci://``, ``oci-layout:``, ``s3://``...)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from kbundle.core.errors import UsageError
from kbundle.remote.refs import RemoteBundle, RemoteOptions, remote_or_none

STREAM = "-"


def bundle_source(
    bundle: str, remote: RemoteOptions = RemoteOptions()
) -> Path | BinaryIO | RemoteBundle:
    if bundle == STREAM:
        return sys.stdin.buffer
    found = remote_or_none(bundle)
    return Path(bundle) if found is None else RemoteBundle(found, remote)


def bundle_target(
    output: str, remote: RemoteOptions = RemoteOptions()
) -> Path | BinaryIO | RemoteBundle:
    """A path, a remote reference, or stdout (never a terminal: a bundle is binary)."""
    if output != STREAM:
        found = remote_or_none(output)
        return Path(output) if found is None else RemoteBundle(found, remote)
    if sys.stdout.isatty():
        raise UsageError(
            "refusing to write a binary bundle to a terminal", hint="redirect stdout or use -o FILE"
        )
    return sys.stdout.buffer
