"""Secret encryption: sealed Secrets hold no plaintext, open exactly, and refuse tampering.

scrypt at the default cost takes ~0.1 s, so keys are module-scoped: the whole file derives a
handful of keys. Hostile parameters are proven refused *before* derivation by replacing scrypt
with a stand-in that fails the test if it is ever constructed.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from hypothesis import given, settings
from hypothesis import strategies as st

from kbundle.bundle import secret_encryption
from kbundle.bundle.secret_encryption import (
    ENVELOPE_FIELD,
    SCHEME,
    EncryptionInfo,
    SecretKey,
    WrongPassphrase,
    read_passphrase,
)
from kbundle.bundle.yaml_codec import dump_document
from kbundle.core.errors import BundleFormatError, KbundleError, UsageError
from kbundle.core.model import LAST_APPLIED, is_sealed

PASSPHRASE = b"correct horse battery staple"
SECRET_AD = b"kbundle secret v1"
NAMED = "Secret shop/db-creds"

PASSWORD = "hunter2-s3cret-pw"
TOKEN = "tok-9f8e7d6c5b4a"
BINARY = bytes(range(256)) + b"\x00\xff\x10"  # 259 bytes: base64 ends in padding
LAST_APPLIED_JSON = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "shop"},
        "stringData": {"token": TOKEN},
    }
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


SECRET: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "db-creds",
        "namespace": "shop",
        "labels": {"app": "db"},
        "annotations": {"team": "payments", LAST_APPLIED: LAST_APPLIED_JSON},
    },
    "type": "Opaque",
    "immutable": True,
    "data": {
        "password": b64(PASSWORD.encode()),
        "cert.der": b64(BINARY),
        "one-byte": b64(b"\x01"),
        "empty": "",
    },
    "stringData": {"token": TOKEN},
}

# Every string that must never appear in a sealed Secret or in an error message.
SENSITIVE = [
    PASSWORD,
    b64(PASSWORD.encode()),
    b64(BINARY),
    b64(b"\x01"),
    TOKEN,
    LAST_APPLIED_JSON,
    PASSPHRASE.decode(),
]


class CountingRandom:
    """A predictable random source: each call returns the next bytes of a counter."""

    def __init__(self) -> None:
        self.counter = 0
        self.calls: list[bytes] = []

    def __call__(self, size: int) -> bytes:
        data = bytes((self.counter + i) % 256 for i in range(size))
        self.counter += size
        self.calls.append(data)
        return data


@pytest.fixture(scope="module")
def created() -> tuple[SecretKey, EncryptionInfo]:
    return SecretKey.create(PASSPHRASE)


@pytest.fixture(scope="module")
def key(created: tuple[SecretKey, EncryptionInfo]) -> SecretKey:
    return created[0]


@pytest.fixture(scope="module")
def info(created: tuple[SecretKey, EncryptionInfo]) -> EncryptionInfo:
    return created[1]


@pytest.fixture(scope="module")
def unlocked(info: EncryptionInfo) -> SecretKey:
    return SecretKey.unlock(PASSPHRASE, info)


@pytest.fixture(scope="module")
def counted() -> tuple[SecretKey, EncryptionInfo, CountingRandom]:
    """Another bundle, same passphrase, salt and nonces from a predictable source."""
    random = CountingRandom()
    other_key, other_info = SecretKey.create(PASSPHRASE, random=random)
    return other_key, other_info, random


@pytest.fixture(scope="module")
def raw_key(info: EncryptionInfo) -> bytes:
    """The key derived independently, to craft envelopes that authenticate but are malformed."""
    salt = base64.b64decode(info.salt)
    return Scrypt(salt=salt, length=32, n=info.n, r=info.r, p=info.p).derive(PASSPHRASE)


@pytest.fixture
def no_scrypt(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if a key derivation is even started."""

    def refuse(**_kwargs: Any) -> Any:
        raise AssertionError("scrypt was started")

    monkeypatch.setattr(secret_encryption, "Scrypt", refuse)
    yield


