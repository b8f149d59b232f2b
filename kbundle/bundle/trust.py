"""From a bundle file to a bundle fit to use: verify, check the signature, open Secrets.

Verification proves a bundle is whole and well-formed; it cannot say who wrote it or open
its encrypted Secrets. ``accept_bundle`` does all three, always in this order and all
offline, before any request: verify; check the signature against the keys the user trusts
(when asked); check the passphrase and decrypt every Secret up front (when asked), so a
wrong passphrase fails before anything else and a damaged envelope can never stop an
import half-way. A ``ReadyBundle``, what import, render and transform take, can only be had
from ``accept_bundle``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.reader import DEFAULT_LIMITS, Limits
from kbundle.bundle.secret_encryption import EncryptionInfo, SecretKey
from kbundle.bundle.signing import check_signature, load_public_key
from kbundle.bundle.verify import VerifiedBundle, verify_bundle
from kbundle.core.errors import BundleFormatError, IntegrityError, UsageError

__all__ = [
    "PassphraseSource",
    "ReadyBundle",
    "TrustPolicy",
    "accept_bundle",
    "open_secrets",
    "require_signature",
]
from kbundle.core.model import FileEntry, ProgressCallback, is_secret


@dataclass(frozen=True)
class TrustPolicy:
    """What must hold before a bundle is used, beyond verification.

    ``trusted_keys``: public keys (PEM or OpenSSH) of which one must have signed the bundle;
    empty: no signature required. ``passphrase``: where to read the passphrase that opens
    encrypted Secrets; ``None`` leaves them sealed (``kbundle transform``)."""

    trusted_keys: tuple[Path, ...] = ()
    passphrase: PassphraseSource | None = None


_MINT = object()  # only accept_bundle holds it


class ReadyBundle:
    """A bundle that verified, was signed by a trusted key when one was required, and whose
    Secrets were opened when a passphrase was given, in that order (``accept_bundle``)."""

    __slots__ = ("bundle", "signed_by")

    def __init__(self, mint: object, bundle: VerifiedBundle, signed_by: str | None) -> None:
        if mint is not _MINT:
            raise TypeError("a ReadyBundle comes from kbundle.bundle.trust.accept_bundle only")
        self.bundle = bundle
        self.signed_by = signed_by  # the trusted key id, when a signature was required

    @property
    def secrets_sealed(self) -> bool:
        """Whether any Secret of the bundle is still encrypted."""
        return any(entry.objects and self.sealed(entry) for entry in self.bundle.entries)

    def sealed(self, entry: FileEntry) -> bool:
        """Whether ``entry``'s Secrets are still encrypted: verification proved every Secret
        sealed exactly when the manifest says so, and opened files are kept apart."""
        bundle = self.bundle
        return (
            bundle.manifest.secrets_encrypted
            and is_secret(entry.api_version, entry.kind)
            and entry.path not in bundle.replaced
        )

    def refuse_sealed_secrets(self) -> None:
        """Raise unless every Secret is open: sealed envelopes must never reach a cluster."""
        if self.secrets_sealed:
            raise UsageError(
                "the bundle's Secrets are still encrypted: they cannot be applied or rendered",
                hint="give the passphrase (--passphrase-file, --passphrase-env or "
                "$KBUNDLE_PASSPHRASE)",
            )


def accept_bundle(
    source: Path | BinaryIO,
    workdir: Path,
    policy: TrustPolicy = TrustPolicy(),
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> ReadyBundle:
    """Verify ``source`` into the empty private folder ``workdir``, then check its signature
    and open its Secrets as ``policy`` asks: the only way to a ``ReadyBundle``."""
    verified = verify_bundle(source, workdir, limits, progress)
    signed_by = require_signature(verified, policy.trusted_keys)
    if policy.passphrase is not None:
        verified = open_secrets(verified, policy.passphrase)
    return ReadyBundle(_MINT, verified, signed_by)


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
    if secrets is None or secrets.encryption is None:  # the schema requires it
        raise BundleFormatError("the manifest says secrets are encrypted but not how")
    key = SecretKey.unlock(
        passphrase.read(for_writing=False), EncryptionInfo.from_dict(secrets.encryption)
    )
    opened: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle.entries:
        if is_secret(entry.api_version, entry.kind):
            opened[entry.path] = [key.open(document) for document in bundle.documents(entry)]
    return dataclasses.replace(bundle, replaced={**bundle.replaced, **opened})
