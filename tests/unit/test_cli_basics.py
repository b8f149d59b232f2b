"""``kbundle`` answers --version and --help, also when run as ``kubectl bundle``."""

from __future__ import annotations

import shutil
import subprocess
import sys

from typer.testing import CliRunner

from kbundle.cli import app
from kbundle.core.version import __version__


def test_version_flag_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"kbundle {__version__}"


def test_help_describes_the_tool() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "verifiable bundle" in result.stdout


def test_kubectl_plugin_entry_point_is_installed_beside_kbundle() -> None:
    plugin = shutil.which(
        "kubectl-bundle", path=str(__import__("pathlib").Path(sys.executable).parent)
    )
    assert plugin is not None
    result = subprocess.run([plugin, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"kbundle {__version__}"
