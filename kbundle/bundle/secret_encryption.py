"""Passphrase encryption of Secret contents (``kbundle export --secrets encrypt``).

Why: bundles cross air gaps on removable media that get copied, lost and left in drawers; whoever
holds the file must not hold the Secrets. Only the sensitive parts of a Secret (``data``,
``stringData`` and the last-applied annotation that repeats them) are sealed with AES-256-GCM
under a key derived from a passphrase by scrypt; names, labels and types stay readable so a
bundle can still be reviewed and verified without the passphrase. The passphrase is read from a
file or an environment variable, never from a flag value (flags end up in shell history and in
``ps`` output). A bundle is untrusted input: its scrypt parameters are bounded before any
derivation, and every failure is one line naming the Secret, never a value.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from kbundle.core.errors import BundleFormatError, KbundleError, UsageError
from kbundle.core.model import LAST_APPLIED, SEALED_FIELD, is_sealed

SCHEME = "scrypt-aes-256-gcm"
ENVELOPE_FIELD = SEALED_FIELD
PASSPHRASE_ENV = "KBUNDLE_PASSPHRASE"
MIN_PASSPHRASE_CHARS = 12

ENVELOPE_VERSION = 1
DEFAULT_N = 2**15
DEFAULT_R = 8
DEFAULT_P = 1
MIN_N, MAX_N = 2**14, 2**20
MAX_R = 16
MAX_P = 4
MAX_SCRYPT_MEMORY = 256 << 20  # 128 * n * r bytes; the default asks for 32 MiB
SALT_BYTES = 16
MIN_SALT_BYTES, MAX_SALT_BYTES = 16, 64
NONCE_BYTES = 12
KEY_BYTES = 32
TAG_BYTES = 16

_SECRET_AD = b"kbundle secret v1"
# The check is sealed under its own associated data so it can never pass for a Secret envelope.
_CHECK_AD = b"kbundle passphrase check v1"
_CHECK_PLAINTEXT = b"kbundle: the passphrase is right"
_INFO_FIELD = "secrets.encryption"
_INFO_KEYS = ("scheme", "salt", "n", "r", "p", "check")
_ENVELOPE_KEYS = frozenset({"version", "nonce", "ciphertext"})
_PAYLOAD_KEYS = ("data", "stringData", "lastApplied")
# A passphrase is short; anything bigger is the wrong file (or /dev/zero).
_MAX_PASSPHRASE_FILE_BYTES = 4096

Random = Callable[[int], bytes]


class WrongPassphrase(KbundleError):
    """The passphrase does not open this bundle's encrypted Secrets."""

    def __init__(self) -> None:
        super().__init__(
            "wrong passphrase for the encrypted secrets of this bundle",
            hint="use the passphrase given at export",
        )


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict standard base64; raises ValueError (whose text never repeats the input)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class EncryptionInfo:
    """How the Secrets of a bundle were encrypted; stored in the manifest, holds no secret."""

    scheme: str
    salt: str
    n: int
    r: int
    p: int
    check: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "salt": self.salt,
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "check": self.check,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncryptionInfo:
        if not isinstance(data, dict):
            raise BundleFormatError(f"{_INFO_FIELD} is not a mapping")
        missing = [key for key in _INFO_KEYS if key not in data]
        if missing:
            raise BundleFormatError(f"{_INFO_FIELD} lacks {', '.join(missing)}")
        unknown = sorted(str(key) for key in data if key not in _INFO_KEYS)
        if unknown:
            raise BundleFormatError(f"{_INFO_FIELD} has unknown keys: {', '.join(unknown)}")
        for key in ("scheme", "salt", "check"):
            if not isinstance(data[key], str):
                raise BundleFormatError(f"{_INFO_FIELD}.{key} is not a string")
        for key in ("n", "r", "p"):
            if not _is_int(data[key]):
                raise BundleFormatError(f"{_INFO_FIELD}.{key} is not an integer")
        if data["scheme"] != SCHEME:
            raise BundleFormatError(
                f"{_INFO_FIELD}.scheme {data['scheme'][:64]!r} is not supported "
                f"(this kbundle knows {SCHEME})",
                hint="upgrade kbundle",
            )
        return cls(
            scheme=data["scheme"],
            salt=data["salt"],
            n=data["n"],
            r=data["r"],
            p=data["p"],
            check=data["check"],
        )


