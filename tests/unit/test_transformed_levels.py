"""Import's first pass over a bundle: each level's objects go to one spool on disk, with the
owners they may name; nothing per object but the spool's small int and head."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbundle.bundle.trust import TrustPolicy
from kbundle.core.model import ObjectRef
from kbundle.core.spool import ObjectSpool
from kbundle.transforms.base import TransformContext
from kbundle.verbs import importing
from kbundle.verbs.common import ready_bundle
from tests.bundle_samples import write_bundle


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
