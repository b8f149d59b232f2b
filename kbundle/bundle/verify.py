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

from kbundle.bundle.layout import CHECKSUMS, MANIFEST, SIGNATURE, is_object_file, object_file
from kbundle.bundle.object_checks import FileChecked, check_documents, check_file, shown
from kbundle.bundle.reader import DEFAULT_LIMITS, Limits, Member, extract_bundle, manifest_document
from kbundle.bundle.signing import Signature, parse_signature
from kbundle.bundle.yaml_codec import Span, document_spans, iter_documents
from kbundle.core.apart import PROCESSES, extra_processes, run_apart
from kbundle.core.collector import only_young_collected
from kbundle.core.errors import BundleFormatError, IntegrityError
from kbundle.core.model import (
    FORMAT_VERSION,
    FileEntry,
    LevelInfo,
    Manifest,
    ProgressCallback,
    group_kind,
    group_of,
    secret_objects,
    version_of,
)
from kbundle.core.progress import VERIFYING, Every, begin_phase
from kbundle.core.schemas import SCHEMAS, packaged_schema
from kbundle.core.spool import ObjectSpool

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

    def spooled(self, entry: FileEntry) -> ObjectSpool | None:
        """The spool verification wrote ``entry``'s objects to, handed over once (the caller
        then owns it), for a reader that takes every object as it is; None when the objects
        are kept otherwise (a small bundle's, or Secrets opened since) or were handed over."""
        if entry not in self.entries:
            raise ValueError(f"{entry.path} is not an entry of this bundle")
        if entry.path in self.replaced or not isinstance(self._parsed.get(entry.path), ObjectSpool):
            return None
        spool = self._parsed.pop(entry.path)
        assert isinstance(spool, ObjectSpool)
        return spool

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


@only_young_collected()  # what was parsed is walked by no full pass
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
            check_documents(
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

# A large file is checked in spans of about a third of each process's share of the bundle,
# by several processes at once: a bundle that is mostly one kind is mostly one file.
_MIN_SPAN = 1 << 20
_SPANS_PER_PROCESS = 3


def _check_apart(
    entries: Sequence[FileEntry],
    members: dict[str, Member],
    manifest: Manifest,
    workdir: Path,
    *,
    cluster_scoped: set[tuple[str, str]],
    checked: Every,
) -> dict[str, Sequence[dict[str, Any]]]:
    """Every object file checked by this process and worker processes, largest first (a
    large file in spans), each file's documents spooled; the same checks and, for a bad
    bundle, the same first error as one process checking them in order."""
    spools = workdir / ".parsed"
    spools.mkdir()
    pieces = _pieces(entries, members)
    order = sorted(range(len(pieces)), key=lambda number: -pieces[number][2])

    def call(n: int) -> tuple[Any, ...]:
        number, span, _ = pieces[n]
        return (entries[number], members[entries[number].path], manifest, spools / str(n), span)

    checks = run_apart(
        check_file,
        [call(n) for n in order],
        workers=extra_processes(len(pieces)),
        on_tick=lambda count: checked.advance("object files", count),
    )
    by_piece = dict(zip(order, checks, strict=True))
    done: list[FileChecked] = list(checks)
    parsed: dict[str, Sequence[dict[str, Any]]] = {}
    try:
        for number, entry in enumerate(entries):  # the first failure in file order
            results = [by_piece[n] for n, piece in enumerate(pieces) if piece[0] == number]
            if len(results) > 1 and not _spans_agree(entry, results):
                whole = members[entry.path]  # checked again by one process: its first error
                results = [
                    check_file(entry, whole, manifest, spools / f"{number}-whole", tick=_no_tick)
                ]
                done += results
            for result in results:
                if result.failure is not None:
                    raise BundleFormatError(*result.failure)
            written = [result.spool for result in results if result.spool is not None]
            parsed[entry.path] = ObjectSpool.joined([ObjectSpool.adopt(w) for w in written])
            for result in results:
                cluster_scoped |= result.cluster_scoped
    finally:
        for result in done:
            if result.spool is not None:
                result.spool.path.unlink(missing_ok=True)
    return parsed


def _pieces(
    entries: Sequence[FileEntry], members: dict[str, Member]
) -> list[tuple[int, Span | None, int]]:
    """What the processes check: (entry number, span or None for the whole file, bytes)."""
    processes = 1 + extra_processes(PROCESSES)
    about = max(_MIN_SPAN, sum(entry.size for entry in entries) // (_SPANS_PER_PROCESS * processes))
    pieces: list[tuple[int, Span | None, int]] = []
    for number, entry in enumerate(entries):
        spans = document_spans(members[entry.path].path, about) if processes > 1 else []
        if len(spans) > 1:
            pieces += [(number, span, span[1] - span[0]) for span in spans]
        else:
            pieces.append((number, None, entry.size))
    return pieces


def _spans_agree(entry: FileEntry, results: Sequence[FileChecked]) -> bool:
    """A file checked in spans passed if each span passed, together they hold as many
    documents as the manifest says, and no object is in two of them. Otherwise the whole
    file is checked again, by one process, for the error it would find first."""
    if any(result.spool is None for result in results):
        return False
    written = [result.spool for result in results if result.spool is not None]
    if sum(len(spool.places) for spool in written) != entry.objects:
        return False
    seen: set[tuple[str, str]] = set()
    for spool in written:
        names = set(spool.heads.namespaced_names())
        if not seen.isdisjoint(names):
            return False
        seen |= names
    return True


def _no_tick(_count: int) -> None:
    """A file checked again after its spans were counted."""


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
            raise IntegrityError(f"{CHECKSUMS} lists {shown(path)}, which the bundle does not hold")
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
                f"{CHECKSUMS} line {number}: {shown(path)} cannot be listed here"
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


def _check_cluster_scoped_reasons(manifest: Manifest, held: set[tuple[str, str]]) -> None:
    """Each reason the manifest gives is about a cluster-scoped object the bundle holds
    (a transform may add objects without a reason; a reason for nothing is an edit)."""
    for entry in manifest.cluster_scoped or ():
        if (entry.kind, entry.name) not in held:
            raise BundleFormatError(
                f"{MANIFEST}: clusterScoped names {shown(entry.kind)} {shown(entry.name)}, "
                "which the bundle does not hold as a cluster-scoped object",
                hint="the bundle was changed after it was written",
            )


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