def _checked_inputs(info: EncryptionInfo) -> tuple[bytes, bytes]:
    """Refuse what would make derivation hostile or pointless; returns (salt, check) bytes."""
    if info.scheme != SCHEME:
        raise BundleFormatError(f"{_INFO_FIELD}.scheme is not supported (known: {SCHEME})")
    n, r, p = info.n, info.r, info.p
    if not (_is_int(n) and MIN_N <= n <= MAX_N and n & (n - 1) == 0):
        raise BundleFormatError(
            f"{_INFO_FIELD}.n must be a power of two from 2**14 to 2**20",
            hint="the bundle was edited or written by an incompatible tool",
        )
    if not (_is_int(r) and 1 <= r <= MAX_R):
        raise BundleFormatError(f"{_INFO_FIELD}.r must be an integer from 1 to {MAX_R}")
    if not (_is_int(p) and 1 <= p <= MAX_P):
        raise BundleFormatError(f"{_INFO_FIELD}.p must be an integer from 1 to {MAX_P}")
    if 128 * n * r > MAX_SCRYPT_MEMORY:
        raise BundleFormatError(
            f"{_INFO_FIELD}: n and r ask scrypt for more than {MAX_SCRYPT_MEMORY >> 20} MiB"
        )
    try:
        salt = _b64decode(info.salt) if isinstance(info.salt, str) else b""
    except ValueError:
        raise BundleFormatError(f"{_INFO_FIELD}.salt is not base64") from None
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
        raise BundleFormatError(
            f"{_INFO_FIELD}.salt must be {MIN_SALT_BYTES} to {MAX_SALT_BYTES} bytes"
        )
    try:
        check = _b64decode(info.check) if isinstance(info.check, str) else b""
    except ValueError:
        raise BundleFormatError(f"{_INFO_FIELD}.check is not base64") from None
    if len(check) < NONCE_BYTES + TAG_BYTES:
        raise BundleFormatError(f"{_INFO_FIELD}.check is too short")
    return salt, check


