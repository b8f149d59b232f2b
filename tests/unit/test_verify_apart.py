"""A large bundle's object files are checked by this process and worker processes at once:
the same documents come out, and a bad bundle fails with the same first error, as when one
process checks them in order."""

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
