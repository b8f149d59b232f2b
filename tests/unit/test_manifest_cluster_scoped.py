"""The manifest's clusterScoped section (format 1.2): written, read back, checked by the schema,
optional for 1.1 bundles, and kept by ``kbundle transform`` for what the new bundle holds."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import kbundle
from kbundle.bundle.verify import parse_manifest
from kbundle.bundle.writer import BundleWriter
from kbundle.core.errors import BundleFormatError
from kbundle.core.model import FORMAT_VERSION, ClusterScopedEntry, Manifest, Object
from tests.bundle_samples import add_sample_files, sample_manifest

NAMESPACE_ENTRY = ClusterScopedEntry("Namespace", "shop", "namespace of the selection")
CRD_ENTRY = ClusterScopedEntry(
    "CustomResourceDefinition.apiextensions.k8s.io",
    "widgets.example.com",
    "named by ClusterRole operator, bound to ServiceAccount shop/operator by "
    "ClusterRoleBinding operator",
)


def write(path: Path, **changes: Any) -> Manifest:
    with BundleWriter(path, mtime=1_795_244_400) as writer:
        manifest = sample_manifest(add_sample_files(writer), **changes)
        writer.finish(manifest)
    return manifest


def document(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return write(tmp_path / "b.kbundle", **changes).to_dict()


def test_format_version_is_1_2() -> None:
    assert FORMAT_VERSION == "1.2.0"


def test_section_is_written_last_and_read_back_in_order(tmp_path: Path) -> None:
    data = document(tmp_path, cluster_scoped=(CRD_ENTRY, NAMESPACE_ENTRY))
    assert list(data)[-1] == "clusterScoped"
    assert data["clusterScoped"][1] == {
        "kind": "Namespace",
        "name": "shop",
        "reason": "namespace of the selection",
    }
    assert parse_manifest(data).cluster_scoped == (CRD_ENTRY, NAMESPACE_ENTRY)


def test_a_manifest_without_the_section_reads_as_none_and_writes_none(tmp_path: Path) -> None:
    data = document(tmp_path)
    assert "clusterScoped" not in data
    old = {**copy.deepcopy(data), "formatVersion": "1.1.0"}
    manifest = parse_manifest(old)
    assert manifest.cluster_scoped is None
    assert manifest.extra == {}
    assert "clusterScoped" not in manifest.to_dict()


def test_an_empty_section_is_kept_as_empty(tmp_path: Path) -> None:
    manifest = parse_manifest(document(tmp_path, cluster_scoped=()))
    assert manifest.cluster_scoped == ()
    assert manifest.extra == {}


@pytest.mark.parametrize(
    ("entry", "culprit"),
    [
        ({"kind": "Namespace", "name": "shop"}, "reason"),
        ({"kind": "Namespace", "name": "shop", "reason": "two\nlines"}, "two"),
        ({"kind": "Namespace", "name": "", "reason": "x"}, "name"),
        ({"kind": "Namespace", "name": "shop", "reason": "x", "data": "s3cret"}, "data"),
    ],
)
def test_schema_refuses_malformed_entries(
    tmp_path: Path, entry: dict[str, Any], culprit: str
) -> None:
    data = {**document(tmp_path), "clusterScoped": [entry]}
    with pytest.raises(BundleFormatError, match="clusterScoped") as error:
        parse_manifest(data)
    assert "$.clusterScoped[0]" in error.value.message and culprit in error.value.message


def test_a_bundle_with_the_section_verifies(tmp_path: Path) -> None:
    write(tmp_path / "b.kbundle", cluster_scoped=(NAMESPACE_ENTRY,))
    verified = kbundle.verify(kbundle.VerifyOptions(tmp_path / "b.kbundle"))
    assert verified.manifest.cluster_scoped == (NAMESPACE_ENTRY,)
    assert verified.manifest.format_version == "1.2.0"


def test_a_reason_for_an_object_the_bundle_does_not_hold_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "b.kbundle", cluster_scoped=(NAMESPACE_ENTRY, CRD_ENTRY))
    with pytest.raises(BundleFormatError, match="clusterScoped names CustomResourceDefinition"):
        kbundle.verify(kbundle.VerifyOptions(tmp_path / "b.kbundle"))


def transformed(tmp_path: Path, *transforms: Any) -> Manifest:
    result = kbundle.transform(
        kbundle.TransformOptions(
            bundle=tmp_path / "in.kbundle", output=tmp_path / "out.kbundle", transforms=transforms
        )
    )
    assert kbundle.verify(kbundle.VerifyOptions(tmp_path / "out.kbundle")).manifest == (
        result.manifest
    )
    return result.manifest


def test_transform_keeps_the_section_under_renamed_namespaces(tmp_path: Path) -> None:
    write(tmp_path / "in.kbundle", cluster_scoped=(NAMESPACE_ENTRY,))
    manifest = transformed(
        tmp_path, kbundle.TransformSpec("map-namespace", {"mapping": {"shop": "shop-prod"}})
    )
    assert manifest.cluster_scoped == (
        ClusterScopedEntry("Namespace", "shop-prod", "namespace of the selection"),
    )


def drop_namespaces(obj: Object, context: Any) -> Object | None:
    return None if obj["kind"] == "Namespace" else obj


def test_transform_drops_the_entries_of_objects_it_dropped(tmp_path: Path) -> None:
    write(tmp_path / "in.kbundle", cluster_scoped=(NAMESPACE_ENTRY,))
    assert transformed(tmp_path, drop_namespaces).cluster_scoped == ()


def test_transform_of_a_bundle_without_the_section_adds_none(tmp_path: Path) -> None:
    write(tmp_path / "in.kbundle", format_version="1.1.0")
    manifest = transformed(tmp_path, drop_namespaces)
    assert manifest.cluster_scoped is None
    assert manifest.format_version == "1.1.0"
