"""What a verified bundle must still prove before it is used, offline and before any request.

Verification proves a bundle is whole and well-formed; it cannot say who wrote it or open
its encrypted Secrets. ``require_signature`` checks the signature against keys the user
trusts; ``open_secrets`` checks the passphrase (a wrong one fails before anything else) and
decrypts every Secret up front, so a damaged envelope can never stop an import half-way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kbundle.bundle.secret_encryption import EncryptionInfo, SecretKey, read_passphrase
from kbundle.bundle.signing import check_signature, load_public_key
from kbundle.errors import IntegrityError
from kbundle.model import is_secret
from kbundle.verify import VerifiedBundle


@dataclass(frozen=True)
class PassphraseSource:
    """Where the passphrase comes from: a file or an environment variable, never a flag value.

    Read only when needed, so a bundle without encrypted Secrets never asks for it.
    """

    file: Path | None = None
    env: str | None = None

    def read(self, *, for_writing: bool) -> bytes:
        return read_passphrase(self.file, self.env, for_writing=for_writing)


def require_signature(bundle: VerifiedBundle, trusted: Sequence[Path]) -> str | None:
    """The id of the trusted key that signed ``bundle``; None when no key is required."""
    if not trusted:
        return None
    keys = [load_public_key(path) for path in trusted]
    if bundle.signature is None:
        raise IntegrityError(
            "the bundle is not signed, and --require-signature asks for a signature",
            hint="sign it with: kbundle sign BUNDLE --key KEY",
        )
    return check_signature(bundle.signature, bundle.manifest_bytes, keys)


def open_secrets(bundle: VerifiedBundle, passphrase: PassphraseSource) -> VerifiedBundle:
    """``bundle`` with every encrypted Secret decrypted; the same bundle if none is."""
    if not bundle.manifest.secrets_encrypted:
        return bundle
    secrets = bundle.manifest.secrets
    assert secrets is not None and secrets.encryption is not None  # the schema requires it
    key = SecretKey.unlock(
        passphrase.read(for_writing=False), EncryptionInfo.from_dict(secrets.encryption)
    )
    opened: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle.entries:
        if is_secret(entry.api_version, entry.kind):
            opened[entry.path] = [key.open(document) for document in bundle.documents(entry)]
    return dataclasses.replace(bundle, replaced={**bundle.replaced, **opened})
