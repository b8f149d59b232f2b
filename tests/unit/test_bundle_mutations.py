"""Random damage to a valid bundle never gets through verification unnoticed, nor crashes it.

For every mutation, ``verify_bundle`` either refuses with a one-line ``KbundleError`` (never
any other exception) or accepts, and then the content it hands over is the original's.
"The original's" is strict: the same values of the same types (``2`` is not ``2.0``, ``1`` is
not ``True``), compared through the typed model (``Manifest.to_dict()`` plus ``extra``) and
the parsed documents of every entry.

Damage at three depths:

(a) the compressed file: zstd, its checksum and the container checks must catch it;
(b) the tar inside, recompressed: tar headers, member names, sizes and the checksums catch it;
(c) one member's content, edited as bytes or as parsed YAML values (replaced, deleted, an
    integer turned into the equal float or into text, a value that is not JSON) and re-packed
    with ``checksums.sha256`` recomputed, so the checks behind the checksums (YAML, schema,
    the manifest's digests, the documents) are what must hold:

    - ``checksums.sha256`` itself, or an object file whose manifest digest is left alone:
      anything accepted is the original, strictly;
    - ``manifest.yaml``: it is re-sealed, so its descriptive fields (tool, createdAt, source,
      selection, skipped, warnings, transforms, unknown fields of a newer 1.x, a 1.x version
      number) can legitimately change; what import acts on cannot: files (path, kind,
      scope, level, count, digest, size), totals, levels, secrets, and every document;
    - an object file with its manifest entry re-sealed too (digest and size): this is a new,
      legitimately different bundle, so its documents may differ; what must hold is what
      verification promises about any document (docs/format.md, "Object files"): JSON values
      only, the entry's apiVersion and kind, a string name, the entry's scope, the entry's
      count; and nothing else in the bundle changed.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbundle.bundle.layout import CHECKSUMS, MANIFEST
from kbundle.bundle.verify import VerifiedBundle, verify_bundle
from kbundle.bundle.yaml_codec import Dumper, dump_document, load_documents
from kbundle.core.errors import KbundleError
from tests.bundle_samples import (
    Entry,
    Members,
    compress,
    repack,
    replaced,
    resealed,
    tar_bytes,
    tar_members,
    write_sample_bundle,
)

NAMESPACE_FILE = "objects/00-namespaces/core.v1.Namespace.yaml"
CONFIGMAP_FILE = "objects/06-configuration/core.v1.ConfigMap.yaml"
DEPLOYMENT_FILE = "objects/09-workloads/apps.v1.Deployment.yaml"
OBJECT_FILES = (NAMESPACE_FILE, CONFIGMAP_FILE, DEPLOYMENT_FILE)

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# What import acts on, in the manifest; the rest describes where the bundle came from.
ESSENTIAL_MANIFEST_FIELDS = ("kind", "files", "totals", "levels", "secrets")

# -- the content verification hands over ------------------------------------------------------


@dataclass(frozen=True)
class Content:
    manifest: dict[str, Any]  # Manifest.to_dict(), with unknown fields under "extra"
    documents: dict[str, list[dict[str, Any]]]  # by entry path


def content_of(verified: VerifiedBundle) -> Content:
    manifest = {**verified.manifest.to_dict(), "extra": verified.manifest.extra}
    documents = {entry.path: verified.documents(entry) for entry in verified.entries}
    return Content(manifest, documents)


def verify(data: bytes) -> Content | KbundleError:
    """What verification makes of ``data``: the content, or the error it refuses it with.

    Any other exception escapes: that is a failure of the property.
    """
    with tempfile.TemporaryDirectory(prefix="kbundle-mutation-") as folder:
        try:
            verified = verify_bundle(io.BytesIO(data), Path(folder) / "work")
        except KbundleError as error:
            assert error.message and "\n" not in error.message, repr(error.message)
            return error
        return content_of(verified)


def difference(left: Any, right: Any, where: str = "$") -> str | None:
    """Where ``left`` and ``right`` first differ in value or type, or None if they do not
    (``==`` alone says 1 == 1.0 == True)."""
    if type(left) is not type(right):
        return f"{where}: {left!r} ({type(left).__name__}) vs {right!r} ({type(right).__name__})"
    if isinstance(left, dict):
        keys, other = {(type(k), k) for k in left}, {(type(k), k) for k in right}
        if keys != other:
            return f"{where}: keys {sorted(map(repr, keys ^ other))} differ"
        found = (difference(left[key], right[key], f"{where}.{key}") for key in left)
        return next((problem for problem in found if problem), None)
    if isinstance(left, list | tuple):
        if len(left) != len(right):
            return f"{where}: {len(left)} items vs {len(right)}"
        found = (
            difference(a, b, f"{where}[{i}]")
            for i, (a, b) in enumerate(zip(left, right, strict=True))
        )
        return next((problem for problem in found if problem), None)
    return None if left == right else f"{where}: {left!r} vs {right!r}"


def assert_same(left: Any, right: Any, what: str) -> None:
    problem = difference(left, right, what)
    assert problem is None, f"accepted with different content: {problem}"


def is_json(value: Any) -> bool:
    """A JSON value as the Kubernetes API reads one: string keys, no NaN or infinity."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_json(item) for key, item in value.items())
    if isinstance(value, list):
        return all(is_json(item) for item in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | bool | int)


