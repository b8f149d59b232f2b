"""Import's first pass over a bundle: each level's objects go to one spool on disk, with the
owners they may name; nothing per object but the spool's small int and head. Without
transforms or a selection, the spools verification wrote become the levels as they are."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kbundle.bundle import verify
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.trust import TrustPolicy
from kbundle.core.errors import UsageError
from kbundle.core.model import Object, ObjectRef
from kbundle.core.spool import ObjectSpool
from kbundle.transforms.base import TransformContext
from kbundle.verbs import importing
from kbundle.verbs.common import ready_bundle
from tests.bundle_samples import SECRETS, write_bundle, write_encrypted_bundle

PASSPHRASE = b"correct horse battery staple"


def _configmap(name: str, owner: str | None = None) -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "namespace": "a"}
    if owner is not None:
        meta["ownerReferences"] = [
            {"apiVersion": "example.com/v1", "kind": "Widget", "name": owner, "uid": "u"}
        ]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def test_each_level_is_one_spool_holding_its_objects_and_the_owners_they_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[ObjectSpool] = []

    class Counted(ObjectSpool):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(importing, "ObjectSpool", Counted)
    objects = [_configmap(f"c{n}") for n in range(50)] + [_configmap("owned", owner="w")]
    write_bundle(tmp_path / "b.kbundle", [(1, "resources", objects)])
    ready = ready_bundle(tmp_path / "b.kbundle", tmp_path / "work", TrustPolicy())
    context = TransformContext(manifest=ready.bundle.manifest)
    levels, failures = importing.transformed_levels(ready, [], context)
    assert failures == []
    (level,) = levels
    assert len(made) == 1 and level.objects is made[0] and len(level.objects) == 51
    assert level.owners == frozenset(
        {
            ObjectRef("example.com", "Widget", "a", "w"),
            ObjectRef("example.com", "Widget", "", "w"),
        }
    )


class _Unchanged:
    """A transform that changes nothing: the objects take the path of any transform."""

    name = "unchanged"

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        return obj


def _levels(path: Path, work: Path, transforms: Sequence[Any], **trust: Any) -> list[Any]:
    ready = ready_bundle(path, work, TrustPolicy(**trust))
    context = TransformContext(manifest=ready.bundle.manifest)
    levels, failures = importing.transformed_levels(ready, transforms, context)
    assert failures == []
    return [(level.number, level.name, list(level.objects), level.owners) for level in levels]


def test_without_transforms_a_large_bundle_s_levels_are_the_spools_verification_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read back and spooled again, 50,000 objects cost 0.3 s before the first write."""
    monkeypatch.setattr(verify, "KEEP_PARSED_BYTES", 0)  # every file spooled as verified
    config = [_configmap(f"c{n}") for n in range(30)] + [_configmap("owned", owner="w")]
    secrets = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s{n}", "namespace": "a"}}
        for n in range(3)
    ]
    deployments = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"d{n}", "namespace": "a"},
        }
        for n in range(5)
    ]
    write_bundle(
        tmp_path / "b.kbundle",
        [(6, "configuration", [*config, *secrets]), (9, "workloads", deployments)],
    )
    expected = _levels(tmp_path / "b.kbundle", tmp_path / "one", [_Unchanged()])

    def read(*_: object) -> None:
        raise AssertionError("an object was read back")

    monkeypatch.setattr(verify.VerifiedBundle, "stream", read)
    assert _levels(tmp_path / "b.kbundle", tmp_path / "two", []) == expected
    assert expected[0][3] == {
        ObjectRef("example.com", "Widget", "a", "w"),
        ObjectRef("example.com", "Widget", "", "w"),
    }


def test_opened_secrets_of_a_large_bundle_keep_their_place_beside_the_files_taken_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify, "KEEP_PARSED_BYTES", 0)
    write_encrypted_bundle(tmp_path / "sealed.kbundle", PASSPHRASE)
    opened = {"passphrase": PassphraseSource(value=PASSPHRASE)}
    whole = _levels(tmp_path / "sealed.kbundle", tmp_path / "one", [], **opened)
    one_by_one = _levels(tmp_path / "sealed.kbundle", tmp_path / "two", [_Unchanged()], **opened)
    assert whole == one_by_one
    configuration = whole[-1][2]
    assert [o for o in configuration if o["kind"] == "Secret"] == SECRETS
    with pytest.raises(UsageError, match="still encrypted"):
        _levels(tmp_path / "sealed.kbundle", tmp_path / "three", [])
