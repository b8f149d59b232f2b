"""The errors kbundle reports to users, and the exit codes they end a command with.

Library code raises these: one line naming the culprit, plus a hint. Only the CLI turns them
into messages; each error carries the exit code it ends a command with.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """How a command ended, for scripts (the README lists them)."""

    OK = 0
    FAILED = 1  # nothing was applied or written: bad bundle, unreachable cluster, a transform
    USAGE = 2  # a flag or argument cannot be honoured; nothing was applied or written
    PARTIAL = 3  # an import ran and some objects failed: re-run the same command to finish
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class KbundleError(Exception):
    """Base of every error meant for the user; ``hint`` says what to do next."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(KbundleError):
    """A flag or argument the user gave cannot be honoured."""

    exit_code = ExitCode.USAGE


class ClusterError(KbundleError):
    """The cluster could not be reached or refused a request."""


class BundleFormatError(KbundleError):
    """A bundle is malformed: structure, schema or version."""


class IntegrityError(BundleFormatError):
    """A bundle's content does not match its checksums."""


class TransformError(KbundleError):
    """A transform raised on an object: its own failure, not a wrong flag (the message names
    the transform and the object)."""


class RemoteError(KbundleError):
    """A registry, an OCI layout or object storage could not give or take a bundle (the
    message names it)."""
