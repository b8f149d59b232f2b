"""The OCI artifact a bundle is stored as: media types, descriptors, annotations, and what
is refused as not a kbundle artifact. Pure data, no registry."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kbundle.core.errors import IntegrityError, KbundleError
from kbundle.core.model import SECRETS_ENCRYPTED, SecretsInfo, SelectionInfo
from kbundle.remote import artifact
from kbundle.remote.artifact import (
    ANNOTATION_NAMESPACES,
    ANNOTATION_OBJECTS,
    ANNOTATION_SECRETS,
    ANNOTATION_TITLE,
    ARTIFACT_TYPE,
    EMPTY_CONFIG,
    MEDIA_TYPE_BUNDLE,
    MEDIA_TYPE_EMPTY,
    MEDIA_TYPE_MANIFEST,
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST,
    Descriptor,
    annotations_for,
    build_artifact,
    digest_of,
    parse_artifact,
)
from kbundle.remote.blobs import UploadStream, describe_file, receive
from kbundle.remote.errors import DigestMismatch, NotAKbundleArtifact, RemoteError
from kbundle.remote.oci import safe_title
from tests.bundle_samples import sample_manifest

MANIFEST = sample_manifest(())
MANIFEST_YAML = b"kind: KbundleManifest\n"
BUNDLE = Descriptor("ignored", digest_of(b"bundle bytes"), 12)


def artifact_doc(**changes: Any) -> dict[str, Any]:
    doc = build_artifact(BUNDLE, MANIFEST_YAML, MANIFEST, "shop.kbundle").to_dict()
    doc.update(changes)
    return doc


def test_the_artifact_has_kbundles_type_the_empty_config_and_two_titled_layers() -> None:
    doc = artifact_doc()
    assert doc["schemaVersion"] == 2
    assert doc["mediaType"] == MEDIA_TYPE_OCI_MANIFEST
    assert doc["artifactType"] == ARTIFACT_TYPE
    assert doc["config"] == {
        "mediaType": MEDIA_TYPE_EMPTY,
        "digest": digest_of(b"{}"),
        "size": 2,
        "data": "e30=",
    }
    assert doc["layers"] == [
        {
            "mediaType": MEDIA_TYPE_BUNDLE,
            "digest": BUNDLE.digest,
            "size": 12,
            "annotations": {ANNOTATION_TITLE: "shop.kbundle"},
        },
        {
            "mediaType": MEDIA_TYPE_MANIFEST,
            "digest": digest_of(MANIFEST_YAML),
            "size": len(MANIFEST_YAML),
            "annotations": {ANNOTATION_TITLE: "manifest.yaml"},
        },
    ]


def test_the_annotations_carry_the_manifests_facts_as_strings() -> None:
    annotations = annotations_for(MANIFEST)
    assert annotations == {
        "org.opencontainers.image.created": MANIFEST.created_at,
        "io.kbundle.format.version": MANIFEST.format_version,
        "io.kbundle.tool.version": "0.1.0",
        "io.kbundle.source.context": "kbundle-source",
        "io.kbundle.source.server-version": "v1.31.0",
        "io.kbundle.namespaces": "shop",
        "io.kbundle.objects": "0",
    }


def test_all_namespaces_and_the_secrets_mode_are_annotated() -> None:
    manifest = replace(
        MANIFEST,
        selection=SelectionInfo(all_namespaces=True),
        secrets=SecretsInfo(SECRETS_ENCRYPTED, 3, {"scheme": "scrypt-aes-256-gcm"}),
    )
    annotations = annotations_for(manifest)
    assert annotations[ANNOTATION_NAMESPACES] == "*"
    assert annotations[ANNOTATION_SECRETS] == "encrypted"
    assert annotations[ANNOTATION_OBJECTS] == "0"
    assert "scrypt" not in json.dumps(annotations)  # parameters stay in the bundle


def test_the_same_bundle_always_encodes_to_the_same_compact_bytes() -> None:
    one = build_artifact(BUNDLE, MANIFEST_YAML, MANIFEST, "shop.kbundle").encode()
    two = build_artifact(BUNDLE, MANIFEST_YAML, MANIFEST, "shop.kbundle").encode()
    assert one == two
    assert b" " not in one.replace(b"kbundle-source", b"")  # separators without spaces


def test_an_encoded_artifact_parses_back() -> None:
    artifact = build_artifact(BUNDLE, MANIFEST_YAML, MANIFEST, "shop.kbundle")
    parsed = parse_artifact(artifact.encode(), "oci://r/x:v1")
    assert parsed.bundle.digest == BUNDLE.digest
    assert parsed.bundle.title == "shop.kbundle"
    assert parsed.manifest is not None and parsed.manifest.size == len(MANIFEST_YAML)
    assert parsed.annotations == annotations_for(MANIFEST)
    assert [b.label for b in artifact.blobs] == ["shop.kbundle", "manifest.yaml", "config"]


def test_an_artifact_typed_by_its_config_is_accepted() -> None:
    """The image-spec's rule for artifacts of tools that predate ``artifactType``."""
    doc = artifact_doc(config={"mediaType": ARTIFACT_TYPE, "digest": digest_of(b"{}"), "size": 2})
    del doc["artifactType"]
    assert parse_artifact(json.dumps(doc).encode(), "x").bundle.digest == BUNDLE.digest


