"""Bundles in OCI image layouts (a folder or a ``.tar``): the index kept per the spec, round
trips, and what is refused. Local files only."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from kbundle.core.errors import RemoteError
from kbundle.remote import oci
from kbundle.remote.artifact import (
    ANNOTATION_REF_NAME,
    ARTIFACT_TYPE,
    MEDIA_TYPE_OCI_MANIFEST,
    Descriptor,
    digest_of,
)
from kbundle.remote.blobs import describe_file
from kbundle.remote.errors import DigestMismatch, NotAKbundleArtifact, NotFound
from kbundle.remote.layout import find_tag, parse_index, updated_index
from kbundle.remote.oci import pull_bundle, pull_manifest, push_bundle
from kbundle.remote.refs import LayoutRef, RemoteOptions
from tests.bundle_samples import sample_manifest

OPTIONS = RemoteOptions()
MANIFEST = sample_manifest(())
MANIFEST_YAML = b"kind: KbundleManifest\nformatVersion: 1.2.0\n"
ONE = Descriptor(MEDIA_TYPE_OCI_MANIFEST, digest_of(b"one"), 3)
TWO = Descriptor(MEDIA_TYPE_OCI_MANIFEST, digest_of(b"two"), 3)


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "shop.kbundle"
    path.write_bytes(b"not really zstd, the layout does not care" * 1000)
    return path


def push(bundle: Path, ref: LayoutRef) -> str:
    return push_bundle(bundle, MANIFEST_YAML, MANIFEST, ref, OPTIONS)


# -- index.json -----------------------------------------------------------------------------


def test_a_new_index_names_the_manifest_by_its_tag() -> None:
    index = json.loads(updated_index(None, ONE, "v1"))
    assert index == {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": MEDIA_TYPE_OCI_MANIFEST,
                "artifactType": ARTIFACT_TYPE,
                "digest": ONE.digest,
                "size": 3,
                "annotations": {ANNOTATION_REF_NAME: "v1"},
            }
        ],
    }


def test_retagging_replaces_that_tag_and_keeps_everything_else() -> None:
    other = {"mediaType": "x", "digest": digest_of(b"img"), "size": 9, "platform": {"os": "linux"}}
    index = json.loads(updated_index(None, ONE, "v1"))
    index["manifests"].append(other)
    index["annotations"] = {"kept": "yes"}
    index = json.loads(updated_index(index, TWO, "v2"))
    index = json.loads(updated_index(index, TWO, "v1"))
    tags = [
        (m.get("annotations", {}).get(ANNOTATION_REF_NAME), m["digest"]) for m in index["manifests"]
    ]
    assert tags == [(None, other["digest"]), ("v2", TWO.digest), ("v1", TWO.digest)]
    assert index["annotations"] == {"kept": "yes"}
    assert index["manifests"][0] == other


def test_a_missing_tag_names_the_tags_the_layout_has() -> None:
    index = json.loads(updated_index(json.loads(updated_index(None, ONE, "b")), TWO, "a"))
    assert find_tag(index, "a", "x").digest == TWO.digest
    with pytest.raises(NotFound, match=r"no tag 'c' in the layout \(it has a, b\)"):
        find_tag(index, "c", "x")


def test_a_tag_given_twice_is_refused() -> None:
    entry = json.loads(updated_index(None, ONE, "v1"))["manifests"][0]
    with pytest.raises(RemoteError, match="2 manifests tagged 'v1'"):
        find_tag({"manifests": [entry, entry]}, "v1", "x")


@pytest.mark.parametrize(
    "raw", [b"{", b"[]", b'{"schemaVersion": 1}', b'{"schemaVersion": 2, "manifests": 3}']
)
def test_a_malformed_index_is_refused(raw: bytes) -> None:
    with pytest.raises(RemoteError, match=r"index\.json"):
        parse_index(raw, "x")


# -- folders and tarballs -------------------------------------------------------------------


def test_a_folder_layout_follows_the_image_layout_spec(bundle: Path, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    digest = push(bundle, LayoutRef(layout, "v1"))
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    blobs = {p.name for p in (layout / "blobs" / "sha256").iterdir()}
    for blob in blobs:
        content = (layout / "blobs" / "sha256" / blob).read_bytes()
        assert digest_of(content) == f"sha256:{blob}"
    manifest = json.loads((layout / "blobs/sha256" / digest.split(":")[1]).read_bytes())
    assert {d["digest"].split(":")[1] for d in [manifest["config"], *manifest["layers"]]} | {
        digest.split(":")[1]
    } == blobs
    assert sorted(p.name for p in layout.iterdir()) == ["blobs", "index.json", "oci-layout"]


@pytest.mark.parametrize("name", ["layout", "layout.tar"])
def test_push_then_pull_gives_the_same_bytes(bundle: Path, tmp_path: Path, name: str) -> None:
    ref = LayoutRef(tmp_path / name, "v1")
    push(bundle, ref)
    assert pull_bundle(ref, tmp_path / "out", OPTIONS).read_bytes() == bundle.read_bytes()
    assert pull_manifest(ref, OPTIONS) == MANIFEST_YAML


def test_a_tarball_layout_holds_a_layout_folder(bundle: Path, tmp_path: Path) -> None:
    path = tmp_path / "layout.tar"
    push(bundle, LayoutRef(path, "v1"))
    push(bundle, LayoutRef(path, "v2"))
    with tarfile.open(path) as archive:
        names = archive.getnames()
        index = json.loads(archive.extractfile("index.json").read())  # type: ignore[union-attr]
    assert names[0] == "oci-layout" and names[-1] == "index.json"
    assert len([n for n in names if n.startswith("blobs/sha256/")]) == 4  # no duplicates
    assert [m["annotations"][ANNOTATION_REF_NAME] for m in index["manifests"]] == ["v1", "v2"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_changed_blob_in_a_tarball_is_refused(bundle: Path, tmp_path: Path) -> None:
    path = tmp_path / "layout.tar"
    push(bundle, LayoutRef(path, "v1"))
    data = path.read_bytes()
    marker = b"not really zstd"
    path.write_bytes(data.replace(marker, b"NOT really zstd", 1))
    with pytest.raises(DigestMismatch):
        pull_bundle(LayoutRef(path, "v1"), tmp_path / "out", OPTIONS)
    assert not (tmp_path / "out" / "shop.kbundle").exists()


def test_a_folder_that_is_not_a_layout_is_left_alone(bundle: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(RemoteError, match="not an OCI layout"):
        push(bundle, LayoutRef(folder, "v1"))
    assert [p.name for p in folder.iterdir()] == ["cat.jpg"]


def test_a_file_that_is_not_a_layout_tarball_is_left_alone(bundle: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as archive:
        archive.add(bundle, "shop.kbundle")
    before = other.read_bytes()
    with pytest.raises(NotFound, match="not an OCI layout tarball"):
        push(bundle, LayoutRef(other, "v1"))
    assert other.read_bytes() == before


def test_pulling_from_no_layout_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no OCI layout at"):
        pull_bundle(LayoutRef(tmp_path / "absent", "v1"), tmp_path / "out", OPTIONS)


def test_a_layout_image_is_not_a_kbundle_artifact(tmp_path: Path) -> None:
    layout = tmp_path / "image"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    config = b'{"architecture":"amd64","os":"linux"}'
    (layout / "blobs/sha256" / digest_of(config).split(":")[1]).write_bytes(config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    (layout / "blobs/sha256" / digest_of(manifest).split(":")[1]).write_bytes(manifest)
    descriptor = Descriptor(MEDIA_TYPE_OCI_MANIFEST, digest_of(manifest), len(manifest))
    (layout / "index.json").write_bytes(updated_index(None, descriptor, "latest"))
    with pytest.raises(NotAKbundleArtifact, match="this is not a kbundle artifact"):
        pull_bundle(LayoutRef(layout, "latest"), tmp_path / "out", OPTIONS)


def test_a_bundle_that_changes_while_it_is_pushed_is_refused(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest is taken first, the copy second: a file changed in between never lands
    under a digest it does not have."""

    def describe_then_change(path: Path, media_type: str) -> Descriptor:
        descriptor = describe_file(path, media_type)
        path.write_bytes(b"changed")
        return descriptor

    monkeypatch.setattr(oci, "describe_file", describe_then_change)
    for name in ("layout", "layout.tar"):
        bundle.write_bytes(b"original" * 100)
        with pytest.raises(DigestMismatch):
            push(bundle, LayoutRef(tmp_path / name, "v1"))
    assert not (tmp_path / "layout" / "index.json").exists()
    assert not (tmp_path / "layout.tar").exists()
