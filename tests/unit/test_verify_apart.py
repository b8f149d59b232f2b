"""A large bundle's object files are checked by worker processes: the same documents come
out, and a bad bundle fails with the same first error, as when one process checks them."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from kbundle.bundle import verify
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
def apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bundle counts as large, on a machine of two cores at least."""
    monkeypatch.setattr(verify, "KEEP_PARSED_BYTES", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)


def _documents(bundle: bytes, workdir: Path) -> dict[str, list[dict[str, Any]]]:
    verified = verify_bundle(io.BytesIO(bundle), workdir)
    return {entry.path: list(verified.stream(entry)) for entry in verified.entries}


def test_files_checked_apart_give_the_documents_one_process_gives(
    tmp_path: Path, bundle: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _documents(bundle, tmp_path / "alone")
    monkeypatch.setattr(verify, "KEEP_PARSED_BYTES", 0)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    verified = verify_bundle(io.BytesIO(bundle), tmp_path / "apart")
    assert all(isinstance(verified._parsed[e.path], ObjectSpool) for e in verified.entries)
    assert {e.path: list(verified.stream(e)) for e in verified.entries} == alone
    assert len(alone) > 1
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
