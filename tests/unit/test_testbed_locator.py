"""Binaries and clusters are found in the documented order, with errors that say what to do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testbed.binaries import BinariesNotFound, locate
from testbed.clusters import existing_clusters_from_env


def _fake_binary(folder: Path, name: str, output: str = "") -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(0o755)


def test_kubebuilder_assets_win_over_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("etcd", "kube-controller-manager"):
        _fake_binary(tmp_path, name)
    _fake_binary(tmp_path, "kube-apiserver", "Kubernetes v1.30.4")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    binaries = locate(build_if_missing=False)
    assert (binaries.folder, binaries.origin, binaries.version) == (
        tmp_path,
        "KUBEBUILDER_ASSETS",
        (1, 30, 4),
    )


def test_envtest_assets_without_controller_manager_are_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_binary(tmp_path, "etcd")
    _fake_binary(tmp_path, "kube-apiserver", "Kubernetes v1.30.4")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    with pytest.raises(BinariesNotFound, match="lacks kube-controller-manager"):
        locate(build_if_missing=False)


def test_empty_cache_without_permission_to_build_says_how_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("KBUNDLE_TESTENV_CACHE", str(tmp_path))
    with pytest.raises(BinariesNotFound, match=re.escape("python -m testbed build")):
        locate(build_if_missing=False)


def test_cache_entry_is_used_only_once_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("KBUNDLE_TESTENV_CACHE", str(tmp_path))
    partial, complete = tmp_path / "1.21.0", tmp_path / "1.20.2"
    for folder, version in ((partial, "v1.21.0"), (complete, "v1.20.2")):
        folder.mkdir()
        for name in ("etcd", "kube-controller-manager"):
            _fake_binary(folder, name)
        _fake_binary(folder, "kube-apiserver", f"Kubernetes {version}")
    (complete / ".complete").write_text("done\n")
    assert locate(build_if_missing=False).folder == complete


def test_no_existing_clusters_named_means_local_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for role in ("SOURCE", "DESTINATION"):
        monkeypatch.delenv(f"KBUNDLE_TEST_{role}_KUBECONFIG", raising=False)
    assert existing_clusters_from_env() is None


def test_naming_only_one_existing_cluster_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("current-context: kind-a\n")
    monkeypatch.setenv("KBUNDLE_TEST_SOURCE_KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KBUNDLE_TEST_DESTINATION_KUBECONFIG", raising=False)
    with pytest.raises(ValueError, match="missing: destination"):
        existing_clusters_from_env()


def test_existing_clusters_use_current_context_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for role, context in (("source", "kind-a"), ("destination", "kind-b")):
        path = tmp_path / role
        path.write_text(f"current-context: {context}\n")
        monkeypatch.setenv(f"KBUNDLE_TEST_{role.upper()}_KUBECONFIG", str(path))
    monkeypatch.delenv("KBUNDLE_TEST_SOURCE_CONTEXT", raising=False)
    monkeypatch.setenv("KBUNDLE_TEST_DESTINATION_CONTEXT", "kind-c")
    found = existing_clusters_from_env()
    assert found is not None
    assert (found["source"].context, found["destination"].context) == ("kind-a", "kind-c")
    assert not found["source"].can_inject_faults
