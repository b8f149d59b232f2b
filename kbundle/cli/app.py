"""The ``kbundle`` command line (also ``kubectl bundle``): the app and its commands.

Commands live one family per module; each parses its flags (option groups, defined once in
``options``), calls one library verb and renders the result. Nothing here reads a cluster or
a bundle by itself, and nothing heavy is imported before a command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kbundle.cli import (
    bundles,
    completion,
    exporting,
    heaps,
    importing,
    keys,
    offline,
    previews,
    remotes,
)
from kbundle.cli.command import Verbosity
from kbundle.cli.options import Verbose
from kbundle.core.collector import no_collection_at_exit
from kbundle.core.version import __version__

app = typer.Typer(
    name="kbundle",
    help="Move Kubernetes objects between clusters that never see each other, through one "
    "verifiable bundle file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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
    verbose: Verbose = 0,
) -> None:
    """kbundle: export a cluster to one file, carry it anywhere, import it elsewhere.

    Example: kbundle export -n shop -o shop.kbundle
    """
    Verbosity.root = verbose


app.command()(exporting.export)
app.command()(bundles.verify)
app.command()(bundles.inspect)
app.command("import")(importing.import_)
app.command()(importing.clone)
app.command()(previews.diff)
app.command()(previews.preflight)
app.command()(offline.transform)
app.command()(offline.render)
app.command()(keys.keygen)
app.command()(keys.sign)
app.command()(remotes.push)
app.command()(remotes.pull)
app.command()(completion.completion)


def main() -> None:
    """Console-script entry point for both ``kbundle`` and ``kubectl-bundle``."""
    heaps.limit_malloc_heaps()
    no_collection_at_exit()
    if completion.completion_requested():
        # typer's answers to its own scripts (kbundle completion SHELL)
        from typer._completion_classes import completion_init  # noqa: PLC0415

        completion_init()
    app()
