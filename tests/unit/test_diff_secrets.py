"""A diff never shows a Secret value: changed, added and removed keys are named, values are
placeholders on both sides, in the text, the field changes and the JSON form alike."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from kbundle.core.model import LAST_APPLIED, SEALED_FIELD, Object, ObjectRef
from kbundle.diff.compare import compare
from kbundle.diff.model import DiffReport, DiffStatus, ObjectDiff
from kbundle.diff.secrets import CHANGED_SECRET_VALUE, ENCRYPTED, SECRET_VALUE, secret_safe
from tests.bundle_samples import CANARY

OTHER_CANARY = "kbundle-canary-other-91c2"  # the value a Secret changes to
CANARIES = (CANARY, OTHER_CANARY)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def leaks(result: ObjectDiff) -> list[str]:
    """Every canary, plain or base64, found in anything a diff could show."""
    shown = "\n".join(
        [
            result.text,
            result.message,
            repr(result),
            json.dumps(result.to_dict()),
            json.dumps(DiffReport((result,), "a", "b").to_dict()),
        ]
    )
    return [c for canary in CANARIES for c in (canary, b64(canary)) if c in shown]


def secret(data: dict[str, str] | None = None, **fields: Any) -> Object:
    obj: Object = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "type": "Opaque",
    }
    if data is not None:
        obj["data"] = {key: b64(value) for key, value in data.items()}
    obj.update(fields)
    return obj


def with_last_applied(obj: Object) -> Object:
    applied = {k: v for k, v in obj.items() if k != "metadata"}
    obj = copy.deepcopy(obj)
    obj["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(applied), "team": "shop"}
    return obj


def diff(before: Object | None, after: Object | None) -> ObjectDiff:
    return compare(
        ObjectRef("", "Secret", "shop", "db"),
        "v1",
        before,
        after,
        before_label="a.kbundle",
        after_label="b.kbundle",
    )


def changes(result: ObjectDiff) -> dict[str, tuple[str, str | None, str | None]]:
    return {c.path: (str(c.change), c.before, c.after) for c in result.changes}


def test_a_changed_secret_names_its_changed_added_and_removed_keys_and_never_a_value() -> None:
    before = secret({"password": CANARY, "user": "admin", "old-key": CANARY})
    after = secret({"password": OTHER_CANARY, "user": "admin", "new.key": OTHER_CANARY})
    result = diff(before, after)
    assert result.status is DiffStatus.CHANGE
    assert changes(result) == {
        "data.password": ("changed", f'"{SECRET_VALUE}"', f'"{CHANGED_SECRET_VALUE}"'),
        "data.old-key": ("removed", f'"{SECRET_VALUE}"', None),
        'data["new.key"]': ("added", None, f'"{SECRET_VALUE}"'),
    }
    assert f"-  password: {SECRET_VALUE}\n" in result.text
    assert f"+  password: {CHANGED_SECRET_VALUE}\n" in result.text
    assert f"   user: {SECRET_VALUE}\n" in result.text  # unchanged, still masked
    assert leaks(result) == []


def test_the_last_applied_annotation_of_a_secret_is_masked_on_both_sides() -> None:
    before = with_last_applied(secret({"password": CANARY}, stringData={"token": CANARY}))
    after = with_last_applied(secret({"password": OTHER_CANARY}))
    result = diff(before, after)
    found = changes(result)
    assert found[f'metadata.annotations["{LAST_APPLIED}"]'] == (
        "changed",
        f'"{SECRET_VALUE}"',
        f'"{CHANGED_SECRET_VALUE}"',
    )
    assert leaks(result) == []
    assert "team: shop" in result.text  # other annotations show as they are


def test_an_unchanged_last_applied_annotation_is_no_difference_and_shows_no_value() -> None:
    before = with_last_applied(secret({"password": CANARY}))
    after = copy.deepcopy(before)
    after["type"] = "kubernetes.io/basic-auth"
    result = diff(before, after)
    assert list(changes(result)) == ["type"]
    assert leaks(result) == []
    assert f"{LAST_APPLIED}: {SECRET_VALUE}" in diff(None, after).text


def test_string_data_read_back_as_data_is_unchanged() -> None:
    written = secret({"user": "admin"}, stringData={"password": CANARY, "user": "root"})
    read_back = secret({"password": CANARY, "user": "root"})  # stringData wins over data
    assert diff(written, read_back).status is DiffStatus.UNCHANGED
    assert diff(read_back, written).status is DiffStatus.UNCHANGED


def test_a_string_data_value_that_differs_from_data_is_a_masked_change() -> None:
    result = diff(secret({"password": CANARY}), secret(stringData={"password": OTHER_CANARY}))
    assert changes(result) == {
        "data.password": ("changed", f'"{SECRET_VALUE}"', f'"{CHANGED_SECRET_VALUE}"')
    }
    assert leaks(result) == []


def test_a_created_or_removed_secret_shows_its_key_names_only() -> None:
    obj = with_last_applied(secret({"password": CANARY}, stringData={"token": OTHER_CANARY}))
    for result in (diff(None, obj), diff(obj, None)):
        assert result.status in (DiffStatus.CREATE, DiffStatus.REMOVE)
        assert f"password: {SECRET_VALUE}" in result.text
        assert f"token: {SECRET_VALUE}" in result.text
        assert leaks(result) == []


@pytest.mark.parametrize("hostile", ["plain-text", ["a", "list"], 7])
def test_a_secret_whose_data_is_not_a_map_is_masked_whole(hostile: Any) -> None:
    before = secret({"password": CANARY})
    after = secret(stringData={"password": CANARY})
    after["data"] = hostile  # stringData cannot be folded into it: both masked whole
    result = diff(before, after)
    assert result.status is DiffStatus.CHANGE
    assert all(c.before in (None, f'"{SECRET_VALUE}"') for c in result.changes)
    assert all(
        c.after in (None, f'"{SECRET_VALUE}"', f'"{CHANGED_SECRET_VALUE}"') for c in result.changes
    )
    assert leaks(result) == []


def test_equal_secrets_are_unchanged() -> None:
    obj = with_last_applied(secret({"password": CANARY}))
    assert diff(obj, copy.deepcopy(obj)).status is DiffStatus.UNCHANGED


def sealed_secret() -> Object:
    """A Secret as an encrypted bundle holds it (the envelope's content does not matter)."""
    return {**secret(), SEALED_FIELD: {"v": 1, "data": b64(CANARY)}}


def test_a_sealed_secret_is_not_compared_and_says_the_passphrase_is_needed() -> None:
    sealed = sealed_secret()
    result = diff(sealed, secret({"password": CANARY}))
    assert result.status is DiffStatus.NOT_COMPARED
    assert result.message == "encrypted in a.kbundle: give the passphrase to compare it"
    assert (result.text, result.changes) == ("", ())
    both = diff(sealed, copy.deepcopy(sealed))
    assert both.status is DiffStatus.NOT_COMPARED
    assert both.message == "encrypted in a.kbundle and b.kbundle: give the passphrase to compare it"


def test_an_added_sealed_secret_is_created_with_its_envelope_as_a_placeholder() -> None:
    sealed = sealed_secret()
    result = diff(None, sealed)
    assert result.status is DiffStatus.CREATE
    assert f"+{SEALED_FIELD}: {ENCRYPTED}\n" in result.text
    assert leaks(result) == []


def test_only_core_secrets_are_masked() -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a"},
        "data": {"a": "1"},
    }
    custom = {**config, "apiVersion": "example.com/v1", "kind": "Secret"}
    assert secret_safe(config, custom) == (config, custom)


def test_masking_changes_neither_input() -> None:
    before = with_last_applied(secret({"password": CANARY}, stringData={"token": CANARY}))
    after = with_last_applied(secret({"password": OTHER_CANARY}))
    kept = copy.deepcopy((before, after))
    secret_safe(before, after)
    assert (before, after) == kept