def test_an_artifact_without_the_manifest_layer_still_pulls() -> None:
    doc = artifact_doc()
    doc["layers"] = doc["layers"][:1]
    assert parse_artifact(json.dumps(doc).encode(), "x").manifest is None


@pytest.mark.parametrize(
    ("doc", "what"),
    [
        ({"schemaVersion": 2, "mediaType": MEDIA_TYPE_OCI_INDEX, "manifests": []}, "image index"),
        (
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json"},
            "a Docker image",
        ),
        (artifact_doc(artifactType="application/vnd.cncf.helm.chart"), "artifactType"),
        (artifact_doc(artifactType=None), "artifactType"),
        (artifact_doc(layers=[]), "expected one"),
        (artifact_doc(layers="nope"), "no layers"),
        ([], "not a manifest"),
    ],
)
def test_anything_else_is_not_a_kbundle_artifact(doc: Any, what: str) -> None:
    with pytest.raises(NotAKbundleArtifact, match="this is not a kbundle artifact") as caught:
        parse_artifact(json.dumps(doc).encode(), "oci://r/x:v1")
    assert what in caught.value.message
    assert caught.value.message.startswith("oci://r/x:v1: ")


def test_a_manifest_that_is_not_json_is_not_a_kbundle_artifact() -> None:
    with pytest.raises(NotAKbundleArtifact, match="not JSON"):
        parse_artifact(b"\x89PNG", "x")


@pytest.mark.parametrize(
    ("descriptor", "message"),
    [
        ({"mediaType": "a", "digest": "sha512:" + "a" * 128, "size": 1}, "sha256 only"),
        ({"mediaType": "a", "digest": "sha256:abc", "size": 1}, "not a sha256 digest"),
        ({"mediaType": "a", "digest": "../../etc/passwd", "size": 1}, "no valid digest"),
        ({"mediaType": "a", "digest": digest_of(b""), "size": -1}, "no valid size"),
        ({"mediaType": "a", "digest": digest_of(b""), "size": True}, "no valid size"),
        ({"digest": digest_of(b""), "size": 1}, "no mediaType"),
        (
            {"mediaType": "a", "digest": digest_of(b""), "size": 0, "annotations": {"k": 1}},
            "malformed annotations",
        ),
    ],
)
def test_a_descriptor_is_checked_before_anything_is_downloaded_by_it(
    descriptor: dict[str, Any], message: str
) -> None:
    with pytest.raises(RemoteError, match=message):
        Descriptor.from_dict(descriptor, "x")


def test_the_empty_config_is_the_image_specs_empty_descriptor() -> None:
    assert EMPTY_CONFIG.digest == (
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )


# -- blobs moved in chunks ------------------------------------------------------------------


def test_a_received_blob_is_checked_and_private(tmp_path: Path) -> None:
    content = b"x" * 3000
    expected = Descriptor(MEDIA_TYPE_BUNDLE, digest_of(content), len(content))
    seen: list[int] = []
    target = receive(
        [content[:1000], content[1000:]],
        expected,
        tmp_path / "b",
        "x",
        lambda done, total, what: seen.append(done),
    )
    assert target.read_bytes() == content
    assert target.stat().st_mode & 0o777 == 0o600
    assert seen == [1000, 3000]


@pytest.mark.parametrize("chunks", [[b"y" * 3000], [b"x" * 2999], [b"x" * 3000, b"!"]])
def test_a_blob_that_does_not_match_leaves_no_file(tmp_path: Path, chunks: list[bytes]) -> None:
    expected = Descriptor(MEDIA_TYPE_BUNDLE, digest_of(b"x" * 3000), 3000)
    with pytest.raises(DigestMismatch) as caught:
        receive(chunks, expected, tmp_path / "b", "oci://r/x:v1")
    assert list(tmp_path.iterdir()) == []
    assert isinstance(caught.value, IntegrityError) and isinstance(caught.value, KbundleError)


def test_an_upload_stream_has_a_length_reports_progress_and_rewinds(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * (3 * 1024 * 1024 + 5))
    seen: list[int] = []
    with path.open("rb") as handle:
        stream = UploadStream(handle, 3 * 1024 * 1024 + 5, "f", lambda d, t, w: seen.append(d))
        assert len(stream) == 3 * 1024 * 1024 + 5
        body = b"".join(iter(lambda: stream.read(16384), b""))
        assert body == path.read_bytes()
        assert seen == [1024 * 1024, 2 * 1024 * 1024, 3 * 1024 * 1024, 3 * 1024 * 1024 + 5]
        stream.rewind()
        assert b"".join(stream) == body


def test_a_file_is_described_by_its_sha256_and_size(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    assert describe_file(path, "t") == Descriptor("t", digest_of(b"hello"), 5)


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("shop.kbundle", "shop.kbundle"),
        (".shop.kbundle.1234.partial", "bundle.kbundle"),
        ("../../etc/passwd", "bundle.kbundle"),
        ("a/b", "bundle.kbundle"),
        ("", "bundle.kbundle"),
    ],
)
def test_a_title_is_a_plain_file_name(name: str, title: str) -> None:
    assert safe_title(name) == title


def test_the_format_doc_names_every_media_type_and_annotation() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "format.md").read_text()
    section = doc[doc.index("## In an OCI registry") :]
    names = [n for n in artifact.__all__ if n.startswith(("MEDIA_TYPE_", "ANNOTATION_"))]
    names.append("ARTIFACT_TYPE")
    missing = [n for n in names if f"`{getattr(artifact, n)}`" not in section]
    assert missing == []
