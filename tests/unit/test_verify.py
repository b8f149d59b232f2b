"""Verification accepts exactly what the writer produces and names the culprit of anything else."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kbundle.bundle.layout import CHECKSUMS, MANIFEST, is_object_file, object_file
from kbundle.bundle.reader import read_manifest
from kbundle.bundle.verify import VerifiedBundle, load_schema, parse_manifest, verify_bundle
from kbundle.bundle.writer import checksums_text
from kbundle.bundle.yaml_codec import dump_document, dump_documents, load_documents
from kbundle.core.errors import BundleFormatError, IntegrityError
from tests.bundle_samples import (
    CONFIGMAPS,
    DEPLOYMENTS,
    NAMESPACES,
    compress,
    pack,
    pack_tar,
    regular,
    tar_members,
    write_sample_bundle,
)

Members = dict[str, bytes]

NAMESPACE_FILE = "objects/00-namespaces/core.v1.Namespace.yaml"
CONFIGMAP_FILE = "objects/06-configuration/core.v1.ConfigMap.yaml"
DEPLOYMENT_FILE = "objects/09-workloads/apps.v1.Deployment.yaml"


# -- building good and bad bundles -----------------------------------------------------------


@pytest.fixture
def bundle(tmp_path: Path) -> bytes:
    """The bytes of a bundle as the writer makes it."""
    write_sample_bundle(tmp_path / "sample.kbundle")
    return (tmp_path / "sample.kbundle").read_bytes()


def members_of(bundle: bytes) -> Members:
    return {info.name: data for info, data in tar_members(bundle)}


def repack(members: Members) -> bytes:
    return pack([regular(name, data) for name, data in members.items()])


def resealed(members: Members) -> Members:
    """The same members with a checksums file that matches them again."""
    digests = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in members.items()
        if name != CHECKSUMS
    }
    return {
        name: checksums_text(digests) if name == CHECKSUMS else data
        for name, data in members.items()
    }


def with_manifest(members: Members, change: Callable[[dict[str, Any]], None]) -> Members:
    [document] = load_documents(members[MANIFEST])
    change(document)
    return resealed({**members, MANIFEST: dump_document(document)})


def with_objects(members: Members, path: str, documents: list[dict[str, Any]]) -> Members:
    """Replace one object file and keep the manifest and checksums consistent with it."""
    data = dump_documents(documents)

    def update_entry(manifest: dict[str, Any]) -> None:
        for entry in manifest["files"]:
            if entry["path"] == path:
                entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
                entry["objects"] = len(documents)
        manifest["totals"]["bytes"] = sum(entry["size"] for entry in manifest["files"])
        manifest["totals"]["objects"] = sum(entry["objects"] for entry in manifest["files"])

    return with_manifest({**members, path: data}, update_entry)


def verify_error(tmp_path: Path, data: bytes) -> BundleFormatError:
    """The error verifying ``data`` raises; its message must fit on one line."""
    workdir = tmp_path / f"work-{len(list(tmp_path.iterdir()))}"
    with pytest.raises(BundleFormatError) as caught:
        verify_bundle(io.BytesIO(data), workdir)
    assert "\n" not in caught.value.message
    return caught.value


def verified(tmp_path: Path, data: bytes) -> VerifiedBundle:
    return verify_bundle(io.BytesIO(data), tmp_path / "verified")


# -- what passes ------------------------------------------------------------------------------


def test_verify_accepts_a_written_bundle_and_lists_entries_in_level_order(
    tmp_path: Path, bundle: bytes
) -> None:
    result = verified(tmp_path, bundle)
    assert [entry.path for entry in result.entries] == [
        NAMESPACE_FILE,
        CONFIGMAP_FILE,
        DEPLOYMENT_FILE,
    ]
    assert result.manifest.total_objects == 4
    assert result.root == tmp_path / "verified"


def test_documents_come_from_the_verified_copy(tmp_path: Path, bundle: bytes) -> None:
    result = verified(tmp_path, bundle)
    documents = [result.documents(entry) for entry in result.entries]
    assert documents == [NAMESPACES, CONFIGMAPS, DEPLOYMENTS]


def test_documents_never_returns_a_file_changed_after_verification(
    tmp_path: Path, bundle: bytes
) -> None:
    result = verified(tmp_path, bundle)
    entry = result.entries[0]
    (result.root / entry.path).write_bytes(
        b"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"
    )
    first = result.documents(entry)  # what verification parsed, not the changed file
    assert first == NAMESPACES
    with pytest.raises(IntegrityError, match="changed after verification"):
        result.documents(entry)  # read again: the digest no longer matches


def test_documents_refuses_an_entry_of_another_bundle(tmp_path: Path, bundle: bytes) -> None:
    result = verified(tmp_path, bundle)
    stranger = result.entries[0].__class__(**{**vars(result.entries[0]), "objects": 7})
    with pytest.raises(ValueError, match="not an entry of this bundle"):
        result.documents(stranger)


def test_verify_reads_a_bundle_from_a_path(tmp_path: Path, bundle: bytes) -> None:
    (tmp_path / "b.kbundle").write_bytes(bundle)
    assert verify_bundle(tmp_path / "b.kbundle", tmp_path / "work").manifest.files


def test_hand_repacked_members_still_verify(tmp_path: Path, bundle: bytes) -> None:
    """The test helpers below change one thing at a time: unchanged, they must pass."""
    assert verified(tmp_path, repack(resealed(members_of(bundle)))).entries


def test_newer_minor_version_may_add_fields_which_land_in_extra(
    tmp_path: Path, bundle: bytes
) -> None:
    def newer(manifest: dict[str, Any]) -> None:
        manifest["formatVersion"] = "1.4.0"
        manifest["signatures"] = [{"keyId": "k1"}]
        manifest["source"]["cloud"] = "somewhere"

    result = verified(tmp_path, repack(with_manifest(members_of(bundle), newer)))
    assert result.manifest.format_version == "1.4.0"
    assert result.manifest.extra == {"signatures": [{"keyId": "k1"}]}


# -- byte flips -------------------------------------------------------------------------------

MEMBER_NAMES = [MANIFEST, CHECKSUMS, NAMESPACE_FILE, CONFIGMAP_FILE, DEPLOYMENT_FILE]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("name", MEMBER_NAMES)
def test_verify_names_the_member_with_one_flipped_byte(
    tmp_path: Path, bundle: bytes, name: str, where: str
) -> None:
    members = members_of(bundle)
    data = bytearray(members[name])
    data[{"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[where]] ^= 0x01
    error = verify_error(tmp_path, repack({**members, name: bytes(data)}))
    assert name in error.message
    if is_object_file(name):
        assert isinstance(error, IntegrityError)


# Offset 5 is left out on purpose: it is the window-size byte of the zstd frame header, which
# only changes how much memory decompression may use; the content is the same, so it verifies.
@pytest.mark.parametrize("offset", [0, 4, 20, 200, -40, -5, -1])
def test_verify_rejects_one_flipped_byte_in_the_compressed_file(
    tmp_path: Path, bundle: bytes, offset: int
) -> None:
    data = bytearray(bundle)
    data[offset] ^= 0x01
    assert verify_error(tmp_path, bytes(data)).message


# -- checksums --------------------------------------------------------------------------------


def test_verify_rejects_member_missing_from_checksums(tmp_path: Path, bundle: bytes) -> None:
    members = members_of(bundle)
    extra = object_file(9, "workloads", "apps", "v1", "StatefulSet")
    error = verify_error(tmp_path, repack({**members, extra: b""}))
    assert isinstance(error, IntegrityError)
    assert error.message == f"member {extra} is not listed in {CHECKSUMS}"


def test_verify_rejects_a_listed_member_that_is_missing(tmp_path: Path, bundle: bytes) -> None:
    members = members_of(bundle)
    del members[CONFIGMAP_FILE]
    error = verify_error(tmp_path, repack(members))
    assert error.message == f"{CHECKSUMS} lists {CONFIGMAP_FILE}, which the bundle does not hold"


def test_verify_rejects_a_malformed_checksums_line(tmp_path: Path, bundle: bytes) -> None:
    members = members_of(bundle)
    lines = members[CHECKSUMS].decode().splitlines(keepends=True)
    lines[1] = lines[1].replace("  ", " *", 1)
    error = verify_error(tmp_path, repack({**members, CHECKSUMS: "".join(lines).encode()}))
    assert error.message.startswith(f"{CHECKSUMS} line 2 is malformed")


def test_verify_rejects_a_path_listed_twice_in_checksums(tmp_path: Path, bundle: bytes) -> None:
    members = members_of(bundle)
    first_line = members[CHECKSUMS].splitlines(keepends=True)[0]
    error = verify_error(tmp_path, repack({**members, CHECKSUMS: members[CHECKSUMS] + first_line}))
    assert error.message == f"{CHECKSUMS} line 5: {MANIFEST} cannot be listed here"


def test_verify_requires_a_checksums_member(tmp_path: Path, bundle: bytes) -> None:
    members = members_of(bundle)
    del members[CHECKSUMS]
    assert verify_error(tmp_path, repack(members)).message == f"not a kbundle file: no {CHECKSUMS}"


# -- member order and names -------------------------------------------------------------------


def test_verify_requires_the_manifest_to_come_first(tmp_path: Path, bundle: bytes) -> None:
    members = members_of(bundle)
    reordered = {CHECKSUMS: members.pop(CHECKSUMS), **members}
    error = verify_error(tmp_path, repack(reordered))
    assert error.message == f"{MANIFEST} must be member 1 of the bundle, found {CHECKSUMS}"


def test_verify_rejects_a_member_that_is_no_part_of_a_kbundle(
    tmp_path: Path, bundle: bytes
) -> None:
    members = resealed({**members_of(bundle), "objects/notes.txt": b"hello\n"})
    error = verify_error(tmp_path, repack(members))
    assert error.message == "member objects/notes.txt is not part of a kbundle (unexpected name)"


def test_verify_rejects_an_object_file_the_manifest_does_not_list(
    tmp_path: Path, bundle: bytes
) -> None:
    extra = object_file(9, "workloads", "apps", "v1", "StatefulSet")
    members = resealed({**members_of(bundle), extra: b""})
    error = verify_error(tmp_path, repack(members))
    assert error.message == f"member {extra} is not listed in the {MANIFEST} files"


def test_verify_rejects_a_manifest_entry_without_its_member(tmp_path: Path, bundle: bytes) -> None:
    members = members_of(bundle)
    del members[CONFIGMAP_FILE]
    error = verify_error(tmp_path, repack(resealed(members)))
    assert error.message == f"{MANIFEST} lists {CONFIGMAP_FILE}, which the bundle lacks"


# -- the manifest -----------------------------------------------------------------------------


def test_verify_refuses_another_major_version_before_looking_at_the_schema(
    tmp_path: Path, bundle: bytes
) -> None:
    members = members_of(bundle)
    members[MANIFEST] = b"kind: KbundleManifest\nformatVersion: 2.0.0\nsomething: new\n"
    error = verify_error(tmp_path, repack(members))
    assert error.message == "bundle format 2.0.0 is not supported by this kbundle (supports 1.x)"
    assert error.hint == "upgrade kbundle"


@pytest.mark.parametrize("version", ["1", "1.0", "v1.0.0", "01.0.0", 1, None])
def test_verify_requires_a_semantic_format_version(
    tmp_path: Path, bundle: bytes, version: Any
) -> None:
    def change(manifest: dict[str, Any]) -> None:
        manifest["formatVersion"] = version

    error = verify_error(tmp_path, repack(with_manifest(members_of(bundle), change)))
    assert error.message.startswith(f"{MANIFEST}: formatVersion {version!r} is not a semantic")


def test_verify_rejects_a_manifest_that_is_not_a_mapping(tmp_path: Path, bundle: bytes) -> None:
    members = resealed({**members_of(bundle), MANIFEST: b"- just\n- a list\n"})
    error = verify_error(tmp_path, repack(members))
    assert error.message == f"{MANIFEST}: document 1 is a sequence, not a mapping"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets one field, addressed like ``files.0.sha256``."""

    def change(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = manifest
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("files.0.sha256", "ABC", "$.files[0].sha256: 'ABC' does not match"),
        ("files.1.path", "a/../b.yaml", "$.files[1].path: 'a/../b.yaml' does not match"),
        ("selection.includeClusterResources", "maybe", "$.selection.includeClusterResources: "
         "'maybe' is not one of ['auto', 'true', 'false']"),
        ("createdAt", "2026-11-21 07:00:00", "$.createdAt: '2026-11-21 07:00:00' does not match"),
        ("levels.0.level", -1, "$.levels[0].level: -1 is less than the minimum of 0"),
        ("totals.objects", -3, "$.totals.objects: -3 is less than the minimum of 0"),
        ("source.token", "secret", "$.source: Additional properties are not allowed ('token'"),
        ("kind", "Something", "$.kind: 'KbundleManifest' was expected"),
        ("tool", "kbundle", "$.tool: 'kbundle' is not of type 'object'"),
    ],
)  # fmt: skip
def test_verify_reports_a_schema_violation_with_its_json_path(
    tmp_path: Path, bundle: bytes, field: str, value: Any, expected: str
) -> None:
    error = verify_error(tmp_path, repack(with_manifest(members_of(bundle), _set(field, value))))
    assert error.message.startswith(f"{MANIFEST}: {expected}")


