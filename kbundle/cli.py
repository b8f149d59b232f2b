"""The ``kbundle`` command line (also ``kubectl bundle``): parse flags, call the library, render.

This is the only module that prints results or chooses exit codes.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from kbundle import __version__

app = typer.Typer(
    name="kbundle",
    help="Move Kubernetes objects between clusters that never see each other, through one "
    "verifiable bundle file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)


def _print_version(value: bool) -> None:
    if value:
        print(f"kbundle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """kbundle: export a cluster to one file, carry it anywhere, import it elsewhere.

    Example: kbundle --version
    """


def main() -> None:
    """Console-script entry point for both ``kbundle`` and ``kubectl-bundle``."""
    app()