def craft(raw_key: bytes, plaintext: bytes, nonce: bytes = b"\x07" * 12) -> dict[str, Any]:
    """A sealed Secret whose envelope authenticates under ``raw_key`` and holds ``plaintext``."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "shop"},
        ENVELOPE_FIELD: {
            "version": 1,
            "nonce": b64(nonce),
            "ciphertext": b64(AESGCM(raw_key).encrypt(nonce, plaintext, SECRET_AD)),
        },
    }


def assert_clean_message(error: KbundleError, *extra: str) -> None:
    """One line, names the Secret, shows no secret value, envelope bytes or passphrase."""
    message = str(error)
    assert "\n" not in message
    assert NAMED in message
    for value in [*SENSITIVE, *extra]:
        if value:
            assert value not in message


def dumps(obj: dict[str, Any]) -> list[str]:
    return [dump_document(obj).decode("utf-8"), json.dumps(obj), repr(obj)]


# --- round trip -------------------------------------------------------------------------------


def test_open_restores_exactly_what_seal_removed(key: SecretKey) -> None:
    assert key.open(key.seal(SECRET)) == SECRET


def test_a_key_unlocked_from_the_manifest_opens_what_the_exporter_sealed(
    key: SecretKey, unlocked: SecretKey
) -> None:
    assert unlocked.open(key.seal(SECRET)) == SECRET
    assert key.open(unlocked.seal(SECRET)) == SECRET


def test_seal_removes_the_sensitive_fields_and_keeps_everything_else(key: SecretKey) -> None:
    sealed = key.seal(SECRET)

    assert "data" not in sealed
    assert "stringData" not in sealed
    assert sealed["metadata"] == {
        "name": "db-creds",
        "namespace": "shop",
        "labels": {"app": "db"},
        "annotations": {"team": "payments"},
    }
    assert sealed["apiVersion"] == "v1"
    assert sealed["kind"] == "Secret"
    assert sealed["type"] == "Opaque"
    assert sealed["immutable"] is True
    envelope = sealed[ENVELOPE_FIELD]
    assert set(envelope) == {"version", "nonce", "ciphertext"}
    assert envelope["version"] == 1
    assert len(base64.b64decode(envelope["nonce"], validate=True)) == 12
    assert base64.b64decode(envelope["ciphertext"], validate=True)
    assert is_sealed(sealed)
    assert not is_sealed(SECRET)


def test_seal_and_open_leave_their_input_untouched(key: SecretKey) -> None:
    original = copy.deepcopy(SECRET)
    sealed = key.seal(SECRET)
    sealed_before_open = copy.deepcopy(sealed)

    opened = key.open(sealed)

    assert original == SECRET
    assert sealed == sealed_before_open
    opened["metadata"]["annotations"]["team"] = "changed"
    assert sealed["metadata"]["annotations"]["team"] == "payments"
    assert SECRET["metadata"]["annotations"]["team"] == "payments"


def test_annotations_holding_only_last_applied_are_dropped_then_restored(key: SecretKey) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db-creds",
            "namespace": "shop",
            "annotations": {LAST_APPLIED: LAST_APPLIED_JSON},
        },
        "data": {"password": b64(PASSWORD.encode())},
    }

    sealed = key.seal(secret)

    assert sealed["metadata"] == {"name": "db-creds", "namespace": "shop"}
    assert key.open(sealed) == secret


def test_an_empty_annotations_mapping_that_had_no_last_applied_is_kept(key: SecretKey) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "shop", "annotations": {}},
    }

    sealed = key.seal(secret)

    assert sealed["metadata"]["annotations"] == {}
    assert key.open(sealed) == secret


def test_a_secret_without_data_still_gets_an_envelope_of_an_empty_object(
    key: SecretKey, raw_key: bytes
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "shop"},
        "type": "kubernetes.io/service-account-token",
    }

    sealed = key.seal(secret)

    envelope = sealed[ENVELOPE_FIELD]
    plaintext = AESGCM(raw_key).decrypt(
        base64.b64decode(envelope["nonce"]), base64.b64decode(envelope["ciphertext"]), SECRET_AD
    )
    assert plaintext == b"{}"
    assert key.open(sealed) == secret


def test_the_sealed_plaintext_is_canonical_json_of_only_the_present_fields(
    key: SecretKey, raw_key: bytes
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "shop"},
        "stringData": {"b": "2", "a": "1"},
    }

    envelope = key.seal(secret)[ENVELOPE_FIELD]

    plaintext = AESGCM(raw_key).decrypt(
        base64.b64decode(envelope["nonce"]), base64.b64decode(envelope["ciphertext"]), SECRET_AD
    )
    assert plaintext == b'{"stringData":{"a":"1","b":"2"}}'


def test_binary_data_base64_strings_come_back_character_for_character(key: SecretKey) -> None:
    data = {f"blob-{size}": b64(BINARY[:size]) for size in (1, 2, 3, 4, 255, 259)}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "blobs", "namespace": "shop"},
        "data": data,
    }

    opened = key.open(key.seal(secret))

    assert opened["data"] == data
    assert {name: base64.b64decode(value) for name, value in opened["data"].items()} == {
        f"blob-{size}": BINARY[:size] for size in (1, 2, 3, 4, 255, 259)
    }


def test_a_null_data_field_is_treated_as_absent(key: SecretKey) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "shop"},
        "data": None,
    }

    sealed = key.seal(secret)

    assert "data" not in sealed
    assert "data" not in key.open(sealed)


# --- confidentiality --------------------------------------------------------------------------


def test_a_sealed_secret_contains_no_plaintext_value_anywhere() -> None:
    # A fixed key and nonce: random base64 ciphertext ends in "AQ==" (the one-byte value,
    # encoded) about once in a hundred seals, which would make this test fail by chance.
    key = SecretKey(hashlib.sha256(b"fixed test key").digest(), random=bytes)
    sealed = key.seal(SECRET)

    for text in dumps(sealed):
        for value in SENSITIVE:
            assert value not in text
        # not even a recognisable piece of the last-applied JSON
        assert '"stringData"' not in text
        assert "password" not in text  # key names live inside the ciphertext too


def test_two_seals_of_the_same_secret_differ_but_open_to_the_same(key: SecretKey) -> None:
    first, second = key.seal(SECRET), key.seal(SECRET)

    assert first[ENVELOPE_FIELD]["nonce"] != second[ENVELOPE_FIELD]["nonce"]
    assert first[ENVELOPE_FIELD]["ciphertext"] != second[ENVELOPE_FIELD]["ciphertext"]
    assert key.open(first) == key.open(second) == SECRET


def test_salt_and_every_nonce_come_from_the_given_random_source(
    counted: tuple[SecretKey, EncryptionInfo, CountingRandom],
) -> None:
    other_key, other_info, random = counted
    assert other_info.salt == b64(random.calls[0])
    assert len(random.calls[0]) == 16
    assert (other_info.n, other_info.r, other_info.p) == (2**15, 8, 1)
    assert other_info.scheme == SCHEME

    calls_before = len(random.calls)
    sealed = other_key.seal(SECRET)

    assert len(random.calls) == calls_before + 1
    assert sealed[ENVELOPE_FIELD]["nonce"] == b64(random.calls[-1])
    assert len(random.calls[-1]) == 12


def test_the_key_never_shows_in_its_repr(key: SecretKey, raw_key: bytes) -> None:
    assert repr(key) == "SecretKey(<hidden>)"
    assert raw_key.hex() not in repr(key)


# --- passphrase -------------------------------------------------------------------------------


def test_a_wrong_passphrase_is_refused_at_unlock(info: EncryptionInfo) -> None:
    with pytest.raises(WrongPassphrase) as caught:
        SecretKey.unlock(b"correct horse battery stapler", info)

    assert str(caught.value) == "wrong passphrase for the encrypted secrets of this bundle"
    assert isinstance(caught.value, KbundleError)


def test_a_check_that_authenticates_but_proves_nothing_is_refused(
    info: EncryptionInfo, raw_key: bytes
) -> None:
    nonce = b"\x01" * 12
    forged = nonce + AESGCM(raw_key).encrypt(
        nonce, b"something else", b"kbundle passphrase check v1"
    )

    with pytest.raises(BundleFormatError, match=r"secrets\.encryption\.check"):
        SecretKey.unlock(PASSPHRASE, dataclasses.replace(info, check=b64(forged)))


def test_the_passphrase_check_cannot_pass_for_a_secret_envelope(
    key: SecretKey, info: EncryptionInfo
) -> None:
    check = base64.b64decode(info.check)
    disguised = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "shop"},
        ENVELOPE_FIELD: {"version": 1, "nonce": b64(check[:12]), "ciphertext": b64(check[12:])},
    }

    with pytest.raises(BundleFormatError) as caught:
        key.open(disguised)

    assert_clean_message(caught.value, info.check)


# --- tampering --------------------------------------------------------------------------------


def _flip_last_byte(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[-1] ^= 0x01
    return b64(bytes(raw))


def _flip_first_byte(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 0x80
    return b64(bytes(raw))


TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "ciphertext byte flipped": lambda e: e.update(ciphertext=_flip_first_byte(e["ciphertext"])),
    "tag byte flipped": lambda e: e.update(ciphertext=_flip_last_byte(e["ciphertext"])),
    "nonce byte flipped": lambda e: e.update(nonce=_flip_first_byte(e["nonce"])),
    "ciphertext truncated": lambda e: e.update(
        ciphertext=b64(base64.b64decode(e["ciphertext"])[:10])
    ),
    "ciphertext emptied": lambda e: e.update(ciphertext=""),
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_a_tampered_envelope_is_refused_naming_the_secret_without_values(
    key: SecretKey, tamper: Callable[[dict[str, Any]], None]
) -> None:
    sealed = key.seal(SECRET)
    original_envelope = dict(sealed[ENVELOPE_FIELD])
    tamper(sealed[ENVELOPE_FIELD])

    with pytest.raises(BundleFormatError) as caught:
        key.open(sealed)

    assert_clean_message(
        caught.value,
        original_envelope["ciphertext"],
        sealed[ENVELOPE_FIELD]["ciphertext"],
        original_envelope["nonce"],
    )


def test_an_envelope_moved_from_another_bundle_is_refused(
    key: SecretKey, info: EncryptionInfo, counted: tuple[SecretKey, EncryptionInfo, CountingRandom]
) -> None:
    other_key, other_info, _ = counted
    assert other_info.salt != info.salt
    from_other_bundle = other_key.seal(SECRET)
    assert other_key.open(from_other_bundle) == SECRET

    with pytest.raises(BundleFormatError) as caught:
        key.open(from_other_bundle)  # same passphrase, different salt: a different key

    assert_clean_message(caught.value, from_other_bundle[ENVELOPE_FIELD]["ciphertext"])


def _sealed_with(envelope: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "shop"},
        ENVELOPE_FIELD: envelope,
    }


GOOD_NONCE = b64(b"\x00" * 12)
GOOD_CIPHERTEXT = b64(b"\x00" * 40)
MALFORMED_ENVELOPES: dict[str, Any] = {
    "not a mapping": "sealed",
    "null": None,
    "no version": {"nonce": GOOD_NONCE, "ciphertext": GOOD_CIPHERTEXT},
    "no nonce": {"version": 1, "ciphertext": GOOD_CIPHERTEXT},
    "no ciphertext": {"version": 1, "nonce": GOOD_NONCE},
    "extra key": {"version": 1, "nonce": GOOD_NONCE, "ciphertext": GOOD_CIPHERTEXT, "key": "k"},
    "version 2": {"version": 2, "nonce": GOOD_NONCE, "ciphertext": GOOD_CIPHERTEXT},
    "version true": {"version": True, "nonce": GOOD_NONCE, "ciphertext": GOOD_CIPHERTEXT},
    "version as text": {"version": "1", "nonce": GOOD_NONCE, "ciphertext": GOOD_CIPHERTEXT},
    "nonce a number": {"version": 1, "nonce": 12, "ciphertext": GOOD_CIPHERTEXT},
    "nonce not base64": {"version": 1, "nonce": "!!not base64!!", "ciphertext": GOOD_CIPHERTEXT},
    "nonce unpadded": {"version": 1, "nonce": "AAAAAAAAAAAAAAA", "ciphertext": GOOD_CIPHERTEXT},
    "nonce too short": {"version": 1, "nonce": b64(b"\x00" * 8), "ciphertext": GOOD_CIPHERTEXT},
    "nonce non-ascii": {"version": 1, "nonce": "ÀÀÀÀ", "ciphertext": GOOD_CIPHERTEXT},
    "ciphertext a list": {"version": 1, "nonce": GOOD_NONCE, "ciphertext": ["x"]},
    "ciphertext not base64": {"version": 1, "nonce": GOOD_NONCE, "ciphertext": "sec ret"},
}


@pytest.mark.parametrize("envelope", MALFORMED_ENVELOPES.values(), ids=MALFORMED_ENVELOPES.keys())
def test_a_malformed_envelope_is_refused_naming_the_secret(key: SecretKey, envelope: Any) -> None:
    with pytest.raises(BundleFormatError) as caught:
        key.open(_sealed_with(envelope))

    assert_clean_message(caught.value, GOOD_CIPHERTEXT, "sec ret", "sealed")


def test_a_secret_without_an_envelope_cannot_be_opened(key: SecretKey) -> None:
    with pytest.raises(BundleFormatError) as caught:
        key.open(SECRET)

    assert_clean_message(caught.value)


BAD_PAYLOADS: dict[str, bytes] = {
    "not JSON": b"password=hunter2-s3cret-pw",
    "a JSON list": b'["hunter2-s3cret-pw"]',
    "a JSON string": b'"hunter2-s3cret-pw"',
    "an unknown field": b'{"data":{},"spec":"hunter2-s3cret-pw"}',
    "data a list": b'{"data":["hunter2-s3cret-pw"]}',
    "data value a number": b'{"data":{"password":1234567}}',
    "stringData a string": b'{"stringData":"hunter2-s3cret-pw"}',
    "stringData value null": b'{"stringData":{"token":null}}',
    "lastApplied an object": b'{"lastApplied":{"token":"hunter2-s3cret-pw"}}',
    "not UTF-8": b'{"data":{"password":"\xff\xfe"}}',
}


@pytest.mark.parametrize("payload", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_authentic_content_of_the_wrong_shape_is_refused_without_values(
    key: SecretKey, raw_key: bytes, payload: bytes
) -> None:
    with pytest.raises(BundleFormatError) as caught:
        key.open(craft(raw_key, payload))

    assert_clean_message(caught.value, "1234567")


def test_a_crafted_envelope_of_the_right_shape_opens(key: SecretKey, raw_key: bytes) -> None:
    opened = key.open(craft(raw_key, b'{"lastApplied":"{}","stringData":{"a":"b"}}'))

    assert opened["stringData"] == {"a": "b"}
    assert opened["metadata"]["annotations"] == {LAST_APPLIED: "{}"}


PLAINTEXT_BESIDE_ENVELOPE: dict[str, Callable[[dict[str, Any]], None]] = {
    "data": lambda s: s.update(data={"password": "aW5qZWN0ZWQ="}),
    "stringData": lambda s: s.update(stringData={"token": "injected"}),
    "last-applied": lambda s: (
        s["metadata"].setdefault("annotations", {}).update({LAST_APPLIED: "{}"})
    ),
}


@pytest.mark.parametrize(
    "inject", PLAINTEXT_BESIDE_ENVELOPE.values(), ids=PLAINTEXT_BESIDE_ENVELOPE.keys()
)
def test_plaintext_fields_beside_an_envelope_are_refused(
    key: SecretKey, inject: Callable[[dict[str, Any]], None]
) -> None:
    sealed = key.seal(SECRET)
    inject(sealed)

    with pytest.raises(BundleFormatError) as caught:
        key.open(sealed)

    assert_clean_message(caught.value, "aW5qZWN0ZWQ=", "injected")


def test_sealing_twice_is_refused(key: SecretKey) -> None:
    with pytest.raises(KbundleError, match="already encrypted") as caught:
        key.seal(key.seal(SECRET))

    assert_clean_message(caught.value)


def test_a_secret_whose_data_cannot_round_trip_is_refused_at_seal(key: SecretKey) -> None:
    secret = copy.deepcopy(SECRET)
    secret["data"]["pin"] = 1234567

    with pytest.raises(KbundleError) as caught:
        key.seal(secret)

    assert_clean_message(caught.value, "1234567")


def test_a_hostile_object_name_cannot_break_the_one_line_message(key: SecretKey) -> None:
    secret = _sealed_with(None)
    secret["metadata"] = {"name": "evil\nname", "namespace": "shop"}

    with pytest.raises(BundleFormatError) as caught:
        key.open(secret)

    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("Secret shop/")


# --- hostile parameters -----------------------------------------------------------------------


HOSTILE: dict[str, tuple[dict[str, Any], str]] = {
    "n 2**40": ({"n": 2**40}, r"\.n "),
    "n 2**21": ({"n": 2**21}, r"\.n "),
    "n 2**13": ({"n": 2**13}, r"\.n "),
    "n not a power of two": ({"n": 3 * 2**14}, r"\.n "),
    "n zero": ({"n": 0}, r"\.n "),
    "n negative": ({"n": -(2**15)}, r"\.n "),
    "n a bool": ({"n": True}, r"\.n "),
    "r 1000": ({"r": 1000}, r"\.r "),
    "r 17": ({"r": 17}, r"\.r "),
    "r zero": ({"r": 0}, r"\.r "),
    "p 5": ({"p": 5}, r"\.p "),
    "p zero": ({"p": 0}, r"\.p "),
    "salt 8 bytes": ({"salt": b64(b"s" * 8)}, r"\.salt "),
    "salt 15 bytes": ({"salt": b64(b"s" * 15)}, r"\.salt "),
    "salt 65 bytes": ({"salt": b64(b"s" * 65)}, r"\.salt "),
    "salt empty": ({"salt": ""}, r"\.salt "),
    "salt not base64": ({"salt": "not*base64"}, r"\.salt "),
    "check not base64": ({"check": "not*base64"}, r"\.check "),
    "check too short": ({"check": b64(b"c" * 27)}, r"\.check "),
    "unknown scheme": ({"scheme": "rot13"}, r"\.scheme "),
}


@pytest.mark.parametrize(("change", "field"), HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.usefixtures("no_scrypt")
def test_hostile_parameters_are_refused_before_any_derivation(
    info: EncryptionInfo, change: dict[str, Any], field: str
) -> None:
    hostile = dataclasses.replace(info, **change)

    with pytest.raises(BundleFormatError, match=r"^secrets\.encryption" + field) as caught:
        SecretKey.unlock(PASSPHRASE, hostile)

    assert "\n" not in str(caught.value)
    assert PASSPHRASE.decode() not in str(caught.value)


def test_the_cheapest_allowed_parameters_reach_derivation(info: EncryptionInfo) -> None:
    # n=2**14, r=1 costs ~10 ms; the check was made under other parameters, so it fails.
    cheapest = dataclasses.replace(info, n=2**14, r=1, p=1, salt=b64(b"s" * 64))

    with pytest.raises(WrongPassphrase):
        SecretKey.unlock(PASSPHRASE, cheapest)


def test_parameters_asking_scrypt_for_more_than_256_mib_are_refused_before_deriving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def must_not_derive(**_: Any) -> None:
        raise AssertionError("scrypt must not start")

    monkeypatch.setattr(secret_encryption, "Scrypt", must_not_derive)
    greedy = EncryptionInfo(SCHEME, b64(b"s" * 16), 2**20, 16, 1, b64(b"c" * 28))
    with pytest.raises(BundleFormatError, match="more than 256 MiB"):
        SecretKey.unlock(PASSPHRASE, greedy)


def test_the_parameter_bounds_hold_at_their_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    derived: list[tuple[int, int, int, int]] = []

    class RecordingScrypt:
        def __init__(self, *, salt: bytes, length: int, n: int, r: int, p: int) -> None:
            derived.append((len(salt), n, r, p))

        def derive(self, _passphrase: bytes) -> bytes:
            return b"\x00" * 32

    monkeypatch.setattr(secret_encryption, "Scrypt", RecordingScrypt)
    # the largest n with r=1 and the largest r with the default n both stay within 256 MiB
    edges = [(16, 2**14, 1, 1), (64, 2**20, 2, 4), (64, 2**15, 16, 4)]
    for salt_size, n, r, p in edges:
        edge = EncryptionInfo(SCHEME, b64(b"s" * salt_size), n, r, p, b64(b"c" * 28))
        with pytest.raises(WrongPassphrase):
            SecretKey.unlock(PASSPHRASE, edge)

    assert derived == edges


# --- EncryptionInfo ---------------------------------------------------------------------------


def test_encryption_info_survives_to_dict_and_from_dict(info: EncryptionInfo) -> None:
    as_dict = info.to_dict()

    assert list(as_dict) == ["scheme", "salt", "n", "r", "p", "check"]
    assert as_dict["scheme"] == SCHEME
    assert len(base64.b64decode(as_dict["salt"], validate=True)) == 16
    assert EncryptionInfo.from_dict(json.loads(json.dumps(as_dict))) == info


def test_the_manifest_entry_holds_no_key_material(info: EncryptionInfo, raw_key: bytes) -> None:
    text = json.dumps(info.to_dict())

    assert PASSPHRASE.decode() not in text
    assert b64(raw_key) not in text
    assert raw_key.hex() not in text


VALID_INFO = {
    "scheme": SCHEME,
    "salt": b64(b"s" * 16),
    "n": 2**15,
    "r": 8,
    "p": 1,
    "check": b64(b"c" * 28),
}
BAD_INFO: dict[str, Any] = {
    "not a mapping": ["scheme"],
    "missing check": {k: v for k, v in VALID_INFO.items() if k != "check"},
    "extra key": {**VALID_INFO, "key": "k"},
    "unknown scheme": {**VALID_INFO, "scheme": "aes-128-ecb"},
    "scheme a number": {**VALID_INFO, "scheme": 1},
    "salt bytes": {**VALID_INFO, "salt": b"s" * 16},
    "check null": {**VALID_INFO, "check": None},
    "n text": {**VALID_INFO, "n": "32768"},
    "n a float": {**VALID_INFO, "n": 32768.0},
    "r a bool": {**VALID_INFO, "r": True},
    "p null": {**VALID_INFO, "p": None},
}


def test_valid_info_is_accepted_as_is() -> None:
    assert EncryptionInfo.from_dict(dict(VALID_INFO)).to_dict() == VALID_INFO


@pytest.mark.parametrize("data", BAD_INFO.values(), ids=BAD_INFO.keys())
def test_malformed_info_is_refused_in_one_line(data: Any) -> None:
    with pytest.raises(BundleFormatError, match=r"^secrets\.encryption") as caught:
        EncryptionInfo.from_dict(data)

    assert "\n" not in str(caught.value)


# --- read_passphrase --------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("KBUNDLE_PASSPHRASE", raising=False)
    monkeypatch.delenv("MY_PASSPHRASE", raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"a long passphrase\n", b"a long passphrase"),
        (b"a long passphrase\r\n", b"a long passphrase"),
        (b"a long passphrase", b"a long passphrase"),
        (b"a long passphrase\n\n", b"a long passphrase\n"),
        (b" spaces are kept \t\n", b" spaces are kept \t"),
        (b"bytes \xff\xfe kept as is\n", b"bytes \xff\xfe kept as is"),
    ],
)
def test_a_passphrase_file_loses_exactly_one_trailing_newline(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, content: bytes, expected: bytes
) -> None:
    clean_env.setenv("KBUNDLE_PASSPHRASE", "ignored when a file is given")
    file = tmp_path / "pass"
    file.write_bytes(content)

    assert read_passphrase(file, None, for_writing=True) == expected


def test_a_named_environment_variable_is_read(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MY_PASSPHRASE", "from my variable\n")
    clean_env.setenv("KBUNDLE_PASSPHRASE", "from the default")

    assert read_passphrase(None, "MY_PASSPHRASE", for_writing=True) == b"from my variable\n"


def test_kbundle_passphrase_is_the_default_source(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("KBUNDLE_PASSPHRASE", "from the default")

    assert read_passphrase(None, None, for_writing=False) == b"from the default"


def test_no_source_at_all_says_how_to_give_one(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError) as caught:
        read_passphrase(None, None, for_writing=False)

    assert str(caught.value) == (
        "encrypted secrets need a passphrase: --passphrase-file FILE or --passphrase-env VAR"
    )


def test_a_file_and_a_variable_together_are_refused(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "pass"
    file.write_bytes(b"a long passphrase")
    clean_env.setenv("MY_PASSPHRASE", "another long passphrase")

    with pytest.raises(UsageError, match="not both") as caught:
        read_passphrase(file, "MY_PASSPHRASE", for_writing=False)

    assert "a long passphrase" not in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    file = tmp_path / "absent"

    with pytest.raises(UsageError) as caught:
        read_passphrase(file, None, for_writing=False)

    assert str(file) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        read_passphrase(tmp_path, None, for_writing=False)  # a folder cannot be read

    assert str(tmp_path) in str(caught.value)


def test_an_oversized_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    file = tmp_path / "big"
    file.write_bytes(b"secretsecret" * 1000)

    with pytest.raises(UsageError) as caught:
        read_passphrase(file, None, for_writing=False)

    assert str(file) in str(caught.value)
    assert "secretsecret" not in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\n"])
def test_an_empty_passphrase_file_is_refused(tmp_path: Path, content: bytes) -> None:
    file = tmp_path / "pass"
    file.write_bytes(content)

    with pytest.raises(UsageError, match="empty") as caught:
        read_passphrase(file, None, for_writing=False)

    assert str(file) in str(caught.value)


def test_an_unset_variable_is_named(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"MY_PASSPHRASE.*not set"):
        read_passphrase(None, "MY_PASSPHRASE", for_writing=False)


@pytest.mark.parametrize("variable", ["MY_PASSPHRASE", None])
def test_an_empty_variable_is_named(clean_env: pytest.MonkeyPatch, variable: str | None) -> None:
    clean_env.setenv(variable or "KBUNDLE_PASSPHRASE", "")

    with pytest.raises(UsageError, match="empty") as caught:
        read_passphrase(None, variable, for_writing=False)

    assert (variable or "KBUNDLE_PASSPHRASE") in str(caught.value)


def test_a_short_passphrase_is_refused_for_writing_only(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    short = "tiny-pass11"  # 11 characters
    file = tmp_path / "pass"
    file.write_bytes(short.encode() + b"\n")
    clean_env.setenv("MY_PASSPHRASE", short)

    for source in ((file, None), (None, "MY_PASSPHRASE")):
        with pytest.raises(UsageError, match="at least 12 characters") as caught:
            read_passphrase(*source, for_writing=True)
        assert short not in str(caught.value)
        assert read_passphrase(*source, for_writing=False) == short.encode()


def test_passphrase_length_counts_characters_not_bytes(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MY_PASSPHRASE", "ü" * 11)  # 22 bytes, 11 characters
    with pytest.raises(UsageError) as caught:
        read_passphrase(None, "MY_PASSPHRASE", for_writing=True)
    assert "ü" not in str(caught.value)

    clean_env.setenv("MY_PASSPHRASE", "ü" * 12)
    assert read_passphrase(None, "MY_PASSPHRASE", for_writing=True) == ("ü" * 12).encode()


# --- property ---------------------------------------------------------------------------------

STRING_MAPS = st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=6)


@settings(max_examples=150, deadline=None)
@given(data=st.none() | STRING_MAPS, string_data=st.none() | STRING_MAPS)
def test_any_string_data_survives_seal_and_open(
    key: SecretKey, data: dict[str, str] | None, string_data: dict[str, str] | None
) -> None:
    secret: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "prop", "namespace": "shop"},
    }
    if data is not None:
        secret["data"] = data
    if string_data is not None:
        secret["stringData"] = string_data

    sealed = key.seal(secret)

    assert "data" not in sealed
    assert "stringData" not in sealed
    assert key.open(sealed) == secret