def test_verify_reports_a_missing_required_field(tmp_path: Path, bundle: bytes) -> None:
    def drop(manifest: dict[str, Any]) -> None:
        del manifest["selection"]["keepStatus"]

    error = verify_error(tmp_path, repack(with_manifest(members_of(bundle), drop)))
    assert error.message == f"{MANIFEST}: $.selection: 'keepStatus' is a required property"


def test_verify_rejects_totals_that_do_not_add_up(tmp_path: Path, bundle: bytes) -> None:
    members = with_manifest(members_of(bundle), _set("totals.objects", 99))
    error = verify_error(tmp_path, repack(members))
    assert error.message == f"{MANIFEST}: totals.objects is 99, the files add up to 4"


def test_verify_rejects_a_manifest_digest_that_differs_from_the_member(
    tmp_path: Path, bundle: bytes
) -> None:
    members = with_manifest(members_of(bundle), _set("files.1.sha256", "0" * 64))
    error = verify_error(tmp_path, repack(members))
    assert isinstance(error, IntegrityError)
    assert error.message.startswith(f"{NAMESPACE_FILE}: sha256 in {MANIFEST}")


def test_verify_rejects_a_path_that_disagrees_with_its_level(tmp_path: Path, bundle: bytes) -> None:
    members = with_manifest(members_of(bundle), _set("files.1.level", 6))
    error = verify_error(tmp_path, repack(members))
    assert error.message.startswith(f"{NAMESPACE_FILE}: path does not match its entry")