# -- the valid bundle and ways to damage it ---------------------------------------------------


@dataclass(frozen=True)
class Sample:
    bundle: bytes
    members: tuple[Entry, ...]  # original headers and content, in archive order
    content: Content

    @property
    def tar(self) -> bytes:
        return tar_bytes(self.bundle)

    def member(self, name: str) -> bytes:
        [data] = [data for info, data in self.members if info.name == name]
        assert data is not None
        return data


@functools.cache
def sample() -> Sample:
    with tempfile.TemporaryDirectory(prefix="kbundle-test-sample-") as folder:
        path = Path(folder) / "sample.kbundle"
        write_sample_bundle(path)
        bundle = path.read_bytes()
    content = verify(bundle)
    assert isinstance(content, Content), content
    return Sample(bundle, tuple(tar_members(bundle)), content)


def sample_with(contents: dict[str, bytes], reseal: bool) -> bytes:
    """The sample with some members' content replaced, each keeping its original header;
    with ``reseal`` the checksums file is recomputed to match."""
    members: Members = list(sample().members)
    for name, data in contents.items():
        members = replaced(members, name, data)
    return repack(resealed(members) if reseal else members)


Operation = tuple[str, int, int]  # what, where (taken modulo the current length), byte


def operations(length: int) -> st.SearchStrategy[list[Operation]]:
    """One to four byte-level edits of ``length`` bytes: flip bits, set, insert or delete a
    byte, or cut."""
    byte = st.one_of(
        st.sampled_from([1 << bit for bit in range(8)]),  # as a flip: "0" -> "1", "a" -> "A"
        st.sampled_from(list(b"0129az:-' \n")),  # as a byte: keeps YAML plausible
        st.integers(min_value=1, max_value=255),
    )
    operation = st.tuples(
        st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
        st.integers(min_value=0, max_value=length),
        byte,
    )
    return st.lists(operation, min_size=1, max_size=4)


def mutate(data: bytes, edits: list[Operation]) -> bytes:
    out = bytearray(data)
    for what, where, byte in edits:
        if what == "insert":
            out.insert(where % (len(out) + 1), byte)
            continue
        if not out:
            continue
        position = where % len(out)
        if what == "flip":
            out[position] ^= byte
        elif what == "set":
            out[position] = byte
        elif what == "delete":
            del out[position]
        else:
            del out[position:]
    return bytes(out)


NodePath = tuple[str | int, ...]
Change = tuple[NodePath, str, Any]  # where, how ("set", "delete", "as-float", "as-text"), value


def node_paths(value: Any, prefix: NodePath = ()) -> list[NodePath]:
    """The path of every mapping value and list item below ``value``."""
    items: list[tuple[str | int, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return []
    paths: list[NodePath] = []
    for key, item in items:
        paths += [(*prefix, key), *node_paths(item, (*prefix, key))]
    return paths


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=1 << 40),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(["", "..", "a/b", "1.0.0", "2.0.0", "1.9.0", "v1", "Secret", "shop"]),
    st.sampled_from(["ConfigMap", "Namespace", "apps/v1", "Deployment.apps", "x" * 300]),
)


