"""Ed25519 signatures over a bundle's manifest: who made the bundle, not just that it is whole.

Checksums alone prove only that a bundle is internally consistent; anyone who edits an object
file can rewrite its digest too. A signature over the exact bytes of ``manifest.yaml`` proves
that the manifest and, through the sha256 it lists for every object file, every object file
came from the holder of the private key. This module is pure: keys, the signature document
and its check. Reading and writing the tar, and the command line, live elsewhere.

The signed message is a fixed prefix plus the manifest bytes, so a kbundle signature can never
be replayed as a signature over anything else made with the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kbundle.bundle.yaml_codec import describe_error
from kbundle.core.errors import BundleFormatError, IntegrityError, UsageError

ALGORITHM = "Ed25519"
SIGNATURE_KIND = "KbundleSignature"

_DOMAIN = b"kbundle manifest signature v1\x00"
_SIGNATURE_BYTES = 64
_MAX_SIGNATURE_DOCUMENT = 64 * 1024
# A key file is a few hundred bytes; anything far larger is some other file passed by mistake.
_MAX_KEY_FILE = 1 << 20
_KEYS = ("kind", "algorithm", "keyId", "manifestSha256", "signature")
_KEY_ID = re.compile(r"sha256:[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHOWN_CHARS = 40

_OPENSSH_PRIVATE = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_PEM_PRIVATE = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_PEM_PUBLIC = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PUBLIC KEY-----")
_KEYGEN_HINT = "create an Ed25519 key pair with `kbundle keygen`"
_ENCRYPTED = "is passphrase-protected; kbundle needs an unencrypted Ed25519 key"

# libyaml is much faster; both are safe loaders (no Python tags, no arbitrary objects).
_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new key pair: (private key PEM in unencrypted PKCS8, public key PEM in SPKI)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def public_key_path(private_path: Path) -> Path:
    """Where the public half of ``private_path`` goes: the same name plus ``.pub``."""
    return private_path.with_name(private_path.name + ".pub")


def write_key_pair(private_path: Path) -> Path:
    """Write a new private key (mode 0600) and its public key (``.pub``, mode 0644).

    Neither file may exist: a key is never overwritten, since losing a private key that
    bundles were signed with cannot be undone. Returns the public key's path.
    """
    public_path = public_key_path(private_path)
    private_pem, public_pem = generate_key_pair()
    private_fd = _create_exclusive(private_path, 0o600)
    try:
        public_fd = _create_exclusive(public_path, 0o644)
    except BaseException:
        os.close(private_fd)
        private_path.unlink()
        raise
    _write_all(private_fd, private_pem)
    _write_all(public_fd, public_pem)
    return public_path


def _create_exclusive(path: Path, mode: int) -> int:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise UsageError(
            f"{path} already exists; kbundle never overwrites a key file",
            hint="choose another path, or move the existing key away first",
        ) from None
    except OSError as error:
        raise UsageError(f"{path}: cannot create the key file ({error.strerror})") from None
    # The mode given to open() is reduced by the umask; the key files need exactly these.
    os.fchmod(fd, mode)
    return fd


def _write_all(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path``: PEM (PKCS8 or traditional) or OpenSSH, unencrypted."""
    data = _read_key_file(path)
    if _is_private(data):
        return _private_from(path, data)
    if _PEM_PUBLIC.search(data) or _looks_like_openssh_public(data):
        raise UsageError(
            f"{path}: is a public key; signing needs the private key",
            hint="pass the private key file (the one without .pub)",
        )
    raise UsageError(f"{path}: is not a PEM or OpenSSH private key", hint=_KEYGEN_HINT)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in ``path``: PEM (SPKI), one OpenSSH line, or a private key file."""
    data = _read_key_file(path)
    if _is_private(data):
        return _private_from(path, data).public_key()
    key: object
    if _PEM_PUBLIC.search(data):
        key = _parse_public(path, data, serialization.load_pem_public_key)
    elif _looks_like_openssh_public(data):
        key = _parse_public(path, data.strip(), serialization.load_ssh_public_key)
    else:
        raise UsageError(
            f"{path}: is not a PEM or OpenSSH public key",
            hint="pass the .pub file `kbundle keygen` wrote, or an `ssh-ed25519 AAAA...` line",
        )
    if isinstance(key, Ed25519PublicKey):
        return key
    raise UsageError(
        f"{path}: is {_describe_key(key)} public key; kbundle checks Ed25519 signatures only",
        hint=_KEYGEN_HINT,
    )


def _read_key_file(path: Path) -> bytes:
    """The file's bytes, with a one-line error that never shows any of them."""
    try:
        with path.open("rb") as file:
            data = file.read(_MAX_KEY_FILE + 1)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such key file") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read the key file ({error.strerror})") from None
    if len(data) > _MAX_KEY_FILE:
        raise UsageError(f"{path}: is larger than 1 MiB, so it is not a key file")
    return data


