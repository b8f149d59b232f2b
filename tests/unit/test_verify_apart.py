"""A large bundle's object files are checked by this process and worker processes at once,
a large file in spans: the same documents come out, and a bad bundle fails with the same
first error, as when one process checks them in order."""

from __future__ import annotations

import functools
import io
import time
from pathlib import Path
from typing import Any

import pytest

from kbundle.bundle import object_checks, verify
from kbundle.bundle.verify import verify_bundle
from kbundle.core.errors import BundleFormatError
from kbundle.core.spool import ObjectSpool
from tests.bundle_samples import write_sample_bundle
from tests.unit.test_verify import (
    CONFIGMAP_FILE,
    NAMESPACE_FILE,
    members_of,
    repack,
    verify_error,
    with_manifest,
    with_objects,
)


@pytest.fixture
def bundle(tmp_path: Path) -> bytes:
    write_sample_bundle(tmp_path / "sample.kbundle")
    return (tmp_path / "sample.kbundle").read_bytes()


@pytest.fixture
def apart(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every bundle counts as large, with one worker process beside this one; this process
    is slow to check a file, so that the worker checks some. The files it checked."""
    monkeypatch.setattr(verify, "KEEP_PARSED_BYTES", 0)
    monkeypatch.setattr(verify, "extra_processes", lambda _calls: 1)
    real, here = object_checks.check_file, []

    @functools.wraps(real)  # a worker imports the real one by this name
    def slowly(entry: Any, *arguments: Any, tick: Any) -> Any:
        here.append(entry.path)
        time.sleep(0.4)
        return real(entry, *arguments, tick=tick)

    monkeypatch.setattr(verify, "check_file", slowly)
    return here


def _documents(bundle: bytes, workdir: Path) -> dict[str, list[dict[str, Any]]]:
    verified = verify_bundle(io.BytesIO(bundle), workdir)
    return {entry.path: list(verified.stream(entry)) for entry in verified.entries}


def test_files_checked_apart_give_the_documents_one_process_gives(
    tmp_path: Path, bundle: bytes, request: pytest.FixtureRequest
) -> None:
    alone = _documents(bundle, tmp_path / "alone")
    checked_here = request.getfixturevalue("apart")
    heard: list[int] = []
    verified = verify_bundle(
        io.BytesIO(bundle), tmp_path / "apart", progress=lambda done, _t, _w: heard.append(done)
    )
    assert heard[-1] == sum(e.objects for e in verified.entries)  # progress counts them all
    assert all(isinstance(verified._parsed[e.path], ObjectSpool) for e in verified.entries)
    assert {e.path: list(verified.stream(e)) for e in verified.entries} == alone
    assert 0 < len(checked_here) < len(alone), "the worker process checked no file"
    assert list((tmp_path / "apart" / ".parsed").iterdir()) == []  # spools adopted, unlinked


@pytest.mark.usefixtures("apart")
def test_a_bad_bundle_fails_with_the_first_error_in_file_order(
    tmp_path: Path, bundle: bytes
) -> None:
    members = members_of(bundle)
    twice = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}] * 2
    members = with_objects(members, NAMESPACE_FILE, twice)
    nameless = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "shop"}}]
    members = with_objects(members, CONFIGMAP_FILE, nameless)
    error = verify_error(tmp_path, repack(members))
    assert error.message == f"{NAMESPACE_FILE}: document 2: a appears twice"


@pytest.mark.usefixtures("apart")
def test_a_bad_document_in_a_later_file_is_found_too(tmp_path: Path, bundle: bytes) -> None:
    nameless = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "shop"}}]
    data = repack(with_objects(members_of(bundle), CONFIGMAP_FILE, nameless))
    with pytest.raises(BundleFormatError, match=r"metadata\.name is missing"):
        verify_bundle(io.BytesIO(data), tmp_path / "work")


def _configmaps(count: int) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"c{n:03d}", "namespace": "shop"},
            "data": {"script": f"#!/bin/sh\necho {n}\n---\n", "plain": "x" * n},
        }
        for n in range(count)
    ]


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """Every bundle counts as large, with one worker process beside this one, and a file
    over a few hundred bytes is checked in spans. The pieces planned, each time."""
    monkeypatch.setattr(verify, "KEEP_PARSED_BYTES", 0)
    monkeypatch.setattr(verify, "extra_processes", lambda _calls: 1)
    monkeypatch.setattr(verify, "_MIN_SPAN", 300)
    planned: list[list[Any]] = []
    real = verify._pieces

    def recorded(*arguments: Any) -> Any:
        planned.append(real(*arguments))
        return planned[-1]

    monkeypatch.setattr(verify, "_pieces", recorded)
    return planned


def _alone(tmp_path: Path, data: bytes) -> Any:
    """What one process checking every file whole gives: documents, or the error."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify, "KEEP_PARSED_BYTES", 0)
        patch.setattr(verify, "extra_processes", lambda _calls: 0)
        try:
            return _documents(data, tmp_path / f"alone-{len(list(tmp_path.iterdir()))}")
        except BundleFormatError as error:
            return error.message


def test_a_large_file_checked_in_spans_gives_the_documents_one_process_gives(
    tmp_path: Path, bundle: bytes, spans: list[list[Any]]
) -> None:
    data = repack(with_objects(members_of(bundle), CONFIGMAP_FILE, _configmaps(60)))
    assert _documents(data, tmp_path / "apart") == _alone(tmp_path, data)
    pieces = spans[0]  # (the second: one process, whole files)
    assert sum(1 for piece in pieces if piece[1] is not None) > 2, "no file was cut"


@pytest.mark.parametrize(
    ("change", "first_error"),
    [
        ({"at": 47, "to": "c005"}, "document 48: shop/c005 appears twice"),
        ({"at": 51, "to": 7}, "document 52: metadata.name is missing or not a string"),
    ],
)
def test_a_bad_document_in_a_later_span_fails_as_one_process_finds_it(
    tmp_path: Path,
    bundle: bytes,
    spans: list[list[Any]],
    change: dict[str, Any],
    first_error: str,
) -> None:
    documents = _configmaps(60)
    documents[change["at"]]["metadata"]["name"] = change["to"]
    data = repack(with_objects(members_of(bundle), CONFIGMAP_FILE, documents))
    error = verify_error(tmp_path, data)
    assert error.message == _alone(tmp_path, data)
    assert error.message.startswith(f"{CONFIGMAP_FILE}: {first_error}")
    assert sum(1 for piece in spans[0] if piece[1] is not None) > 2, "no file was cut"


def test_a_file_holding_fewer_documents_than_its_entry_says_fails_as_one_process_finds_it(
    tmp_path: Path, bundle: bytes, spans: list[list[Any]]
) -> None:
    members = with_objects(members_of(bundle), CONFIGMAP_FILE, _configmaps(60))

    def more(manifest: dict[str, Any]) -> None:
        for entry in manifest["files"]:
            if entry["path"] == CONFIGMAP_FILE:
                entry["objects"] += 1
        manifest["totals"]["objects"] += 1

    data = repack(with_manifest(members, more))
    error = verify_error(tmp_path, data)
    assert error.message == _alone(tmp_path, data)
    assert "holds 60 documents" in error.message