def changes(root: Any, values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Change]]:
    """One to three edits of a parsed YAML tree: replace or delete a node, or turn an
    integer into the equal float (``4`` -> ``4.0``) or a scalar into text (``4`` -> ``"4"``)."""
    change = st.tuples(
        st.sampled_from(node_paths(root)),
        st.sampled_from(["set", "delete", "as-float", "as-text"]),
        values,
    )
    return st.lists(change, min_size=1, max_size=3)


_MISSING = object()


def _child(parent: Any, key: str | int) -> Any:
    if isinstance(parent, dict) and key in parent:
        return parent[key]
    if isinstance(parent, list) and isinstance(key, int) and key < len(parent):
        return parent[key]
    return _MISSING


def changed(root: Any, edits: list[Change]) -> Any:
    result = copy.deepcopy(root)
    for path, how, value in edits:
        parent = result
        for key in path[:-1]:
            parent = _child(parent, key)
        current = _child(parent, path[-1])
        if current is _MISSING:  # an earlier edit removed or replaced it
            continue
        if how == "delete":
            del parent[path[-1]]
        elif how == "set":
            parent[path[-1]] = value
        elif how == "as-float" and type(current) is int:
            parent[path[-1]] = float(current)
        elif how == "as-text" and not isinstance(current, dict | list):
            parent[path[-1]] = str(current)
    return result


# -- the properties ---------------------------------------------------------------------------


def assert_refused_or_original(result: Content | KbundleError) -> None:
    if isinstance(result, Content):
        original = sample().content
        assert_same(result.manifest, original.manifest, "manifest")
        assert_same(result.documents, original.documents, "documents")


def assert_only_descriptive_changes(result: Content | KbundleError) -> None:
    """Refused, or accepted with everything import acts on as it was."""
    if isinstance(result, Content):
        original = sample().content
        for field in ESSENTIAL_MANIFEST_FIELDS:
            assert_same(result.manifest.get(field), original.manifest.get(field), field)
        assert result.manifest["formatVersion"].startswith("1.")
        assert_same(result.documents, original.documents, "documents")


def test_the_sample_and_its_repacking_verify() -> None:
    """The baseline every mutation starts from is itself accepted, repacked or not."""
    for data in (sample().bundle, sample_with({}, reseal=False), sample_with({}, reseal=True)):
        result = verify(data)
        assert isinstance(result, Content), result
        assert_refused_or_original(result)


def test_the_properties_can_fail() -> None:
    """A changed document that verification accepted would be caught by the comparison."""
    changed = copy.deepcopy(sample().content)
    changed.documents[DEPLOYMENT_FILE][0]["spec"]["replicas"] = 2.0  # == 2, but a float
    with pytest.raises(AssertionError):
        assert_refused_or_original(changed)
    assert not is_json({"data": {1: "x"}})
    assert not is_json({"data": {"x": b"bytes"}})
    assert not is_json({"data": {"x": float("nan")}})


def edits_of(name: str) -> st.SearchStrategy[tuple[str, list[Operation]]]:
    """A member's name with edits spread over its content."""
    return st.tuples(st.just(name), operations(len(sample().member(name))))


@EXAMPLES
@given(edits=operations(len(sample().bundle)))
def test_damage_to_the_compressed_file_is_refused_or_changes_nothing(
    edits: list[Operation],
) -> None:
    assert_refused_or_original(verify(mutate(sample().bundle, edits)))


@EXAMPLES
@given(edits=operations(len(sample().tar)))
def test_damage_to_the_tar_inside_is_refused_or_changes_nothing(edits: list[Operation]) -> None:
    assert_refused_or_original(verify(compress(mutate(sample().tar, edits))))


@EXAMPLES
@given(damage=st.sampled_from([CHECKSUMS, *OBJECT_FILES]).flatmap(edits_of))
def test_damage_behind_resealed_checksums_is_refused_or_changes_nothing(
    damage: tuple[str, list[Operation]],
) -> None:
    """Checksums damaged as they are, or an object file the manifest's digest still covers."""
    name, edits = damage
    data = mutate(sample().member(name), edits)
    assert_refused_or_original(verify(sample_with({name: data}, reseal=name != CHECKSUMS)))


@EXAMPLES
@given(edits=operations(len(sample().member(MANIFEST))))
def test_a_resealed_manifest_can_change_only_its_descriptive_fields(
    edits: list[Operation],
) -> None:
    damaged = mutate(sample().member(MANIFEST), edits)
    assert_only_descriptive_changes(verify(sample_with({MANIFEST: damaged}, reseal=True)))


