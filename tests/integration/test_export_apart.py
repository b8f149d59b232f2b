"""A large export renders its object files in worker processes and in its own at once: the
bundle is byte for byte the one a single process writes, and files of sealed Secrets are
rendered in the exporting process only (the key never leaves it)."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kbundle.clean import CleanOptions
from kbundle.cluster import Cluster
from kbundle.core import apart
from kbundle.core.model import SelectionInfo, is_sealed
from kbundle.select.plan import SelectionRequest
from kbundle.verbs import file_rendering, object_files
from kbundle.verbs.export import ExportRequest, SecretsPolicy, export_bundle
from tests.oracles import Object, open_bundle

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def _request(secrets: SecretsPolicy | None = None) -> ExportRequest:
    return ExportRequest(
        SelectionRequest(namespaces=frozenset({"shop"})),
        SelectionInfo(),
        CleanOptions(),
        CREATED,
        secrets=secrets or SecretsPolicy(),
    )


@pytest.fixture
def rendering_apart(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Every export counts as large, with one worker beside this process, which is slow to
    render a file so that the worker renders some. The files sent to be rendered apart
    ("sent") and those this process rendered among them ("here")."""
    monkeypatch.setattr(object_files, "APART_FROM", 0)
    monkeypatch.setattr(object_files, "extra_processes", lambda calls: min(1, calls - 1))
    seen: dict[str, list[str]] = {"sent": [], "here": []}
    real_render, real_run = file_rendering.render_file, apart.run_apart

    @functools.wraps(real_render)  # a worker imports the real one by this name
    def slowly(job: Any, *, tick: Any) -> Any:
        seen["here"].append(job.path)
        time.sleep(0.4)
        return real_render(job, tick=tick)

    def recorded(function: Any, arguments: Sequence[tuple[Any, ...]], **options: Any) -> Any:
        seen["sent"] += [job.path for (job,) in arguments]
        return real_run(function, arguments, **options)

    monkeypatch.setattr(object_files, "render_file", slowly)
    monkeypatch.setattr(object_files, "run_apart", recorded)
    return seen


def test_files_rendered_apart_make_the_bytes_one_process_makes(
    source: Cluster, sample_app: list[Object], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    alone = tmp_path / "alone.kbundle"
    export_bundle(source, _request(), alone)
    seen = request.getfixturevalue("rendering_apart")
    apart = tmp_path / "apart.kbundle"
    export_bundle(source, _request(), apart)
    files = [entry["path"] for entry in open_bundle(alone).manifest["files"]]
    assert sorted(seen["sent"]) == sorted(files)
    assert 0 < len(seen["here"]) < len(files), "the worker process rendered no file"
    assert apart.read_bytes() == alone.read_bytes()


def test_sealed_secrets_are_rendered_in_the_exporting_process_only(
    source: Cluster, sample_app: list[Object], tmp_path: Path, rendering_apart: dict[str, list[str]]
) -> None:
    target = tmp_path / "sealed.kbundle"
    export_bundle(source, _request(SecretsPolicy.encrypted(b"correct horse battery")), target)
    bundle = open_bundle(target)
    files = [entry["path"] for entry in bundle.manifest["files"]]
    secret_files = [path for path in files if path.endswith(".Secret.yaml")]
    assert secret_files, "the sample app holds Secrets"
    assert sorted(rendering_apart["sent"]) == sorted(set(files) - set(secret_files))
    secrets = [o for o in bundle.objects() if o["kind"] == "Secret"]
    assert secrets and all(is_sealed(secret) for secret in secrets)
