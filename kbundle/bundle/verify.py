"""Verification: the only way from a bundle file to something import will accept.

``verify_bundle`` extracts a bundle into a private folder and checks it completely before
anyone looks at an object: version, schema, checksums, the manifest against the members,
and the shape of every document. Each failure is one line naming the culprit. The result,
``VerifiedBundle``, is what import takes; it never takes a path. A signature, if present,
is checked to be well-formed and made for this manifest; whether its key is trusted is the
caller's question (``kbundle.bundle.trust``).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, BinaryIO

import jsonschema
import yaml

from kbundle.bundle.layout import CHECKSUMS, MANIFEST, SIGNATURE, is_object_file, object_file
from kbundle.bundle.reader import DEFAULT_LIMITS, Limits, Member, extract_bundle, manifest_document
from kbundle.bundle.signing import Signature, parse_signature
from kbundle.bundle.yaml_codec import describe_error, iter_documents
from kbundle.core.apart import Tick, extra_processes, run_apart
from kbundle.core.errors import BundleFormatError, IntegrityError
from kbundle.core.kinds import group_kind_of
from kbundle.core.model import (
    FORMAT_VERSION,
    FileEntry,
    LevelInfo,
    Manifest,
    ProgressCallback,
    SelectionInfo,
    group_kind,
    group_of,
    is_sealed,
    is_secret,
    secret_objects,
    version_of,
)
from kbundle.core.names import NAMESPACE_NAME, object_name_problem
from kbundle.core.progress import VERIFYING, Every, begin_phase
from kbundle.core.schemas import SCHEMAS, packaged_schema
from kbundle.core.spool import ObjectSpool, SpoolWriter, WrittenSpool

# schemas/ at the repository root is the canonical copy; kbundle/schemas links to it so the
# file ships inside the package (wheels copy the linked file's content).
SCHEMA_FILE = SCHEMAS / "manifest.schema.json"

_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?"
)
_CHECKSUM_LINE = re.compile(r"([0-9a-f]{64})  ([^\x00-\x1f\x7f]+)")
_SUPPORTED_MAJOR, _SUPPORTED_MINOR = (int(n) for n in FORMAT_VERSION.split(".")[:2])
_MAX_REASON = 200
# Object YAML kept parsed after verification, at most: small bundles skip a second parse;
# a large one is read again, file by file, so memory stays bounded by its largest file.
KEEP_PARSED_BYTES = 8 * 1024 * 1024
_MAX_SHOWN = 120

# JSON Schema counts 6.0 as an integer; kbundle uses these values as ints (paths, counts).
STRICT_VALIDATOR = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)

__all__ = [
    "Limits",
    "VerifiedBundle",
    "load_schema",
    "parse_manifest",
    "verify_bundle",
]


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose every member was checked, held in a private folder the caller owns."""

    manifest: Manifest
    root: Path
    entries: tuple[FileEntry, ...]  # in level order, then path
    # Documents verification already parsed, handed over once each (parsing 50,000 objects
    # twice costs 3 s): in memory for a small bundle, on disk (ObjectSpool) for a large one.
    _parsed: dict[str, Sequence[dict[str, Any]]] = dataclass_field(
        default_factory=dict, compare=False, repr=False
    )
    signature: Signature | None = None  # well-formed and for this manifest; key not checked
    # Files whose objects were rewritten after verification (Secrets opened with the
    # passphrase); they are never read from the private folder again.
    replaced: dict[str, list[dict[str, Any]]] = dataclass_field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def manifest_bytes(self) -> bytes:
        """The manifest exactly as verified: what a signature signs."""
        data = _member_path(self.root, MANIFEST).read_bytes()
        if self.signature is not None and (
            hashlib.sha256(data).hexdigest() != self.signature.manifest_sha256
        ):
            raise IntegrityError(f"{MANIFEST} changed after verification")
        return data

    def documents(self, entry: FileEntry) -> list[dict[str, Any]]:
        """The objects of one file, read from the verified copy (digest checked again)."""
        return list(self.stream(entry))

    def stream(self, entry: FileEntry) -> Iterator[dict[str, Any]]:
        """``documents``, one at a time: a file of any size costs one object's memory. The
        digest is checked before the first object is handed out."""
        if entry not in self.entries:
            raise ValueError(f"{entry.path} is not an entry of this bundle")
        if entry.path in self.replaced:
            yield from self.replaced[entry.path]
            return
        parsed = self._parsed.pop(entry.path, None)
        if parsed is not None:
            yield from parsed
            return
        path = _member_path(self.root, entry.path)
        if _file_sha256(path) != entry.sha256:
            raise IntegrityError(
                f"{entry.path} changed after verification",
                hint="the private folder of a verified bundle must not be modified",
            )
        yield from iter_documents(path)


