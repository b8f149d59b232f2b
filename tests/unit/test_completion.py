"""Shell completion: `kbundle completion SHELL` prints a script whose callbacks the app
answers, and `kubectl_complete-bundle` answers kubectl in its own protocol. Each test runs
the installed commands the way a shell or kubectl would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(command: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _kbundle_completion kbundle"),
        ("zsh", "compdef _kbundle_completion kbundle"),
        ("fish", "complete --command kbundle"),
        ("powershell", "Register-ArgumentCompleter -Native -CommandName kbundle"),
    ],
)
def test_completion_prints_the_script_of_each_shell(shell: str, marker: str) -> None:
    script = run("kbundle", "completion", shell).stdout
    assert marker in script
    assert "_KBUNDLE_COMPLETE" in script


def test_the_bash_script_s_callback_completes_commands_and_flags() -> None:
    commands = run("kbundle", _KBUNDLE_COMPLETE="complete_bash", COMP_WORDS="kbundle im",
                   COMP_CWORD="1").stdout  # fmt: skip
    assert commands.split() == ["import"]
    flags = run("kbundle", _KBUNDLE_COMPLETE="complete_bash",
                COMP_WORDS="kbundle render b.kbundle --map-", COMP_CWORD="3").stdout  # fmt: skip
    assert flags.split() == [
        "--map-namespace",
        "--map-ip",
        "--map-ip-in-data",
        "--map-registry",
        "--map-storage-class",
    ]


def test_the_zsh_script_s_callback_completes_enum_values() -> None:
    answer = run("kbundle", _KBUNDLE_COMPLETE="complete_zsh",
                 _TYPER_COMPLETE_ARGS="kbundle import b.kbundle --existing ").stdout  # fmt: skip
    for value in ("update", "skip", "recreate"):
        assert value in answer


def test_kubectl_gets_candidates_with_help_and_a_no_files_directive() -> None:
    lines = run("kubectl_complete-bundle", "__complete", "import", "--dry").stdout.splitlines()
    assert lines[0].startswith("--dry-run\tclient: print the plan")
    assert lines[-1] == ":4"


def test_kubectl_may_offer_files_where_a_bundle_is_expected() -> None:
    lines = run("kubectl_complete-bundle", "__complete", "verify", "").stdout.splitlines()
    assert lines[-1] == ":0"


def test_kubectl_completes_the_commands_themselves() -> None:
    lines = run("kubectl_complete-bundle", "__complete", "").stdout.splitlines()
    names = [line.split("\t")[0] for line in lines[:-1]]
    assert {"export", "import", "verify", "completion"} <= set(names)
