"""What several verbs share: which cluster, where a bundle comes from and goes to, and the
one way from a bundle file to a bundle fit to use.

Light on purpose: the CLI imports it (for the enums and option types) before it knows which
command runs, so nothing here loads YAML, cryptography or the cluster client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from kbundle.core.errors import BundleFormatError, UsageError

if TYPE_CHECKING:
    from kbundle.bundle.trust import ReadyBundle, TrustPolicy

BundleSource = Path | BinaryIO  # a bundle file, or a stream to read it from (stdin)
BundleTarget = Path | BinaryIO  # a file to create or replace, or a stream (stdout)


@dataclass(frozen=True)
class ClusterTarget:
    """A cluster as kubectl names it: ``--kubeconfig`` and ``--context`` (defaults:
    ``$KUBECONFIG``, then ``~/.kube/config``; the current context)."""

    kubeconfig: str | None = None
    context: str | None = None


class SecretsMode(StrEnum):
    """What export does with Secrets."""

    INCLUDE = "include"  # as the API returns them; the bundle file is mode 0600
    EXCLUDE = "exclude"  # never read
    ENCRYPT = "encrypt"  # data sealed with a passphrase


def display_name(bundle: BundleSource | BundleTarget, stream_name: str = "stdin") -> str:
    """How messages name a bundle: its path, or ``stdin``/``stdout`` for a stream."""
    return str(bundle) if isinstance(bundle, Path) else stream_name


def checked_source(bundle: BundleSource) -> BundleSource:
    """A bundle to read: a path must name an existing file."""
    if isinstance(bundle, Path) and not bundle.is_file():
        raise UsageError(f"{bundle}: no such bundle file")
    return bundle


def checked_output(output: BundleTarget, flag: str = "-o") -> BundleTarget:
    """A bundle file to write: not a folder, in a folder that exists."""
    if isinstance(output, Path):
        if output.is_dir():
            raise UsageError(f"{flag} {output}: is a folder; name the bundle file")
        if not output.parent.is_dir():
            raise UsageError(f"{flag} {output}: folder {output.parent} does not exist")
    return output


def size_of(output: BundleTarget) -> int | None:
    """Bytes written to a bundle file; None for a stream."""
    return output.stat().st_size if isinstance(output, Path) else None


@contextlib.contextmanager
def naming(bundle: BundleSource) -> Iterator[None]:
    """Errors about a bundle's content name the bundle first, then the member."""
    try:
        yield
    except BundleFormatError as error:
        raise type(error)(f"{display_name(bundle)}: {error.message}", hint=error.hint) from None


def ready_bundle(bundle: BundleSource, work: Path, policy: TrustPolicy) -> ReadyBundle:
    """Verify, check the signature, open the Secrets, as ``policy`` asks: all offline, all
    before any request; errors name the bundle."""
    from kbundle.bundle.trust import accept_bundle  # noqa: PLC0415 - see the module docstring

    with naming(bundle):
        return accept_bundle(checked_source(bundle), work, policy)
