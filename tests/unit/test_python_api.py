"""The Python API: one function per command, and the security order it cannot skip.

A bundle reaches a cluster only as a ``ReadyBundle``, which only ``accept_bundle`` makes
(verify, then signature, then Secrets); and whatever path a caller takes, sealed Secrets are
refused before the first request. "No request" is proven with a listener that counts
connections.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kbundle
from kbundle.apply.engine import Importer, LevelObjects, refuse_sealed_secrets
from kbundle.apply.options import ApplyOptions
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.trust import ReadyBundle, TrustPolicy, accept_bundle
from kbundle.cluster import open_cluster
from kbundle.core.errors import UsageError
from kbundle.transforms.base import TransformContext
from kbundle.verbs.importing import replay, transformed_levels
from tests.bundle_samples import CANARY, SECRETS, write_encrypted_bundle, write_sample_bundle
from tests.listener import ConnectionCounter, write_counting_kubeconfig

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture()
def counter() -> Iterator[ConnectionCounter]:
    with ConnectionCounter() as listening:
        yield listening


@pytest.fixture()
def kubeconfig(tmp_path: Path, counter: ConnectionCounter) -> Path:
    return write_counting_kubeconfig(tmp_path / "kubeconfig", counter.port)


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundles") / "sealed.kbundle"
    write_encrypted_bundle(path, PASSPHRASE)
    return path


def test_every_public_name_loads_from_the_kbundle_package() -> None:
    for name in kbundle.__all__:
        assert getattr(kbundle, name) is not None, name


def test_importing_kbundle_loads_no_verb_until_one_is_used() -> None:
    code = "import sys, kbundle; print(sorted(m for m in sys.modules if m.startswith('kbundle')))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "['kbundle', 'kbundle.core', 'kbundle.core.version']"


def test_a_ready_bundle_cannot_be_made_but_by_accept_bundle(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "b.kbundle")
    ready = accept_bundle(tmp_path / "b.kbundle", tmp_path / "work")
    with pytest.raises(TypeError, match="accept_bundle"):
        ReadyBundle(object(), ready.bundle, None)


def test_verify_through_the_library_returns_the_manifest(tmp_path: Path) -> None:
    written = write_sample_bundle(tmp_path / "b.kbundle")
    result = kbundle.verify(kbundle.VerifyOptions(tmp_path / "b.kbundle"))
    assert result.manifest == written
    assert result.signature is None and result.signed_by is None


def test_import_without_the_passphrase_of_sealed_secrets_sends_nothing(
    encrypted: Path, kubeconfig: Path, counter: ConnectionCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KBUNDLE_PASSPHRASE", raising=False)
    options = kbundle.ImportOptions(
        bundle=encrypted, cluster=kbundle.ClusterTarget(str(kubeconfig), "counted")
    )
    with pytest.raises(UsageError, match="encrypted secrets need a passphrase"):
        kbundle.import_bundle(options)
    assert counter.settled() == 0


def test_replay_of_a_bundle_whose_secrets_are_sealed_sends_nothing(
    encrypted: Path, kubeconfig: Path, counter: ConnectionCounter, tmp_path: Path
) -> None:
    ready = accept_bundle(encrypted, tmp_path / "work", TrustPolicy())  # Secrets left sealed
    assert ready.secrets_sealed
    cluster = open_cluster(str(kubeconfig), "counted")
    with pytest.raises(UsageError, match="Secrets are still encrypted"):
        replay(cluster, ready, [], ApplyOptions())
    assert counter.settled() == 0


def test_the_importer_refuses_a_sealed_secret_object_before_any_request(
    encrypted: Path, kubeconfig: Path, counter: ConnectionCounter, tmp_path: Path
) -> None:
    ready = accept_bundle(encrypted, tmp_path / "work", TrustPolicy())
    sealed = [
        document
        for entry in ready.bundle.entries
        if entry.kind == "Secret"
        for document in ready.bundle.documents(entry)
    ]
    importer = Importer(open_cluster(str(kubeconfig), "counted"), ApplyOptions())
    with pytest.raises(UsageError, match="Secret shop/db is still encrypted"):
        importer.run([LevelObjects(6, "configuration", sealed)])
    assert counter.settled() == 0


def test_reading_the_levels_refuses_a_sealed_secret_and_marks_the_rest_open(
    encrypted: Path, tmp_path: Path
) -> None:
    sealed = accept_bundle(encrypted, tmp_path / "sealed", TrustPolicy())
    with pytest.raises(UsageError, match="Secret shop/db is still encrypted"):
        transformed_levels(sealed, [], TransformContext(manifest=sealed.bundle.manifest))
    policy = TrustPolicy(passphrase=PassphraseSource(value=PASSPHRASE))
    opened = accept_bundle(encrypted, tmp_path / "opened", policy)
    levels, _ = transformed_levels(opened, [], TransformContext(manifest=opened.bundle.manifest))
    assert levels and all(level.secrets_open for level in levels)


class Unreadable(list[dict[str, Any]]):
    """Objects that may be counted and their heads known, but not read."""

    def __getitem__(self, index: Any) -> Any:
        raise AssertionError("an object was read")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        raise AssertionError("the objects were read")


def test_a_level_known_to_hold_no_sealed_secret_is_not_read_again() -> None:
    checked = LevelObjects(6, "configuration", Unreadable(SECRETS), secrets_open=True)
    refuse_sealed_secrets([checked])  # reads nothing
    with pytest.raises(AssertionError, match="read"):
        refuse_sealed_secrets([LevelObjects(6, "configuration", Unreadable(SECRETS))])


def test_the_passphrase_opens_every_secret_before_a_bundle_is_ready(
    encrypted: Path, tmp_path: Path
) -> None:
    policy = TrustPolicy(passphrase=PassphraseSource(value=PASSPHRASE))
    ready = accept_bundle(encrypted, tmp_path / "work", policy)
    assert not ready.secrets_sealed
    secret = next(e for e in ready.bundle.entries if e.kind == "Secret")
    assert ready.bundle.documents(secret) == SECRETS


def test_a_passphrase_given_as_bytes_never_shows_in_its_repr() -> None:
    source = PassphraseSource(value=CANARY.encode())
    assert CANARY not in repr(source)


def add_team(obj: dict[str, Any], context: Any) -> dict[str, Any]:
    """A Python caller's transform that edits what it is given (a plugin gets a copy)."""
    obj.setdefault("metadata", {}).setdefault("labels", {})["team"] = "shop"
    return obj


def test_a_python_callable_runs_as_a_plugin_in_the_offline_transform(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "in.kbundle")
    result = kbundle.transform(
        kbundle.TransformOptions(
            bundle=tmp_path / "in.kbundle",
            output=tmp_path / "out.kbundle",
            transforms=(
                kbundle.TransformSpec("map-namespace", {"mapping": {"shop": "shop-b"}}),
                add_team,
            ),
        )
    )
    named = f"{__name__}:add_team"
    assert result.manifest.transforms[-1] == {"name": named, "plugin": named}
    verified = kbundle.verify(kbundle.VerifyOptions(tmp_path / "out.kbundle"))
    assert verified.manifest == result.manifest
    assert result.objects == 4 and result.transforms == 2
