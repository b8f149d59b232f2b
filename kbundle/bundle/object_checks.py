"""Step 5 of verification: the documents of one object file, each checked on its own.

Apart from ``verify`` so that a worker process checking a file (``kbundle.core.apart``)
imports only this and what it needs: not the manifest's schema validation nor signatures,
which would cost a worker 20 MiB more.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kbundle.bundle.layout import MANIFEST
from kbundle.bundle.reader import Member
from kbundle.bundle.yaml_codec import Span, describe_error, iter_documents
from kbundle.core.apart import Tick
from kbundle.core.errors import BundleFormatError
from kbundle.core.kinds import group_kind_of
from kbundle.core.model import (
    FileEntry,
    Manifest,
    SelectionInfo,
    group_kind,
    group_of,
    is_sealed,
    is_secret,
)
from kbundle.core.names import NAMESPACE_NAME, object_name_problem
from kbundle.core.progress import Every
from kbundle.core.spool import SpoolWriter, WrittenSpool

_MAX_SHOWN = 120


@dataclass(frozen=True)
class FileChecked:
    """One object file checked (perhaps in a worker process): its documents spooled, or
    why it failed."""

    spool: WrittenSpool | None
    cluster_scoped: frozenset[tuple[str, str]]
    failure: tuple[str, str | None] | None = None  # message, hint


def check_file(
    entry: FileEntry,
    member: Member,
    manifest: Manifest,
    spool: Path,
    span: Span | None = None,
    *,
    tick: Tick,
) -> FileChecked:
    """``check_documents`` for one file (or the documents in ``span`` of it), the documents
    written to ``spool``; run by ``run_apart``, in this process or a worker."""
    cluster_scoped: set[tuple[str, str]] = set()
    writer = SpoolWriter(spool)
    told = 0

    def tell(done: int, _total: int, _what: str) -> None:
        nonlocal told
        tick(done - told)
        told = done

    try:
        check_documents(
            entry,
            member,
            manifest,
            cluster_scoped,
            writer,
            checked=Every(tell, entry.objects, step=512),
            span=span,
        )
    except BundleFormatError as error:
        writer.close().path.unlink()
        return FileChecked(None, frozenset(), (error.message, error.hint))
    return FileChecked(writer.close(), frozenset(cluster_scoped))


def check_documents(
    entry: FileEntry,
    member: Member,
    manifest: Manifest,
    cluster_scoped: set[tuple[str, str]],
    kept: list[dict[str, Any]] | SpoolWriter,
    *,
    checked: Every,
    span: Span | None = None,
) -> None:
    """Every document of one file, read as a stream: its shape, once each, within the
    selection, Secrets sealed as said; the names of cluster-scoped objects are added to
    ``cluster_scoped``, and each document to ``kept``. ``span``: only the documents within
    it, numbered from 1 there; whoever checks a file in spans checks their number, and that
    no two spans hold the same object."""
    seen: set[tuple[str, str]] = set()
    aliases_possible = _may_hold_aliases(member.path, span)
    secrets = is_secret(entry.api_version, entry.kind)
    kind = group_kind(entry.kind, group_of(entry.api_version))
    number = 0
    try:
        for number, document in enumerate(iter_documents(member.path, span), start=1):
            problem = _document_problem(document, entry, aliases_possible)
            if problem is None:
                meta = document["metadata"]
                key = (meta.get("namespace") or "", meta["name"])
                if key in seen:
                    problem = f"{shown('/'.join(filter(None, key)))} appears twice"
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
    if span is None and number != entry.objects:
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
            f"{shown(namespace)}/{shown(document['metadata']['name'])} is in namespace "
            f"{shown(namespace)}, outside the namespaces {MANIFEST} records as selected "
            f"({shown(named)})",
            hint="the bundle was changed after it was written",
        )


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


def _document_problem(
    document: dict[str, Any], entry: FileEntry, aliases_possible: bool
) -> str | None:
    """What is wrong with one object, or None; checked in the order a reader would look.
    ``aliases_possible``: False when the file cannot hold any (``_may_hold_aliases``)."""
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
        problem = f"metadata.name {shown(metadata['name'])} {name_problem}"
    elif namespace not in (None, "") and (ns_problem := NAMESPACE_NAME.problem(namespace)):
        problem = f"metadata.namespace {shown(namespace)} {ns_problem}"
    elif (document["apiVersion"], document["kind"]) != (entry.api_version, entry.kind):
        problem = (
            f"is {shown(document['apiVersion'])} {shown(document['kind'])}, "
            f"the file holds {entry.api_version} {entry.kind}"
        )
    elif entry.namespaced and not (isinstance(namespace, str) and namespace):
        problem = f"metadata.namespace is missing, but {entry.kind} is namespaced"
    elif not entry.namespaced and namespace:
        problem = f"metadata.namespace is set, but {entry.kind} is cluster-scoped"
    elif aliases_possible and _shares_nodes(document):
        problem = "uses YAML anchors or aliases, which kbundle never writes"
    return problem


def _may_hold_aliases(path: Path, span: Span | None = None) -> bool:
    """Whether the file (``span`` of it) has a ``&`` or a ``*`` anywhere: an anchor and an
    alias cannot be written without them (in every encoding YAML reads, the byte is there),
    and kbundle's own files seldom hold either. Looking costs a scan of bytes, against a
    walk through every value of every object (a tenth of checking a file)."""
    start, end = span if span is not None else (0, path.stat().st_size)
    with path.open("rb") as handle:
        handle.seek(start)
        while start < end and (chunk := handle.read(min(end - start, 1 << 20))):
            start += len(chunk)
            if b"&" in chunk or b"*" in chunk:
                return True
    return False


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


def shown(value: Any) -> str:
    """A value from the bundle as it can be printed in a one-line message."""
    text = str(value)
    text = text if text.isprintable() else repr(text)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