def _original_manifest() -> dict[str, Any]:
    [manifest] = load_documents(sample().member(MANIFEST))
    return manifest


@EXAMPLES
@given(edits=changes(_original_manifest(), st.one_of(SCALARS, st.just([]), st.just({}))))
def test_a_resealed_manifest_with_changed_values_still_describes_the_same_content(
    edits: list[Change],
) -> None:
    """The manifest edited as YAML (values, not bytes) and re-sealed: the schema and the
    cross-checks against the members must hold the files, levels and totals in place."""
    manifest = changed(_original_manifest(), edits)
    assert_only_descriptive_changes(verify(sample_with({MANIFEST: dump_document(manifest)}, True)))


def _with_entry_resealed(path: str, data: bytes) -> tuple[bytes, dict[str, Any]]:
    """The sample with object file ``path`` replaced and its manifest entry (digest, size,
    totals) and the checksums recomputed; and the manifest that results."""
    [manifest] = load_documents(sample().member(MANIFEST))
    for entry in manifest["files"]:
        if entry["path"] == path:
            entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    manifest["totals"]["bytes"] = sum(entry["size"] for entry in manifest["files"])
    bundle = sample_with({path: data, MANIFEST: dump_document(manifest)}, reseal=True)
    return bundle, manifest


@EXAMPLES
@given(damage=st.sampled_from(OBJECT_FILES).flatmap(edits_of))
def test_a_resealed_object_file_is_refused_or_holds_only_valid_documents(
    damage: tuple[str, list[Operation]],
) -> None:
    name, edits = damage
    data = mutate(sample().member(name), edits)
    assert_refused_or_valid_documents(name, data)


# Values a hand-made object file could hold that are not JSON: YAML's !!binary, !!set, a
# non-string key, NaN.
NOT_JSON = st.sampled_from([b"\x00bytes", {"a", "b"}, {1: "one"}, float("nan")])


def _changed_documents(name_and_edits: tuple[str, list[Change]]) -> tuple[str, bytes]:
    """The edited documents as YAML, written as they are (even a non-mapping), never with
    an alias (a value generated twice is the same object)."""
    name, edits = name_and_edits
    documents = changed(sample().content.documents[name], edits)
    data: bytes = yaml.dump_all(documents, Dumper=Dumper, allow_unicode=True, encoding="utf-8")
    return name, data


def document_changes(name: str) -> st.SearchStrategy[tuple[str, list[Change]]]:
    values = st.one_of(SCALARS, st.just([]), st.just({}), NOT_JSON)
    return st.tuples(st.just(name), changes(sample().content.documents[name], values))


@EXAMPLES
@given(damage=st.sampled_from(OBJECT_FILES).flatmap(document_changes).map(_changed_documents))
def test_a_resealed_object_file_with_changed_values_is_refused_or_holds_only_valid_documents(
    damage: tuple[str, bytes],
) -> None:
    """The documents edited as YAML (values, not bytes), written and re-sealed."""
    assert_refused_or_valid_documents(*damage)


def assert_refused_or_valid_documents(name: str, data: bytes) -> None:
    """Object file ``name`` replaced by ``data``, its manifest entry and the checksums
    re-sealed: refused, or accepted with documents verification vouches for and nothing
    else changed."""
    bundle, manifest = _with_entry_resealed(name, data)
    result = verify(bundle)
    if not isinstance(result, Content):
        return
    original = sample().content
    expected = {**original.manifest, "files": manifest["files"], "totals": manifest["totals"]}
    assert_same(result.manifest, expected, "manifest")
    for path in OBJECT_FILES:
        if path != name:
            assert_same(result.documents[path], original.documents[path], path)
    [entry] = [entry for entry in manifest["files"] if entry["path"] == name]
    documents = result.documents[name]
    assert len(documents) == entry["objects"]
    for document in documents:
        assert is_json(document), f"accepted a value that is not JSON: {document!r}"
        assert (document["apiVersion"], document["kind"]) == (entry["apiVersion"], entry["kind"])
        assert isinstance(document["metadata"]["name"], str)
        assert bool(document["metadata"].get("namespace")) == entry["namespaced"]