def test_verify_rejects_a_level_missing_from_the_level_table(tmp_path: Path, bundle: bytes) -> None:
    def drop_level(manifest: dict[str, Any]) -> None:
        del manifest["levels"][0]

    error = verify_error(tmp_path, repack(with_manifest(members_of(bundle), drop_level)))
    assert error.message == f"{NAMESPACE_FILE}: level 0 is not in the {MANIFEST} levels"


def test_parse_manifest_checks_what_read_manifest_returns(tmp_path: Path, bundle: bytes) -> None:
    manifest = parse_manifest(read_manifest(io.BytesIO(bundle)))
    assert manifest.files == verified(tmp_path, bundle).manifest.files


# -- the documents ----------------------------------------------------------------------------


def _namespace(**metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


@pytest.mark.parametrize(
    ("documents", "problem"),
    [
        ([_namespace()], "document 1: metadata.name is missing or not a string"),
        ([_namespace(name="a"), {"kind": "Namespace"}],
         "document 2: apiVersion is missing or not a string"),
        ([_namespace(name="a"), {**_namespace(name="b"), "kind": "ConfigMap"}],
         "document 2: is v1 ConfigMap, the file holds v1 Namespace"),
        ([_namespace(name="a", namespace="shop")],
         "document 1: metadata.namespace is set, but Namespace is cluster-scoped"),
        ([_namespace(name="a"), _namespace(name="a")], "document 2: a appears twice"),
        ([{**_namespace(name="a"), "apiVersion": "v1\nevil"}],
         "document 1: is 'v1\\nevil' Namespace, the file holds v1 Namespace"),
    ],
)  # fmt: skip
def test_verify_rejects_a_bad_document_naming_file_and_document(
    tmp_path: Path, bundle: bytes, documents: list[dict[str, Any]], problem: str
) -> None:
    members = with_objects(members_of(bundle), NAMESPACE_FILE, documents)
    error = verify_error(tmp_path, repack(members))
    assert error.message == f"{NAMESPACE_FILE}: {problem}"


def test_verify_requires_a_namespace_on_namespaced_objects(tmp_path: Path, bundle: bytes) -> None:
    documents = [{**CONFIGMAPS[0], "metadata": {"name": "app"}}]
    error = verify_error(
        tmp_path, repack(with_objects(members_of(bundle), CONFIGMAP_FILE, documents))
    )
    assert error.message == (
        f"{CONFIGMAP_FILE}: document 1: metadata.namespace is missing, but ConfigMap is namespaced"
    )


def test_verify_rejects_a_document_count_that_differs_from_the_manifest(
    tmp_path: Path, bundle: bytes
) -> None:
    members = with_objects(members_of(bundle), CONFIGMAP_FILE, CONFIGMAPS)
    members = with_manifest(members, _set("files.2.objects", 3))
    members = with_manifest(members, _set("totals.objects", 5))
    error = verify_error(tmp_path, repack(members))
    assert error.message == f"{CONFIGMAP_FILE}: holds 2 documents, {MANIFEST} says 3"


def _namespace_file_as(members: Members, data: bytes) -> Members:
    """``members`` with the namespace file's bytes replaced by ``data``, its size and digest
    (and the total) updated in the manifest: only the documents themselves are wrong."""
    members = with_manifest({**members, NAMESPACE_FILE: data}, _set("files.1.size", len(data)))
    members = with_manifest(members, _set("files.1.sha256", hashlib.sha256(data).hexdigest()))
    return with_manifest(
        members, lambda m: m["totals"].update(bytes=sum(f["size"] for f in m["files"]))
    )


def test_verify_rejects_a_document_that_is_not_a_mapping(tmp_path: Path, bundle: bytes) -> None:
    members = with_objects(members_of(bundle), NAMESPACE_FILE, NAMESPACES)
    data = members[NAMESPACE_FILE] + b"---\n- a list\n"
    error = verify_error(tmp_path, repack(_namespace_file_as(members, data)))
    assert error.message == f"{NAMESPACE_FILE}: document 2 is a sequence, not a mapping"


def test_verify_rejects_yaml_aliases_in_documents(tmp_path: Path, bundle: bytes) -> None:
    data = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: &l {x: y}\n"
    data += b"  annotations: *l\n"
    members = with_objects(members_of(bundle), NAMESPACE_FILE, load_documents(data))
    members = _namespace_file_as(members, data)
    error = verify_error(tmp_path, repack(members))
    assert error.message == (
        f"{NAMESPACE_FILE}: document 1: uses YAML anchors or aliases, which kbundle never writes"
    )


# -- the container ----------------------------------------------------------------------------


def test_verify_rejects_input_that_is_not_a_bundle(tmp_path: Path) -> None:
    assert verify_error(tmp_path, b"PK\x03\x04 a zip file").message.startswith(
        "not a kbundle file: "
    )
    assert verify_error(tmp_path, compress(pack_tar([]))).message == (
        f"not a kbundle file: no {MANIFEST}"
    )


# -- the schema -------------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema_with_id_and_title() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"]
    assert schema["title"]
    assert schema["description"]


def test_schema_accepts_exactly_the_object_file_paths_of_the_layout() -> None:
    pattern = re.compile(
        load_schema()["properties"]["files"]["items"]["properties"]["path"]["pattern"]
    )
    samples = [
        object_file(0, "namespaces", "", "v1", "Namespace"),
        object_file(9, "workloads", "apps", "v1", "Deployment"),
        object_file(12, "custom-resources", "example.com", "v1beta1", "Widget"),
        "objects/6-configuration/core.v1.ConfigMap.yaml",
        "objects/06-Configuration/core.v1.ConfigMap.yaml",
        "objects/06-configuration/core.1.ConfigMap.yaml",
        "objects/06-configuration/../core.v1.ConfigMap.yaml",
        "objects/06-configuration/core.v1.ConfigMap.yml",
        "/objects/06-configuration/core.v1.ConfigMap.yaml",
        "manifest.yaml",
    ]
    for path in samples:
        assert bool(pattern.search(path)) == is_object_file(path), path


def test_schema_accepts_the_manifest_the_writer_writes(tmp_path: Path, bundle: bytes) -> None:
    document = yaml.safe_load(members_of(bundle)[MANIFEST])
    jsonschema.Draft202012Validator(load_schema()).validate(document)


def test_the_example_manifest_in_the_format_docs_is_valid() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "format.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", docs, flags=re.DOTALL)
    [example] = [block for block in blocks if block.startswith("kind: KbundleManifest")]
    manifest = parse_manifest(yaml.safe_load(example))
    assert manifest.total_objects == 3


def test_a_file_without_anchor_or_alias_characters_is_not_walked_for_them(
    tmp_path: Path, bundle: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alias needs a ``*`` and an anchor a ``&``: a file with neither cannot share nodes,
    so its documents are not walked to find shared ones; one with either still is."""
    from kbundle.bundle import object_checks  # noqa: PLC0415

    walked: list[object] = []

    def walk(document: object) -> bool:
        walked.append(document)
        return False

    monkeypatch.setattr(object_checks, "_shares_nodes", walk)
    verify_bundle(io.BytesIO(bundle), tmp_path / "clean")
    assert walked == []
    data = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
    data += b"  annotations: {note: '*not an alias*'}\n"
    members = with_objects(members_of(bundle), NAMESPACE_FILE, load_documents(data))
    members = _namespace_file_as(members, data)
    verify_bundle(io.BytesIO(repack(members)), tmp_path / "starred")
    assert len(walked) == 1
