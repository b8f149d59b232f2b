"""Where the passphrase of encrypted Secrets comes from (light: the CLI builds one early)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kbundle.core.errors import UsageError


@dataclass(frozen=True)
class PassphraseSource:
    """A file, an environment variable (default ``$KBUNDLE_PASSPHRASE``) or, from Python, the
    bytes themselves; never a flag's value. Read only when needed, so a bundle without
    encrypted Secrets never asks for it."""

    file: Path | None = None
    env: str | None = None
    value: bytes | None = field(default=None, repr=False)

    @property
    def named(self) -> bool:
        """Whether a file or a variable was named (rather than the default variable)."""
        return self.file is not None or self.env is not None

    def read(self, *, for_writing: bool) -> bytes:
        if self.value is not None:
            if self.named:
                raise UsageError("give the passphrase one way: a file, a variable or a value")
            return self.value
        from kbundle.bundle.secret_encryption import read_passphrase  # noqa: PLC0415

        return read_passphrase(self.file, self.env, for_writing=for_writing)
