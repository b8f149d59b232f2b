"""The errors kbundle reports to users: one line naming the culprit, plus a hint.

Library code raises these; only the CLI turns them into messages and exit codes.
"""

from __future__ import annotations


class KbundleError(Exception):
    """Base of every error meant for the user; ``hint`` says what to do next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(KbundleError):
    """A flag or argument the user gave cannot be honoured."""

    exit_code = 2


class ClusterError(KbundleError):
    """The cluster could not be reached or refused a request."""


class BundleFormatError(KbundleError):
    """A bundle is malformed: structure, schema or version."""


class IntegrityError(BundleFormatError):
    """A bundle's content does not match its checksums."""
