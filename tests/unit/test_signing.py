"""Signatures prove who made a manifest; keys load only as Ed25519; untrusted input is refused."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kbundle.bundle.signing import (
    ALGORITHM,
    SIGNATURE_KIND,
    Signature,
    check_signature,
    generate_key_pair,
    key_id,
    load_private_key,
    load_public_key,
    parse_signature,
    signature_document,
    write_key_pair,
)
from kbundle.core.errors import BundleFormatError, IntegrityError, KbundleError, UsageError

MANIFEST = b"apiVersion: kbundle.io/v1\nkind: Manifest\nfiles:\n- sha256: " + b"ab" * 32 + b"\n"
KEYS = ["kind", "algorithm", "keyId", "manifestSha256", "signature"]


def message_of(action: Callable[[], Any], error: type[KbundleError]) -> str:
    """The one-line message of the ``error`` that ``action`` raises."""
    with pytest.raises(error) as caught:
        action()
    assert "\n" not in caught.value.message
    return caught.value.message


def pem_private(key: Any, encryption: Any = None) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    )
    return data


def openssh_private(key: Any, encryption: Any = None) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        encryption or serialization.NoEncryption(),
    )
    return data


def pem_public(key: Any) -> bytes:
    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def openssh_public(key: Any, comment: bytes = b"") -> bytes:
    line: bytes = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return line + (b" " + comment if comment else b"") + b"\n"


def written(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def same_key(a: Ed25519PublicKey, b: Ed25519PublicKey) -> bool:
    return key_id(a) == key_id(b)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


# -- keys: generate, write, load ----------------------------------------------------------------


def test_generated_pair_is_pkcs8_and_spki_pem_of_one_key(tmp_path: Path) -> None:
    private_pem, public_pem = generate_key_pair()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    private = load_private_key(written(tmp_path, "key", private_pem))
    public = load_public_key(written(tmp_path, "key.pub", public_pem))
    assert same_key(private.public_key(), public)


def test_generated_pairs_are_fresh() -> None:
    assert generate_key_pair()[0] != generate_key_pair()[0]


def test_written_pair_has_private_0600_and_public_0644_and_loads_back(tmp_path: Path) -> None:
    private_path = tmp_path / "release.key"
    public_path = write_key_pair(private_path)
    assert public_path == tmp_path / "release.key.pub"
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(public_path.stat().st_mode) == 0o644
    private = load_private_key(private_path)
    assert same_key(private.public_key(), load_public_key(public_path))


def test_written_modes_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        public_path = write_key_pair(tmp_path / "k")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert stat.S_IMODE(public_path.stat().st_mode) == 0o644


def test_write_refuses_to_overwrite_a_private_key(tmp_path: Path) -> None:
    existing = written(tmp_path, "k", b"the old key\n")
    message = message_of(lambda: write_key_pair(existing), UsageError)
    assert str(existing) in message
    assert "already exists" in message
    assert existing.read_bytes() == b"the old key\n"
    assert not (tmp_path / "k.pub").exists()


def test_write_refuses_to_overwrite_a_public_key_and_leaves_no_private_key(
    tmp_path: Path,
) -> None:
    existing = written(tmp_path, "k.pub", b"the old public key\n")
    message = message_of(lambda: write_key_pair(tmp_path / "k"), UsageError)
    assert str(existing) in message
    assert existing.read_bytes() == b"the old public key\n"
    assert not (tmp_path / "k").exists()


def test_write_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "k"
    assert str(target) in message_of(lambda: write_key_pair(target), UsageError)


def test_openssh_private_key_loads(tmp_path: Path, signer: Ed25519PrivateKey) -> None:
    path = written(tmp_path, "id_ed25519", openssh_private(signer))
    assert path.read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert same_key(load_private_key(path).public_key(), signer.public_key())
    assert same_key(load_public_key(path), signer.public_key())


@pytest.mark.parametrize("comment", [b"", b"alice@example.com", b"release key 2024"])
def test_openssh_public_line_loads_with_or_without_comment(
    tmp_path: Path, signer: Ed25519PrivateKey, comment: bytes
) -> None:
    path = written(tmp_path, "id_ed25519.pub", openssh_public(signer, comment))
    assert path.read_bytes().startswith(b"ssh-ed25519 AAAA")
    assert same_key(load_public_key(path), signer.public_key())


def test_public_key_can_be_taken_from_a_private_key_file(
    tmp_path: Path, signer: Ed25519PrivateKey
) -> None:
    path = written(tmp_path, "k", pem_private(signer))
    assert same_key(load_public_key(path), signer.public_key())


@pytest.mark.parametrize(
    ("fixture", "kind"), [("rsa_key", "an RSA"), ("ec_key", "an ECDSA (secp256r1)")]
)
@pytest.mark.parametrize(
    ("load", "encode"),
    [
        (load_private_key, pem_private),
        (load_private_key, openssh_private),
        (load_public_key, pem_private),
        (load_public_key, pem_public),
        (load_public_key, openssh_public),
    ],
)
def test_keys_of_another_type_are_refused_by_name(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fixture: str,
    kind: str,
    load: Callable[[Path], object],
    encode: Callable[[Any], bytes],
) -> None:
    path = written(tmp_path, "other.key", encode(request.getfixturevalue(fixture)))
    message = message_of(lambda: load(path), UsageError)
    assert message.startswith(f"{path}: is {kind} ")
    assert "Ed25519" in message


def test_traditional_rsa_pem_is_refused_by_name(tmp_path: Path, rsa_key: Any) -> None:
    data = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    path = written(tmp_path, "id_rsa", data)
    assert "is an RSA private key" in message_of(lambda: load_private_key(path), UsageError)


def ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def encrypted_openssh_private(key: Ed25519PrivateKey) -> bytes:
    """An OpenSSH key file as ``ssh-keygen -N passphrase`` writes it (PROTOCOL.key layout).

    Built by hand because cryptography needs the optional bcrypt module to encrypt one; the
    encrypted section is random bytes, which no loader may look at without the passphrase.
    """
    raw_public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    blob = (
        b"openssh-key-v1\0"
        + ssh_string(b"aes256-ctr")
        + ssh_string(b"bcrypt")
        + ssh_string(ssh_string(os.urandom(16)) + (16).to_bytes(4, "big"))
        + (1).to_bytes(4, "big")
        + ssh_string(ssh_string(b"ssh-ed25519") + ssh_string(raw_public))
        + ssh_string(os.urandom(160))
    )
    text = base64.b64encode(blob)
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return (
        b"-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + b"\n".join(lines)
        + b"\n-----END OPENSSH PRIVATE KEY-----\n"
    )


def encrypted_pem_private(key: Ed25519PrivateKey) -> bytes:
    return pem_private(key, serialization.BestAvailableEncryption(b"correct horse"))


@pytest.mark.parametrize("encode", [encrypted_pem_private, encrypted_openssh_private])
@pytest.mark.parametrize("load", [load_private_key, load_public_key])
def test_passphrase_protected_keys_are_refused(
    tmp_path: Path,
    signer: Ed25519PrivateKey,
    encode: Callable[[Ed25519PrivateKey], bytes],
    load: Callable[[Path], object],
) -> None:
    data = encode(signer)
    path = written(tmp_path, "locked.key", data)
    message = message_of(lambda: load(path), UsageError)
    assert message == (f"{path}: is passphrase-protected; kbundle needs an unencrypted Ed25519 key")


SECRET = b"s3cr3t-content-that-must-never-be-echoed"


@pytest.mark.parametrize(
    "data",
    [
        SECRET + b"\n",
        b"-----BEGIN PRIVATE KEY-----\n" + SECRET + b"\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + SECRET
        + b"\n-----END OPENSSH PRIVATE KEY-----\n",
        b"-----BEGIN PUBLIC KEY-----\n" + SECRET + b"\n-----END PUBLIC KEY-----\n",
        b"ssh-ed25519 " + SECRET + b" comment\n",
        b"",
        bytes(range(256)),
    ],
)
@pytest.mark.parametrize("load", [load_private_key, load_public_key])
def test_files_that_are_not_keys_are_refused_without_showing_content(
    tmp_path: Path, data: bytes, load: Callable[[Path], object]
) -> None:
    path = written(tmp_path, "not-a-key", data)
    message = message_of(lambda: load(path), UsageError)
    assert message.startswith(f"{path}: ")
    assert "s3cr3t" not in message


def test_missing_key_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.key"
    assert message_of(lambda: load_private_key(path), UsageError) == f"{path}: no such key file"
    assert message_of(lambda: load_public_key(path), UsageError) == f"{path}: no such key file"


def test_a_folder_is_not_a_key_file(tmp_path: Path) -> None:
    assert message_of(lambda: load_private_key(tmp_path), UsageError).startswith(f"{tmp_path}: ")


def test_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = written(tmp_path, "bundle.kbundle", b"\0" * (2 << 20))
    assert "not a key file" in message_of(lambda: load_public_key(path), UsageError)


def test_a_public_key_cannot_sign(tmp_path: Path, signer: Ed25519PrivateKey) -> None:
    for name, data in (("pem.pub", pem_public(signer)), ("ssh.pub", openssh_public(signer))):
        path = written(tmp_path, name, data)
        message = message_of(lambda: load_private_key(path), UsageError)  # noqa: B023
        assert message == f"{path}: is a public key; signing needs the private key"


def test_key_id_is_sha256_of_the_raw_public_key(signer: Ed25519PrivateKey) -> None:
    raw = signer.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert len(raw) == 32
    assert key_id(signer.public_key()) == "sha256:" + hashlib.sha256(raw).hexdigest()


# -- signing and checking ---------------------------------------------------------------------


def test_signed_manifest_checks_and_returns_the_signer_id(signer: Ed25519PrivateKey) -> None:
    signature = parse_signature(signature_document(MANIFEST, signer))
    assert check_signature(signature, MANIFEST, [signer.public_key()]) == key_id(
        signer.public_key()
    )


def test_document_has_exactly_the_five_keys_in_order(signer: Ed25519PrivateKey) -> None:
    document = signature_document(MANIFEST, signer)
    loaded = yaml.safe_load(document)
    assert list(loaded) == KEYS
    assert loaded["kind"] == SIGNATURE_KIND == "KbundleSignature"
    assert loaded["algorithm"] == ALGORITHM == "Ed25519"
    assert loaded["keyId"] == key_id(signer.public_key())
    assert loaded["manifestSha256"] == hashlib.sha256(MANIFEST).hexdigest()
    assert len(base64.b64decode(loaded["signature"], validate=True)) == 64
    assert document.decode("utf-8").splitlines()[0] == "kind: KbundleSignature"


def test_same_key_and_manifest_give_the_same_bytes(signer: Ed25519PrivateKey) -> None:
    assert signature_document(MANIFEST, signer) == signature_document(MANIFEST, signer)


def test_signature_covers_the_domain_prefix_and_the_manifest(signer: Ed25519PrivateKey) -> None:
    raw = parse_signature(signature_document(MANIFEST, signer)).signature
    public = signer.public_key()
    public.verify(raw, b"kbundle manifest signature v1\x00" + MANIFEST)
    with pytest.raises(InvalidSignature):
        public.verify(raw, MANIFEST)


def test_parsed_signature_carries_the_document_fields(signer: Ed25519PrivateKey) -> None:
    signature = parse_signature(signature_document(MANIFEST, signer))
    assert signature.key_id == key_id(signer.public_key())
    assert signature.manifest_sha256 == hashlib.sha256(MANIFEST).hexdigest()
    assert len(signature.signature) == 64


def flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.mark.parametrize("index", [0, len(MANIFEST) // 2, len(MANIFEST) - 1])
def test_one_flipped_manifest_byte_is_refused(signer: Ed25519PrivateKey, index: int) -> None:
    signature = parse_signature(signature_document(MANIFEST, signer))
    tampered = flipped(MANIFEST, index)
    message = message_of(
        lambda: check_signature(signature, tampered, [signer.public_key()]), IntegrityError
    )
    assert "signs another manifest" in message


def test_tampered_manifest_with_a_rewritten_digest_fails_the_cryptographic_check(
    signer: Ed25519PrivateKey,
) -> None:
    original = parse_signature(signature_document(MANIFEST, signer))
    tampered = flipped(MANIFEST, 10)
    forged = Signature(
        key_id=original.key_id,
        manifest_sha256=hashlib.sha256(tampered).hexdigest(),
        signature=original.signature,
    )
    message = message_of(
        lambda: check_signature(forged, tampered, [signer.public_key()]), IntegrityError
    )
    assert message == (
        "signature does not match the manifest: the bundle was modified after signing"
    )


def test_flipped_signature_byte_is_refused(signer: Ed25519PrivateKey) -> None:
    original = parse_signature(signature_document(MANIFEST, signer))
    broken = Signature(original.key_id, original.manifest_sha256, flipped(original.signature, 5))
    message = message_of(
        lambda: check_signature(broken, MANIFEST, [signer.public_key()]), IntegrityError
    )
    assert "modified after signing" in message


def test_signature_by_an_untrusted_key_is_refused_naming_both(
    signer: Ed25519PrivateKey,
) -> None:
    stranger = Ed25519PrivateKey.generate()
    signature = parse_signature(signature_document(MANIFEST, stranger))
    trusted = signer.public_key()
    message = message_of(lambda: check_signature(signature, MANIFEST, [trusted]), IntegrityError)
    assert message == (
        f"signed by key {key_id(stranger.public_key())}, which is not among the trusted keys "
        f"({key_id(trusted)})"
    )


def test_no_trusted_keys_trusts_nothing(signer: Ed25519PrivateKey) -> None:
    signature = parse_signature(signature_document(MANIFEST, signer))
    message = message_of(lambda: check_signature(signature, MANIFEST, []), IntegrityError)
    assert "not among the trusted keys" in message


def test_the_trusted_key_with_the_signers_id_is_used(signer: Ed25519PrivateKey) -> None:
    others = [Ed25519PrivateKey.generate().public_key() for _ in range(3)]
    trusted = [others[0], others[1], signer.public_key(), others[2]]
    signature = parse_signature(signature_document(MANIFEST, signer))
    assert check_signature(signature, MANIFEST, trusted) == key_id(signer.public_key())


def test_signature_claiming_a_trusted_id_but_made_by_another_key_is_refused(
    signer: Ed25519PrivateKey,
) -> None:
    impostor = parse_signature(signature_document(MANIFEST, Ed25519PrivateKey.generate()))
    claimed = Signature(key_id(signer.public_key()), impostor.manifest_sha256, impostor.signature)
    message = message_of(
        lambda: check_signature(claimed, MANIFEST, [signer.public_key()]), IntegrityError
    )
    assert "modified after signing" in message


def test_document_with_a_changed_manifest_digest_is_refused(signer: Ed25519PrivateKey) -> None:
    loaded = yaml.safe_load(signature_document(MANIFEST, signer))
    loaded["manifestSha256"] = "0" * 64
    signature = parse_signature(yaml.safe_dump(loaded, sort_keys=False).encode())
    message = message_of(
        lambda: check_signature(signature, MANIFEST, [signer.public_key()]), IntegrityError
    )
    assert "signs another manifest" in message


# -- parsing untrusted signature documents --------------------------------------------------


def valid_fields() -> dict[str, Any]:
    return {
        "kind": SIGNATURE_KIND,
        "algorithm": ALGORITHM,
        "keyId": "sha256:" + "a" * 64,
        "manifestSha256": "b" * 64,
        "signature": base64.b64encode(bytes(64)).decode(),
    }


def document(**changes: Any) -> bytes:
    fields = valid_fields()
    for key, value in changes.items():
        if value is None:
            del fields[key]
        else:
            fields[key] = value
    return yaml.safe_dump(fields, sort_keys=False).encode()


def test_a_hand_written_document_in_any_key_order_parses() -> None:
    text = (
        "signature: '" + base64.b64encode(bytes(range(64))).decode() + "'\n"
        'keyId: "sha256:' + "0" * 64 + '"\n'
        "manifestSha256: " + "f" * 64 + "\n"
        "algorithm: Ed25519\n"
        "kind: KbundleSignature\n"
    )
    assert parse_signature(text.encode()) == Signature(
        "sha256:" + "0" * 64, "f" * 64, bytes(range(64))
    )


ALIAS_BOMB = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

KNOWN_KEY_BOMB = b"".join(
    line.replace(old.encode() + b":", new.encode() + b":", 1) + b"\n"
    for line, old, new in zip(ALIAS_BOMB.splitlines(), "abcde", KEYS, strict=False)
)

REFUSED: list[tuple[str, bytes, str]] = [
    ("not YAML", b'kind: "unclosed\n', "is not valid YAML"),
    ("not YAML either", b"kind: a: b\n", "is not valid YAML"),
    ("not UTF-8", b"kind: \xff\xfe\x00\n", "is not valid YAML"),
    ("empty", b"", "is empty"),
    ("python tag on a value", b"kind: !!python/name:os.system\n", "YAML tag"),
    (
        "python object tag",
        b"kind: !!python/object/apply:os.system ['echo owned']\n",
        "every value must be a plain string",
    ),
    ("python tag at the top", b"!!python/object/apply:os.system ['echo owned']\n", "mapping"),
    ("a list", b"- kind\n- algorithm\n", "is a sequence, not a mapping"),
    ("a scalar", b"KbundleSignature\n", "is a scalar, not a mapping"),
    ("two documents", document() + b"---\n" + document(), "more than one YAML document"),
    ("extra key", document(comment="hi"), "unexpected key 'comment'"),
    ("missing key", document(signature=None), "missing key 'signature'"),
    ("duplicate key", document() + b"kind: KbundleSignature\n", "key 'kind' appears twice"),
    ("complex key", b"? [kind]\n: x\n", "sequence"),
    ("key without value in flow", b"{kind}\n", "missing key 'algorithm'"),
    ("nested value", document(keyId={"sha256": "a" * 64}), "nested mapping"),
    ("list value", document(signature=["AAAA"]), "sequence"),
    ("number value", document(kind=7), "kind is a number, not a string"),
    ("boolean value", document(algorithm=True), "algorithm is a boolean, not a string"),
    ("date value", document(keyId="2024-01-01").replace(b"'", b""), "keyId is a timestamp"),
    ("null value", document(kind="~").replace(b"'~'", b"~"), "kind is null, not a string"),
    ("wrong kind", document(kind="Signature"), "kind is 'Signature', not KbundleSignature"),
    ("wrong algorithm", document(algorithm="RSA"), "algorithm is 'RSA'; kbundle knows only"),
    ("key id without prefix", document(keyId="a" * 64), "keyId is"),
    ("key id in upper case", document(keyId="sha256:" + "A" * 64), "keyId is"),
    ("key id with a newline", document(keyId="sha256:" + "a" * 64 + "\n"), "keyId is"),
    ("short manifest digest", document(manifestSha256="b" * 63), "manifestSha256 is"),
    ("bad base64", document(signature="not base64!"), "signature is not valid base64"),
    ("non-ASCII base64", document(signature="é" * 88), "signature is not valid base64"),
    (
        "63-byte signature",
        document(signature=base64.b64encode(bytes(63)).decode()),
        "signature is 63 bytes; an Ed25519 signature is 64",
    ),
    (
        "65-byte signature",
        document(signature=base64.b64encode(bytes(65)).decode()),
        "signature is 65 bytes",
    ),
    ("anchor", b"kind: &k KbundleSignature\n", "anchor"),
    ("alias bomb", ALIAS_BOMB, "unexpected key 'a'"),
    ("alias bomb under the known keys", KNOWN_KEY_BOMB, "every value must be a plain string"),
    ("alias bomb as a list", b"- " + ALIAS_BOMB.replace(b"\n", b"\n  "), "not a mapping"),
    ("alias at the top", b"*a\n", "is a YAML alias, not a mapping"),
    ("oversized", document() + b"#" * (64 * 1024), "a signature document is at most 64 KiB"),
    ("timestamp that is no date", b"kind: 2024-13-45\n", "value YAML cannot load"),
    ("integer too long to load", b"kind: " + b"9" * 5000 + b"\n", "value YAML cannot load"),
]


@pytest.mark.parametrize(
    ("data", "expected"),
    [(data, expected) for _, data, expected in REFUSED],
    ids=[name for name, _, _ in REFUSED],
)
def test_malformed_documents_are_refused_in_one_line_naming_the_member(
    data: bytes, expected: str
) -> None:
    message = message_of(lambda: parse_signature(data, "sig/signature.yaml"), BundleFormatError)
    assert message.startswith("sig/signature.yaml: ")
    assert expected in message
    assert len(message) < 300


def test_default_member_name_is_signature_yaml() -> None:
    assert message_of(lambda: parse_signature(b"[]"), BundleFormatError).startswith(
        "signature.yaml: "
    )


def test_signature_errors_are_not_integrity_errors() -> None:
    with pytest.raises(BundleFormatError) as caught:
        parse_signature(b"[]")
    assert not isinstance(caught.value, IntegrityError)


def test_document_of_exactly_64_kib_is_read_and_one_byte_more_is_not() -> None:
    base = document()
    padded = base + b"#" * (64 * 1024 - len(base))
    assert len(padded) == 64 * 1024
    assert parse_signature(padded).manifest_sha256 == "b" * 64
    assert "at most 64 KiB" in message_of(
        lambda: parse_signature(padded + b"\n"), BundleFormatError
    )


def deep_nesting() -> Iterator[bytes]:
    yield b"[" * (64 * 1024)
    yield b"kind: " + b"[" * (64 * 1024 - 6)
    yield b"{a: " * (16 * 1024)
    yield b"- " * (32 * 1024)
    yield b"kind:\n" + b"".join(b" " * depth + b"- x\n" for depth in range(0, 300, 2))


@pytest.mark.parametrize("data", list(deep_nesting()), ids=lambda d: repr(d[:12]))
def test_deeply_nested_yaml_is_refused_without_building_it(data: bytes) -> None:
    # Building these with libyaml's recursive composer overflows the C stack; the refusal
    # must come from the shape check first (a failure here would crash the test process).
    assert len(data) <= 64 * 1024
    message_of(lambda: parse_signature(data), BundleFormatError)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_parse_or_are_refused_as_format_errors(data: bytes) -> None:
    try:
        result = parse_signature(data)
    except BundleFormatError as error:
        assert "\n" not in error.message
        assert error.message.startswith("signature.yaml: ")
    else:
        assert isinstance(result, Signature)


YAML_ALPHABET = st.sampled_from(
    [*"kind:algorithm keyId sha256 Ed25519 Kbundle ab0f=+/", *"[]{}&*!|>-?,'\"#%@`\n\t ", "\\"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.data(),
    st.integers(min_value=0, max_value=400),
    st.text(YAML_ALPHABET, max_size=40),
)
def test_valid_documents_with_yaml_noise_spliced_in_parse_or_are_refused(
    data: st.DataObject, cut: int, noise: str
) -> None:
    base = document()
    at = min(cut, len(base))
    end = data.draw(st.integers(min_value=at, max_value=len(base)))
    mutated = base[:at] + noise.encode() + base[end:]
    try:
        result = parse_signature(mutated)
    except BundleFormatError as error:
        assert "\n" not in error.message
    else:
        assert isinstance(result, Signature)
        assert len(result.signature) == 64
