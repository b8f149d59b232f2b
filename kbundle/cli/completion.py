"""Shell completion: ``kbundle completion SHELL`` prints the script to load.

The completions themselves are typer's and click's: the script calls ``kbundle`` back with
``_KBUNDLE_COMPLETE`` set, and the app answers from its own commands and flags.
``kubectl bundle`` is completed by kubectl itself through ``kubectl_complete-bundle``
(``kbundle/cli/kubectl_plugin.py``).
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer

from kbundle.cli.command import command

PROG = "kbundle"
COMPLETE_VAR = "_KBUNDLE_COMPLETE"


class Shell(StrEnum):
    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"
    POWERSHELL = "powershell"


@command()
def completion(
    *, shell: Annotated[Shell, typer.Argument(help="bash, zsh, fish or powershell.")]
) -> None:
    """Print the shell completion script for kbundle (kubectl's shape). kubectl 1.26+
    completes `kubectl bundle` by itself through kubectl_complete-bundle, installed beside
    kbundle.

    Example: source <(kbundle completion bash)
    """
    # typer's own scripts, which call kbundle back in the protocol its app answers
    from typer._completion_shared import get_completion_script  # noqa: PLC0415

    print(get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=str(shell)))


def completion_requested() -> bool:
    """Whether this process was started by a completion script (set up typer's answers)."""
    return any(name.endswith("_COMPLETE") and name.startswith("_") for name in os.environ)