def _is_private(data: bytes) -> bool:
    return _OPENSSH_PRIVATE in data or _PEM_PRIVATE.search(data) is not None


def _private_from(path: Path, data: bytes) -> Ed25519PrivateKey:
    key = _parse_private(path, data)
    if isinstance(key, Ed25519PrivateKey):
        return key
    raise UsageError(
        f"{path}: is {_describe_key(key)} private key; kbundle uses Ed25519 keys only",
        hint=_KEYGEN_HINT,
    )


def _looks_like_openssh_public(data: bytes) -> bool:
    return data.lstrip().startswith((b"ssh-", b"ecdsa-sha2-", b"sk-"))


def _parse_private(path: Path, data: bytes) -> object:
    try:
        if _OPENSSH_PRIVATE in data:
            return serialization.load_ssh_private_key(data, password=None)
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        # cryptography's way of saying "encrypted, and no password was given".
        raise UsageError(
            f"{path}: {_ENCRYPTED}",
            hint="decrypt a copy (`ssh-keygen -p` or `openssl pkey`), or use `kbundle keygen`",
        ) from None
    except UnsupportedAlgorithm:
        raise UsageError(
            f"{path}: holds a private key of a type kbundle cannot use", hint=_KEYGEN_HINT
        ) from None
    except ValueError:
        raise UsageError(f"{path}: is not a valid private key file", hint=_KEYGEN_HINT) from None


def _parse_public(path: Path, data: bytes, parse: Any) -> object:
    try:
        key: object = parse(data)
    except UnsupportedAlgorithm:
        raise UsageError(
            f"{path}: holds a public key of a type kbundle cannot use", hint=_KEYGEN_HINT
        ) from None
    except ValueError:
        raise UsageError(f"{path}: is not a valid public key file", hint=_KEYGEN_HINT) from None
    return key


def _describe_key(key: object) -> str:
    """``an RSA``, ``an ECDSA (secp256r1)``...: the article and type, for a refusal."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "an RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"an ECDSA ({key.curve.name})"
    if isinstance(key, dsa.DSAPrivateKey | dsa.DSAPublicKey):
        return "a DSA"
    if isinstance(key, ed448.Ed448PrivateKey | ed448.Ed448PublicKey):
        return "an Ed448"
    if isinstance(key, x25519.X25519PrivateKey | x25519.X25519PublicKey):
        return "an X25519"
    if isinstance(key, x448.X448PrivateKey | x448.X448PublicKey):
        return "an X448"
    return "an unsupported"


def key_id(public: Ed25519PublicKey) -> str:
    """``sha256:`` and the hex sha256 of the 32 raw public key bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _message(manifest_bytes: bytes) -> bytes:
    return _DOMAIN + manifest_bytes


def signature_document(manifest_bytes: bytes, private: Ed25519PrivateKey) -> bytes:
    """The YAML signature document for ``manifest_bytes``; the same key and manifest give
    the same bytes (Ed25519 signatures are deterministic)."""
    document = {
        "kind": SIGNATURE_KIND,
        "algorithm": ALGORITHM,
        "keyId": key_id(private.public_key()),
        "manifestSha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "signature": base64.b64encode(private.sign(_message(manifest_bytes))).decode("ascii"),
    }
    return yaml.safe_dump(document, sort_keys=False, encoding="utf-8")