def verify_bundle(
    source: Path | BinaryIO,
    workdir: Path,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> VerifiedBundle:
    """Extract ``source`` into the empty private folder ``workdir`` and check everything;
    ``progress`` counts the objects checked."""
    members = {member.name: member for member in extract_bundle(source, workdir, limits)}
    names = list(members)
    _check_position(names, MANIFEST, 0)
    raw = manifest_document(_read_member(members, MANIFEST))
    manifest = parse_manifest(raw)
    _check_position(names, CHECKSUMS, 1)
    signature = _signature(names, members)
    _check_checksums(members)
    _check_files_against_members(manifest, raw, members)
    entries = tuple(sorted(manifest.files, key=lambda entry: (entry.level, entry.path)))
    keep = sum(entry.size for entry in entries) <= KEEP_PARSED_BYTES
    parsed: dict[str, Sequence[dict[str, Any]]] = {}
    cluster_scoped: set[tuple[str, str]] = set()  # (group kind, name) the bundle holds
    begin_phase(progress, VERIFYING)
    checked = Every(progress, sum(entry.objects for entry in entries))
    if keep:
        for entry in entries:
            kept: list[dict[str, Any]] = []
            _check_documents(
                entry, members[entry.path], manifest, cluster_scoped, kept, checked=checked
            )
            parsed[entry.path] = kept
    else:
        parsed = _check_apart(
            entries, members, manifest, workdir, cluster_scoped=cluster_scoped, checked=checked
        )
    _check_cluster_scoped_reasons(manifest, cluster_scoped)
    secrets = secret_objects(entries)  # each entry's count was checked against its documents
    if manifest.secrets is not None and manifest.secrets.objects != secrets:
        raise BundleFormatError(
            f"{MANIFEST}: secrets.objects is {manifest.secrets.objects}, "
            f"the bundle holds {secrets} Secrets"
        )
    return VerifiedBundle(
        manifest=manifest, root=workdir, entries=entries, _parsed=parsed, signature=signature
    )


# -- step 5 for a large bundle: object files parsed on several cores ----------------------------


def _extra_processes(entries: Sequence[FileEntry]) -> int:
    """Worker processes beside this one: parsing is most of a large bundle's verification
    and of the start of its import (8 s of YAML at 100,000 objects), and files parse apart."""
    return extra_processes(len(entries))


@dataclass(frozen=True)
class _FileChecked:
    """One object file checked (perhaps in a worker process): its documents spooled, or
    why it failed."""

    spool: WrittenSpool | None
    cluster_scoped: frozenset[tuple[str, str]]
    failure: tuple[str, str | None] | None = None  # message, hint


def _check_file(
    entry: FileEntry, member: Member, manifest: Manifest, spool: Path, *, tick: Tick
) -> _FileChecked:
    """``_check_documents`` for one file, the documents written to ``spool``; run by
    ``run_apart``, in this process or a worker."""
    cluster_scoped: set[tuple[str, str]] = set()
    writer = SpoolWriter(spool)
    told = 0

    def tell(done: int, _total: int, _what: str) -> None:
        nonlocal told
        tick(done - told)
        told = done

    try:
        _check_documents(
            entry,
            member,
            manifest,
            cluster_scoped,
            writer,
            checked=Every(tell, entry.objects, step=512),
        )
    except BundleFormatError as error:
        writer.close().path.unlink()
        return _FileChecked(None, frozenset(), (error.message, error.hint))
    return _FileChecked(writer.close(), frozenset(cluster_scoped))


def _check_apart(
    entries: Sequence[FileEntry],
    members: dict[str, Member],
    manifest: Manifest,
    workdir: Path,
    *,
    cluster_scoped: set[tuple[str, str]],
    checked: Every,
) -> dict[str, Sequence[dict[str, Any]]]:
    """Every object file checked by this process and worker processes, largest first,
    each file's documents spooled; the same checks and, for a bad bundle, the same first
    error as one process checking them in order."""
    spools = workdir / ".parsed"
    spools.mkdir()
    order = sorted(range(len(entries)), key=lambda number: -entries[number].size)
    checks = run_apart(
        _check_file,
        [(entries[n], members[entries[n].path], manifest, spools / str(n)) for n in order],
        workers=_extra_processes(entries),
        on_tick=lambda count: checked.advance("object files", count),
    )
    results = {entries[n].path: check for n, check in zip(order, checks, strict=True)}
    parsed: dict[str, Sequence[dict[str, Any]]] = {}
    try:
        for entry in entries:  # the first failure in file order, as one process finds it
            result = results[entry.path]
            if result.failure is not None:
                raise BundleFormatError(*result.failure)
            assert result.spool is not None
            parsed[entry.path] = ObjectSpool.adopt(result.spool)
            cluster_scoped |= result.cluster_scoped
    finally:
        for result in results.values():
            if result.spool is not None:
                result.spool.path.unlink(missing_ok=True)
    return parsed


def _signature(names: Sequence[str], members: dict[str, Member]) -> Signature | None:
    """The optional third member: well-formed and made for this very manifest."""
    if SIGNATURE not in members:
        return None
    _check_position(names, SIGNATURE, 2)
    signature = parse_signature(_read_member(members, SIGNATURE), SIGNATURE)
    if signature.manifest_sha256 != members[MANIFEST].sha256:
        raise IntegrityError(
            f"{SIGNATURE}: signs another manifest",
            hint="the manifest was modified after signing, or the signature was copied "
            "from another bundle",
        )
    return signature


def _check_secret(
    entry: FileEntry, number: int, document: dict[str, Any], manifest: Manifest
) -> None:
    """Sealed Secrets exactly when the manifest says so: a reader that missed the
    encryption would otherwise apply Secrets without their data."""
    encrypted = manifest.secrets_encrypted
    if is_sealed(document) != encrypted:
        state = "not encrypted" if encrypted else "encrypted"
        said = manifest.secrets.mode if manifest.secrets is not None else "nothing"
        raise BundleFormatError(
            f"{entry.path}: document {number} is {state}, but {MANIFEST} says secrets {said}"
        )
    if encrypted and ("data" in document or "stringData" in document):
        raise BundleFormatError(
            f"{entry.path}: document {number} has plaintext data next to its encrypted data"
        )


# -- step 2: the manifest --------------------------------------------------------------------


def load_schema() -> dict[str, Any]:
    """The manifest JSON Schema shipped with the package."""
    return packaged_schema("manifest.schema.json")


def parse_manifest(data: Any) -> Manifest:
    """Check a loaded manifest (mapping, version, schema) and build the typed ``Manifest``.

    Usable on its own, e.g. on ``read_manifest`` output for ``inspect``.
    """
    if not isinstance(data, dict):
        raise BundleFormatError(f"{MANIFEST} is not a mapping")
    major, minor = _format_version(data.get("formatVersion"))
    if major != _SUPPORTED_MAJOR:
        raise BundleFormatError(
            f"bundle format {data['formatVersion']} is not supported by this kbundle "
            f"(supports {_SUPPORTED_MAJOR}.x)",
            hint="upgrade kbundle",
        )
    newer_minor = minor > _SUPPORTED_MINOR
    _validate(data, _tolerant(load_schema()) if newer_minor else load_schema())
    manifest = Manifest.from_dict(data)
    known = manifest.to_dict().keys()
    extra = {key: value for key, value in data.items() if key not in known}
    return dataclasses.replace(manifest, extra=extra) if extra else manifest


def _format_version(value: Any) -> tuple[int, int]:
    if not isinstance(value, str) or not _SEMVER.fullmatch(value):
        raise BundleFormatError(
            f"{MANIFEST}: formatVersion {value!r} is not a semantic version (like 1.0.0)"
        )
    major, minor, _ = value.split("-")[0].split("+")[0].split(".")
    return int(major), int(minor)


def _tolerant(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without ``additionalProperties: false``: a newer minor may add fields."""

    def relax(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: relax(v) for k, v in node.items() if k != "additionalProperties"}
        if isinstance(node, list):
            return [relax(item) for item in node]
        return node

    relaxed: dict[str, Any] = relax(copy.deepcopy(schema))
    return relaxed


def _validate(data: dict[str, Any], schema: dict[str, Any]) -> None:
    validator = STRICT_VALIDATOR(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        reason = " ".join(error.message.split())
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 1] + "…"
        raise BundleFormatError(
            f"{MANIFEST}: {error.json_path}: {reason}",
            hint="the bundle was edited or written by an incompatible tool",
        )


# -- step 3: checksums -----------------------------------------------------------------------


def _check_checksums(members: dict[str, Member]) -> None:
    listed = _parse_checksums(_read_member(members, CHECKSUMS))
    for name in members:
        if name not in (CHECKSUMS, SIGNATURE) and name not in listed:
            raise IntegrityError(f"member {name} is not listed in {CHECKSUMS}")
    for path in listed:
        if path not in members:
            raise IntegrityError(
                f"{CHECKSUMS} lists {_shown(path)}, which the bundle does not hold"
            )
    for path, digest in listed.items():
        if members[path].sha256 != digest:
            raise IntegrityError(
                f"{path}: content does not match its sha256 in {CHECKSUMS}",
                hint="the bundle was damaged or modified after it was written",
            )


def _parse_checksums(data: bytes) -> dict[str, str]:
    """``<64 hex>  <path>`` lines, each ending in a newline, no path twice."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleFormatError(f"{CHECKSUMS} is not UTF-8 text") from None
    lines = text.split("\n")
    if lines[-1] != "":
        raise BundleFormatError(f"{CHECKSUMS}: the last line does not end with a newline")
    listed: dict[str, str] = {}
    for number, line in enumerate(lines[:-1], start=1):
        match = _CHECKSUM_LINE.fullmatch(line)
        if match is None:
            raise BundleFormatError(
                f"{CHECKSUMS} line {number} is malformed (expected '<64 hex digits>  <path>')"
            )
        digest, path = match.groups()
        if path in (CHECKSUMS, SIGNATURE) or path in listed:
            raise BundleFormatError(
                f"{CHECKSUMS} line {number}: {_shown(path)} cannot be listed here"
            )
        listed[path] = digest
    return listed


# -- step 4: the manifest's files against the members ---------------------------------------


def _check_files_against_members(
    manifest: Manifest, raw: dict[str, Any], members: dict[str, Member]
) -> None:
    by_path = {entry.path: entry for entry in manifest.files}
    if len(by_path) != len(manifest.files):
        raise BundleFormatError(f"{MANIFEST}: an object file is listed more than once")
    for name in members:
        if name not in (MANIFEST, CHECKSUMS, SIGNATURE) and not is_object_file(name):
            raise BundleFormatError(f"member {name} is not part of a kbundle (unexpected name)")
        if is_object_file(name) and name not in by_path:
            raise BundleFormatError(f"member {name} is not listed in the {MANIFEST} files")
    levels = _levels_by_number(manifest.levels)
    for entry in manifest.files:
        if entry.path not in members:
            raise BundleFormatError(f"{MANIFEST} lists {entry.path}, which the bundle lacks")
        _check_entry_naming(entry, levels)
        _check_entry_digest(entry, members[entry.path])
    _check_totals(manifest, raw)


def _levels_by_number(levels: Sequence[LevelInfo]) -> dict[int, LevelInfo]:
    by_number = {level.number: level for level in levels}
    if len(by_number) != len(levels):
        raise BundleFormatError(f"{MANIFEST}: a level number appears more than once in levels")
    return by_number


def _check_entry_naming(entry: FileEntry, levels: dict[int, LevelInfo]) -> None:
    """The path, the entry and the level table must tell the same story."""
    level = levels.get(entry.level)
    if level is None:
        raise BundleFormatError(
            f"{entry.path}: level {entry.level} is not in the {MANIFEST} levels"
        )
    group = group_of(entry.api_version)
    expected = object_file(
        level.number, level.name, group, version_of(entry.api_version), entry.kind
    )
    if entry.path != expected:
        raise BundleFormatError(
            f"{entry.path}: path does not match its entry (level {level.number} {level.name}, "
            f"{entry.api_version} {entry.kind} give {expected})"
        )
    if group_kind(entry.kind, group) not in level.kinds:
        raise BundleFormatError(
            f"{entry.path}: {group_kind(entry.kind, group)} is not among the kinds of level "
            f"{level.number} in {MANIFEST}"
        )


def _check_entry_digest(entry: FileEntry, member: Member) -> None:
    if entry.sha256 != member.sha256:
        raise IntegrityError(f"{entry.path}: sha256 in {MANIFEST} does not match the member")
    if entry.size != member.size:
        raise IntegrityError(
            f"{entry.path}: size in {MANIFEST} is {entry.size}, the member has {member.size} bytes"
        )


def _check_totals(manifest: Manifest, raw: dict[str, Any]) -> None:
    computed = manifest.to_dict()["totals"]
    for field, value in computed.items():
        if raw["totals"][field] != value:
            raise BundleFormatError(
                f"{MANIFEST}: totals.{field} is {raw['totals'][field]}, the files add up to {value}"
            )


# -- step 5: the documents -------------------------------------------------------------------


def _check_documents(
    entry: FileEntry,
    member: Member,
    manifest: Manifest,
    cluster_scoped: set[tuple[str, str]],
    kept: list[dict[str, Any]] | SpoolWriter,
    *,
    checked: Every,
) -> None:
    """Every document of one file, read as a stream: its shape, once each, within the
    selection, Secrets sealed as said; the names of cluster-scoped objects are added to
    ``cluster_scoped``, and each document to ``kept``."""
    seen: set[tuple[str, str]] = set()
    secrets = is_secret(entry.api_version, entry.kind)
    kind = group_kind(entry.kind, group_of(entry.api_version))
    number = 0
    try:
        for number, document in enumerate(iter_documents(member.path), start=1):
            problem = _document_problem(document, entry)
            if problem is None:
                meta = document["metadata"]
                key = (meta.get("namespace") or "", meta["name"])
                if key in seen:
                    problem = f"{_shown('/'.join(filter(None, key)))} appears twice"
                seen.add(key)
            if problem is not None:
                raise BundleFormatError(f"{entry.path}: document {number}: {problem}")
            _check_within_selection(entry, number, document, manifest.selection)
            if not entry.namespaced:
                cluster_scoped.add((kind, document["metadata"]["name"]))
            if secrets:
                _check_secret(entry, number, document, manifest)
            kept.append(document)
            checked.advance(entry.path)
    except (yaml.YAMLError, ValueError) as error:
        raise BundleFormatError(f"{entry.path}: {describe_error(error)}") from None
    if number != entry.objects:
        raise BundleFormatError(
            f"{entry.path}: holds {number} documents, {MANIFEST} says {entry.objects}"
        )


def _check_within_selection(
    entry: FileEntry, number: int, document: dict[str, Any], selection: SelectionInfo
) -> None:
    """A bundle reaches no further than its manifest says: every namespaced object lies in a
    namespace the selection names, unless it took all namespaces. Export reads only those;
    an object outside them was planted after the fact, and an import would write it into a
    namespace nobody reviewing the manifest expected."""
    if selection.all_namespaces or not entry.namespaced:
        return
    namespace = document["metadata"]["namespace"]
    if namespace not in selection.namespaces:  # a tuple of a few names
        named = ", ".join(selection.namespaces) or "none"
        raise BundleFormatError(
            f"{entry.path}: document {number}: {entry.kind} "
            f"{_shown(namespace)}/{_shown(document['metadata']['name'])} is in namespace "
            f"{_shown(namespace)}, outside the namespaces {MANIFEST} records as selected "
            f"({_shown(named)})",
            hint="the bundle was changed after it was written",
        )


def _check_cluster_scoped_reasons(manifest: Manifest, held: set[tuple[str, str]]) -> None:
    """Each reason the manifest gives is about a cluster-scoped object the bundle holds
    (a transform may add objects without a reason; a reason for nothing is an edit)."""
    for entry in manifest.cluster_scoped or ():
        if (entry.kind, entry.name) not in held:
            raise BundleFormatError(
                f"{MANIFEST}: clusterScoped names {_shown(entry.kind)} {_shown(entry.name)}, "
                "which the bundle does not hold as a cluster-scoped object",
                hint="the bundle was changed after it was written",
            )


def _document_problem(document: dict[str, Any], entry: FileEntry) -> str | None:
    """What is wrong with one object, or None; checked in the order a reader would look."""
    metadata = document.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    problem: str | None = None
    if not isinstance(document.get("apiVersion"), str):
        problem = "apiVersion is missing or not a string"
    elif not isinstance(document.get("kind"), str):
        problem = "kind is missing or not a string"
    elif not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        problem = "metadata.name is missing or not a string"
    elif (
        name_problem := object_name_problem(group_kind_of(document), metadata["name"])
    ) is not None:
        problem = f"metadata.name {_shown(metadata['name'])} {name_problem}"
    elif namespace not in (None, "") and (ns_problem := NAMESPACE_NAME.problem(namespace)):
        problem = f"metadata.namespace {_shown(namespace)} {ns_problem}"
    elif (document["apiVersion"], document["kind"]) != (entry.api_version, entry.kind):
        problem = (
            f"is {_shown(document['apiVersion'])} {_shown(document['kind'])}, "
            f"the file holds {entry.api_version} {entry.kind}"
        )
    elif entry.namespaced and not (isinstance(namespace, str) and namespace):
        problem = f"metadata.namespace is missing, but {entry.kind} is namespaced"
    elif not entry.namespaced and namespace:
        problem = f"metadata.namespace is set, but {entry.kind} is cluster-scoped"
    elif _shares_nodes(document):
        problem = "uses YAML anchors or aliases, which kbundle never writes"
    return problem


def _shares_nodes(document: Any) -> bool:
    """True if a mapping or list appears twice: an alias, which could hide a YAML bomb."""
    seen: set[int] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list):
            if id(node) in seen:
                return True
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)
    return False


# -- helpers ---------------------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _member_path(root: Path, name: str) -> Path:
    return root.joinpath(*name.split("/"))


def _read_member(members: dict[str, Member], name: str) -> bytes:
    if name not in members:
        raise BundleFormatError(f"not a kbundle file: no {name}")
    return members[name].path.read_bytes()


def _check_position(names: Sequence[str], name: str, position: int) -> None:
    """The manifest first and the checksums second: streaming readers rely on it."""
    if name not in names:
        raise BundleFormatError(f"not a kbundle file: no {name}")
    if names[position] != name:
        raise BundleFormatError(
            f"{name} must be member {position + 1} of the bundle, found {names[position]}"
        )


def _shown(value: Any) -> str:
    """A value from the bundle as it can be printed in a one-line message."""
    text = str(value)
    text = text if text.isprintable() else repr(text)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