def _derive(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(passphrase)


def _random_bytes(random: Random, size: int) -> bytes:
    data = random(size)
    if len(data) != size:
        raise ValueError(f"the random source gave {len(data)} bytes instead of {size}")
    return data


def describe_secret(secret: dict[str, Any]) -> str:
    """``Secret <namespace>/<name>``, safe to print even for a hostile object."""
    metadata = secret.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    name, namespace = metadata.get("name"), metadata.get("namespace")
    name_text = _printable(name) if name else "<unnamed>"
    if namespace:
        return f"Secret {_printable(namespace)}/{name_text}"
    return f"Secret {name_text}"


def _printable(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    if not text.isprintable():
        text = repr(text)
    return text if len(text) <= 253 else text[:250] + "..."


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    )


def _payload_problem(payload: dict[str, Any]) -> str | None:
    """What is wrong with a sealed payload, or None; never mentions a value."""
    unknown = [key for key in payload if key not in _PAYLOAD_KEYS]
    if unknown:
        return "has unexpected fields"
    for key in ("data", "stringData"):
        if key in payload and not _is_str_map(payload[key]):
            return f"{key} does not map strings to strings"
    if "lastApplied" in payload and not isinstance(payload["lastApplied"], str):
        return f"annotation {LAST_APPLIED} is not a string"
    return None


class SecretKey:
    """A key unlocked from a passphrase; seals and opens Secrets. Never shows the key."""

    __slots__ = ("_aead", "_random")

    def __init__(self, key: bytes, random: Random = os.urandom) -> None:
        self._aead = AESGCM(key)
        self._random = random

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"

    @classmethod
    def create(
        cls, passphrase: bytes, *, random: Random = os.urandom
    ) -> tuple[SecretKey, EncryptionInfo]:
        """A new key for one export: fresh salt, default scrypt cost, and its passphrase check."""
        if not passphrase:
            raise UsageError("the passphrase is empty")
        salt = _random_bytes(random, SALT_BYTES)
        key = cls(_derive(passphrase, salt, DEFAULT_N, DEFAULT_R, DEFAULT_P), random)
        nonce = _random_bytes(random, NONCE_BYTES)
        check = nonce + key._aead.encrypt(nonce, _CHECK_PLAINTEXT, _CHECK_AD)
        info = EncryptionInfo(
            scheme=SCHEME,
            salt=_b64encode(salt),
            n=DEFAULT_N,
            r=DEFAULT_R,
            p=DEFAULT_P,
            check=_b64encode(check),
        )
        return key, info

    @classmethod
    def unlock(cls, passphrase: bytes, info: EncryptionInfo) -> SecretKey:
        """The key of a bundle; parameters are checked before the (costly) derivation."""
        salt, check = _checked_inputs(info)
        key = cls(_derive(passphrase, salt, info.n, info.r, info.p))
        try:
            plaintext = key._aead.decrypt(check[:NONCE_BYTES], check[NONCE_BYTES:], _CHECK_AD)
        except InvalidTag:
            raise WrongPassphrase() from None
        if plaintext != _CHECK_PLAINTEXT:
            raise BundleFormatError(f"{_INFO_FIELD}.check is not a kbundle passphrase check")
        return key

    def seal(self, secret: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``secret`` whose data, stringData and last-applied annotation are sealed."""
        what = describe_secret(secret)
        if is_sealed(secret):
            raise KbundleError(f"{what} is already encrypted")
        sealed = copy.deepcopy(secret)
        payload: dict[str, Any] = {}
        for key in ("data", "stringData"):
            if key in sealed:
                value = sealed.pop(key)
                if value is not None:  # null is absent to the Kubernetes API
                    payload[key] = value
        metadata = sealed.get("metadata")
        if isinstance(metadata, dict):
            annotations = metadata.get("annotations")
            if isinstance(annotations, dict) and LAST_APPLIED in annotations:
                payload["lastApplied"] = annotations.pop(LAST_APPLIED)
                if not annotations:
                    del metadata["annotations"]
        problem = _payload_problem(payload)
        if problem:
            raise KbundleError(f"cannot encrypt {what}: {problem}")
        plaintext = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
        nonce = _random_bytes(self._random, NONCE_BYTES)
        sealed[ENVELOPE_FIELD] = {
            "version": ENVELOPE_VERSION,
            "nonce": _b64encode(nonce),
            "ciphertext": _b64encode(self._aead.encrypt(nonce, plaintext, _SECRET_AD)),
        }
        return sealed

    def open(self, secret: dict[str, Any]) -> dict[str, Any]:
        """The inverse of :meth:`seal`: a copy with the sealed fields restored."""
        what = describe_secret(secret)

        def malformed(problem: str) -> BundleFormatError:
            return BundleFormatError(
                f"{what}: {problem}",
                hint="the bundle was damaged or modified after it was written",
            )

        envelope = secret.get(ENVELOPE_FIELD)
        if not isinstance(envelope, dict):
            raise malformed(f"{ENVELOPE_FIELD} is missing or not a mapping")
        if set(envelope) != _ENVELOPE_KEYS:
            raise malformed(f"{ENVELOPE_FIELD} must have exactly version, nonce and ciphertext")
        version = envelope["version"]
        if not _is_int(version) or version != ENVELOPE_VERSION:
            raise malformed(f"{ENVELOPE_FIELD}.version is not {ENVELOPE_VERSION}")
        fields: dict[str, bytes] = {}
        for key in ("nonce", "ciphertext"):
            value = envelope[key]
            try:
                if not isinstance(value, str):
                    raise ValueError("not a string")
                fields[key] = _b64decode(value)
            except ValueError:
                raise malformed(f"{ENVELOPE_FIELD}.{key} is not a base64 string") from None
        if len(fields["nonce"]) != NONCE_BYTES:
            raise malformed(f"{ENVELOPE_FIELD}.nonce is not {NONCE_BYTES} bytes")
        try:
            plaintext = self._aead.decrypt(fields["nonce"], fields["ciphertext"], _SECRET_AD)
        except InvalidTag:
            raise malformed(
                "encrypted content does not authenticate "
                "(modified, or encrypted under another passphrase or bundle)"
            ) from None
        try:
            payload = json.loads(plaintext)
        except ValueError:
            raise malformed("decrypted content is not JSON") from None
        if not isinstance(payload, dict):
            raise malformed("decrypted content is not a JSON object")
        problem = _payload_problem(payload)
        if problem:
            raise malformed(f"decrypted content {problem}")

        opened = copy.deepcopy(secret)
        del opened[ENVELOPE_FIELD]
        for key in ("data", "stringData"):
            if key in opened:
                raise malformed(f"has both {ENVELOPE_FIELD} and plaintext {key}")
            if key in payload:
                opened[key] = payload[key]
        if "lastApplied" in payload:
            metadata = opened.setdefault("metadata", {})
            if not isinstance(metadata, dict):
                raise malformed("metadata is not a mapping")
            annotations = metadata.setdefault("annotations", {})
            if not isinstance(annotations, dict):
                raise malformed("metadata.annotations is not a mapping")
            if LAST_APPLIED in annotations:
                raise malformed(f"has both {ENVELOPE_FIELD} and a plaintext {LAST_APPLIED}")
            annotations[LAST_APPLIED] = payload["lastApplied"]
        return opened


def read_passphrase(file: Path | None, env: str | None, *, for_writing: bool) -> bytes:
    """The passphrase from a file or an environment variable; errors never show it."""
    if file is not None and env is not None:
        raise UsageError("give --passphrase-file or --passphrase-env, not both")
    if file is not None:
        source = f"passphrase file {file}"
        passphrase = _read_passphrase_file(file, source)
    else:
        name = env
        if name is None:
            if PASSPHRASE_ENV not in os.environ:
                raise UsageError(
                    "encrypted secrets need a passphrase: "
                    "--passphrase-file FILE or --passphrase-env VAR",
                    hint=f"or set the environment variable {PASSPHRASE_ENV}",
                )
            name = PASSPHRASE_ENV
        source = f"environment variable {name}"
        value = os.environ.get(name)
        if value is None:
            raise UsageError(f"{source} is not set")
        passphrase = os.fsencode(value)
    if not passphrase:
        raise UsageError(f"{source} holds an empty passphrase")
    chars = len(passphrase.decode("utf-8", errors="surrogateescape"))
    if for_writing and chars < MIN_PASSPHRASE_CHARS:
        raise UsageError(
            f"the passphrase in {source} is too short: "
            f"use at least {MIN_PASSPHRASE_CHARS} characters"
        )
    return passphrase


def _read_passphrase_file(file: Path, source: str) -> bytes:
    try:
        with file.open("rb") as stream:
            data = stream.read(_MAX_PASSPHRASE_FILE_BYTES + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UsageError(f"cannot read {source}: {reason}") from None
    if len(data) > _MAX_PASSPHRASE_FILE_BYTES:
        raise UsageError(
            f"{source} is larger than {_MAX_PASSPHRASE_FILE_BYTES} bytes; "
            "it should hold only the passphrase"
        )
    if data.endswith(b"\r\n"):
        return data[:-2]
    if data.endswith(b"\n"):
        return data[:-1]
    return data
