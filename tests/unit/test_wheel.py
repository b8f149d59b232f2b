"""The wheel users install holds kbundle and its schemas, nothing of the test bed, and works alone.

The wheel is built once per module, offline, from a copy of the working tree: pip builds in
the source folder (``build/``, ``*.egg-info``), and a stale ``build/lib`` would leak old files
into the wheel, so building a clean copy keeps the result honest and the repository
untouched. It is then installed, alone, into a fresh virtualenv whose dependencies come from
the project's virtualenv through a ``.pth`` line (no network; a folder named in a ``.pth`` file
is put on ``sys.path`` but its own ``.pth`` files are not run, so the project's editable
install of kbundle cannot leak in).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from kbundle.core.version import __version__

REPO = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "out",
    "*.kbundle",
)
TEST_BED_NAMES = ("testbed", "testenv")


@dataclass(frozen=True)
class Wheel:
    path: Path
    members: dict[str, bytes]


@dataclass(frozen=True)
class FreshVenv:
    root: Path
    python: Path
    outside: Path  # a working directory outside the repository

    def script(self, name: str) -> Path:
        return self.root / "bin" / name


def _clean_env() -> dict[str, str]:
    """The environment minus anything that could point Python or pip at the repository."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
        and not key.startswith("PIP_")
    }
    env.update(
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONNOUSERSITE="1",
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="120",
    )
    return env


def _run(command: Sequence[str | Path], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _must(command: Sequence[str | Path], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = _run(command, cwd=cwd)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    # symlinks stay links, so kbundle/schemas -> ../schemas resolves inside the copy as in
    # the repository, and the build must follow it.
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
    dist = work / "dist"
    _must(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            dist,
            source,
        ],
        cwd=work,
    )
    built = sorted(dist.glob("*.whl"))
    assert len(built) == 1, f"expected one wheel, got {[p.name for p in built]}"
    with zipfile.ZipFile(built[0]) as archive:
        members = {
            info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()
        }
    return Wheel(built[0], members)


@pytest.fixture(scope="module")
def fresh_venv(wheel: Wheel, tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    work = tmp_path_factory.mktemp("fresh")
    root = work / "venv"
    _must([sys.executable, "-m", "venv", root], cwd=work)
    python = root / "bin" / "python"
    _must(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel.path], cwd=work
    )
    site = Path(
        _must(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=work
        ).stdout.strip()
    )
    # kbundle's dependencies, importable without network: the project venv's site-packages,
    # after the fresh one's. Its kbundle is an editable install, a finder that one of its own
    # .pth files installs, and a folder named in a .pth file has its .pth files ignored.
    project_sites = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "zz-project-dependencies.pth").write_text("".join(f"{p}\n" for p in project_sites))
    outside = work / "elsewhere"
    outside.mkdir()
    return FreshVenv(root, python, outside)


# -- what the wheel holds ----------------------------------------------------------------------


def test_wheel_holds_only_the_kbundle_package_and_its_metadata(wheel: Wheel) -> None:
    assert wheel.path.name == f"kbundle-{__version__}-py3-none-any.whl"
    allowed = ("kbundle", f"kbundle-{__version__}.dist-info")
    strays = [name for name in wheel.members if PurePosixPath(name).parts[0] not in allowed]
    assert not strays, f"the wheel holds files outside {allowed}: {strays}"
    assert "kbundle/__init__.py" in wheel.members
    assert f"kbundle-{__version__}.dist-info/METADATA" in wheel.members


def test_wheel_holds_nothing_of_the_test_bed(wheel: Wheel) -> None:
    test_bed_modules = [
        name
        for name in wheel.members
        if any(bed in part.lower() for part in PurePosixPath(name).parts for bed in TEST_BED_NAMES)
    ]
    assert not test_bed_modules, f"test-bed modules in the wheel: {test_bed_modules}"
    calling_apt = [name for name, data in wheel.members.items() if b"apt-get" in data]
    assert not calling_apt, f"files mentioning apt-get in the wheel: {calling_apt}"


def test_wheel_carries_the_schemas_content_not_a_link(wheel: Wheel) -> None:
    for schema in sorted((REPO / "schemas").glob("*.json")):
        member = f"kbundle/schemas/{schema.name}"
        assert member in wheel.members, f"{member} is missing from the wheel"
        assert wheel.members[member] == schema.read_bytes()
    assert "kbundle/schemas/manifest.schema.json" in wheel.members
    assert "kbundle/py.typed" in wheel.members


def test_wheel_records_every_member_it_holds(wheel: Wheel) -> None:
    record = wheel.members[f"kbundle-{__version__}.dist-info/RECORD"].decode()
    recorded = {line.split(",", 1)[0] for line in io.StringIO(record) if line.strip()}
    assert recorded == set(wheel.members)


# -- the wheel installed alone ------------------------------------------------------------------


def test_installed_wheel_is_the_kbundle_that_runs_not_the_repository(
    fresh_venv: FreshVenv,
) -> None:
    assert REPO not in fresh_venv.outside.parents and fresh_venv.outside != REPO
    probe = (
        "import importlib.resources, importlib.util, kbundle; print(kbundle.__file__); "
        "print(importlib.util.find_spec('testbed')); "
        "print(importlib.resources.files('kbundle').joinpath("
        "'schemas/manifest.schema.json').read_text(encoding='utf-8'))"
    )
    done = _must([fresh_venv.python, "-c", probe], cwd=fresh_venv.outside)
    kbundle_file, testbed_spec, schema = done.stdout.split("\n", 2)
    assert Path(kbundle_file).resolve().is_relative_to(fresh_venv.root.resolve())
    assert testbed_spec == "None", "the test bed must not be importable from an installed kbundle"
    assert schema.rstrip("\n") == (REPO / "schemas" / "manifest.schema.json").read_text(
        encoding="utf-8"
    ).rstrip("\n")


def test_installed_kbundle_help_exits_zero(fresh_venv: FreshVenv) -> None:
    done = _must([fresh_venv.script("kbundle"), "--help"], cwd=fresh_venv.outside)
    assert "Usage" in done.stdout
    for command in ("export", "import", "verify"):
        assert command in done.stdout


def test_installed_kbundle_prints_its_version(fresh_venv: FreshVenv) -> None:
    done = _must([fresh_venv.script("kbundle"), "--version"], cwd=fresh_venv.outside)
    assert __version__ in done.stdout


def test_installed_kbundle_prints_a_bash_completion_script(fresh_venv: FreshVenv) -> None:
    done = _must([fresh_venv.script("kbundle"), "completion", "bash"], cwd=fresh_venv.outside)
    assert "complete -o default -F" in done.stdout
    assert "kbundle" in done.stdout