@dataclass(frozen=True)
class Signature:
    """A parsed signature document; nothing is verified until ``check_signature``."""

    key_id: str
    manifest_sha256: str
    signature: bytes


def parse_signature(data: bytes, member: str = "signature.yaml") -> Signature:
    """Parse an untrusted signature document; any defect is a ``BundleFormatError``."""

    def fail(problem: str) -> BundleFormatError:
        return BundleFormatError(" ".join(f"{member}: {problem}".split()))

    if len(data) > _MAX_SIGNATURE_DOCUMENT:
        raise fail(f"is {len(data)} bytes; a signature document is at most 64 KiB")
    try:
        _screen(data)
        document = yaml.load(data, Loader=_LOADER)
    except _Refused as refused:
        raise fail(str(refused)) from None
    except StopIteration:
        raise fail("ends before its mapping does") from None
    except yaml.YAMLError as error:
        raise fail(f"is not valid YAML: {describe_error(error)}") from None
    except (ValueError, OverflowError) as error:
        # Safe loaders still construct timestamps and ints, which can fail on odd scalars.
        raise fail(f"holds a value YAML cannot load ({type(error).__name__})") from None
    if not isinstance(document, dict):
        raise fail("is not a mapping")
    missing = [key for key in _KEYS if key not in document]
    unexpected = [key for key in document if key not in _KEYS]
    if unexpected:
        raise fail(f"unexpected key {_shown(unexpected[0])}")
    if missing:
        raise fail(f"missing key {missing[0]!r}")
    values: dict[str, str] = {}
    for key in _KEYS:
        value = document[key]
        if not isinstance(value, str):
            raise fail(f"{key} is {_type_name(value)}, not a string")
        values[key] = value
    if values["kind"] != SIGNATURE_KIND:
        raise fail(f"kind is {_shown(values['kind'])}, not {SIGNATURE_KIND}")
    if values["algorithm"] != ALGORITHM:
        raise fail(f"algorithm is {_shown(values['algorithm'])}; kbundle knows only {ALGORITHM}")
    if not _KEY_ID.fullmatch(values["keyId"]):
        raise fail(f"keyId is {_shown(values['keyId'])}, not sha256: and 64 lowercase hex digits")
    if not _SHA256.fullmatch(values["manifestSha256"]):
        raise fail(
            f"manifestSha256 is {_shown(values['manifestSha256'])}, not 64 lowercase hex digits"
        )
    try:
        raw = base64.b64decode(values["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise fail("signature is not valid base64") from None
    if len(raw) != _SIGNATURE_BYTES:
        raise fail(f"signature is {len(raw)} bytes; an Ed25519 signature is {_SIGNATURE_BYTES}")
    return Signature(
        key_id=values["keyId"], manifest_sha256=values["manifestSha256"], signature=raw
    )


class _Refused(Exception):
    """The document's shape is wrong before any value is looked at."""


def _screen(data: bytes) -> None:
    """Walk the YAML events and refuse anything but one flat mapping of untagged scalars.

    This runs before the document is built: libyaml's composer recurses once per nesting
    level in C, and a 64 KiB document of ``[`` crashes the interpreter. Refusing nesting,
    aliases and tags here also stops alias bombs, and only the five known keys, once each, pass.
    """
    events: Iterator[yaml.Event] = iter(yaml.parse(data, Loader=_LOADER))
    _expect(events, yaml.StreamStartEvent)
    event = next(events)
    if isinstance(event, yaml.StreamEndEvent):
        raise _Refused("is empty")
    if not isinstance(event, yaml.DocumentStartEvent):
        raise _Refused("is not a YAML document")
    event = next(events)
    if not isinstance(event, yaml.MappingStartEvent):
        raise _Refused(f"is {_event_name(event)}, not a mapping")
    _refuse_decorations(event)
    seen: set[str] = set()
    while True:
        key = _next_scalar(events)
        if key is None:
            break
        if key not in _KEYS:
            raise _Refused(f"unexpected key {_shown(key)}")
        if key in seen:
            raise _Refused(f"key {key!r} appears twice")
        seen.add(key)
        if _next_scalar(events) is None:
            raise _Refused(f"key {key!r} has no value")
    _expect(events, yaml.DocumentEndEvent)
    if not isinstance(next(events), yaml.StreamEndEvent):
        raise _Refused("holds more than one YAML document")


def _next_scalar(events: Iterator[yaml.Event]) -> str | None:
    """The next scalar of the top mapping, or None at its end; anything else is refused."""
    event = next(events)
    if isinstance(event, yaml.MappingEndEvent):
        return None
    if not isinstance(event, yaml.ScalarEvent):
        raise _Refused(f"holds {_event_name(event)}; every value must be a plain string")
    _refuse_decorations(event)
    return str(event.value)


def _expect(events: Iterator[yaml.Event], kind: type[yaml.Event]) -> None:
    if not isinstance(next(events), kind):
        raise _Refused("is not one YAML document")


def _refuse_decorations(event: yaml.NodeEvent) -> None:
    if event.anchor is not None:
        raise _Refused("uses a YAML anchor; a signature document has none")
    tag = getattr(event, "tag", None)
    if tag is not None:
        raise _Refused(f"uses the YAML tag {_shown(tag)}; a signature document has none")


def _event_name(event: yaml.Event) -> str:
    if isinstance(event, yaml.SequenceStartEvent):
        return "a sequence"
    if isinstance(event, yaml.MappingStartEvent):
        return "a nested mapping"
    if isinstance(event, yaml.AliasEvent):
        return "a YAML alias"
    if isinstance(event, yaml.ScalarEvent):
        return "a scalar"
    return "not a mapping"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a timestamp"


def _shown(value: object) -> str:
    """An untrusted value for a message: quoted, escaped to one line, and cut short."""
    text = repr(value)
    if len(text) > _SHOWN_CHARS:
        return text[: _SHOWN_CHARS - 3] + "..."
    return text


def check_signature(
    signature: Signature, manifest_bytes: bytes, trusted: Sequence[Ed25519PublicKey]
) -> str:
    """Verify ``signature`` over ``manifest_bytes`` with the trusted key it names.

    Returns the id of the key that verified; raises ``IntegrityError`` otherwise.
    """
    actual = hashlib.sha256(manifest_bytes).hexdigest()
    if signature.manifest_sha256 != actual:
        raise IntegrityError(
            f"the signature signs another manifest: manifestSha256 is "
            f"{signature.manifest_sha256}, but manifest.yaml has sha256 {actual}"
        )
    ids = list(dict.fromkeys(key_id(key) for key in trusted))
    signer = next((key for key in trusted if key_id(key) == signature.key_id), None)
    if signer is None:
        listed = ", ".join(ids) if ids else "none given"
        raise IntegrityError(
            f"signed by key {signature.key_id}, which is not among the trusted keys ({listed})",
            hint="pass the signer's public key, or ask who produced this bundle",
        )
    try:
        signer.verify(signature.signature, _message(manifest_bytes))
    except InvalidSignature:
        raise IntegrityError(
            "signature does not match the manifest: the bundle was modified after signing"
        ) from None
    return signature.key_id


def signer_from(key: Path | None) -> Callable[[bytes], bytes] | None:
    """What signs manifest bytes with the private key file ``key``, read now, so that a bad
    key is an error before anything else; None without a key."""
    return None if key is None else signer_of(load_private_key(key))


def signer_of(private: Ed25519PrivateKey) -> Callable[[bytes], bytes]:
    """Manifest bytes -> the ``signature.yaml`` member that signs them."""
    return lambda manifest: signature_document(manifest, private)
