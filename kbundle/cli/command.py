"""What every command shares: option groups expanded, ``-v``, errors as one line and an
exit code, Ctrl-C as an honest message.

A command body parses nothing itself and decides no exit code by hand: it calls one verb,
renders the result, and returns an ``ExitCode`` when the result is not plain success.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer

from kbundle.cli.console import configure_logging, say
from kbundle.cli.groups import expand
from kbundle.cli.options import Verbose
from kbundle.core.errors import ExitCode, KbundleError

NOTHING_WRITTEN = "interrupted: nothing was written"
IMPORT_INTERRUPTED = (
    "interrupted: objects applied so far stay (and requests already sent may still land); "
    "re-run the same command to finish"
)
MAX_SHOWN = 20  # failures or warnings listed before "... and N more"


class Verbosity:
    """``kbundle -v COMMAND`` and ``kbundle COMMAND -v`` both count."""

    root = 0


@contextmanager
def handled(interrupted: str, least_error_code: int = 0) -> Iterator[None]:
    """kbundle's errors as one line on stderr and their exit code (at least
    ``least_error_code``: diff keeps 1 for "differences"); Ctrl-C as 130."""
    try:
        yield
    except KbundleError as error:
        hint = f" ({error.hint})" if error.hint else ""
        say(f"error: {error.message}{hint}")
        raise typer.Exit(max(int(error.exit_code), least_error_code)) from None
    except KeyboardInterrupt:
        say(interrupted)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def command(
    interrupted: str = NOTHING_WRITTEN, *, least_error_code: int = 0
) -> Callable[[Callable[..., ExitCode | None]], Callable[..., None]]:
    """Make a command body a typer command: its option groups expanded, ``-v`` added."""

    def decorate(body: Callable[..., ExitCode | None]) -> Callable[..., None]:
        expanded = expand(body)
        signature = inspect.signature(expanded)

        @functools.wraps(expanded)
        def run(*, verbose: int = 0, **values: Any) -> None:
            configure_logging(max(verbose, Verbosity.root))
            with handled(interrupted, least_error_code):
                code = expanded(**values)
            if code:
                raise typer.Exit(int(code))

        del run.__wrapped__
        flag = inspect.Parameter(
            "verbose", inspect.Parameter.KEYWORD_ONLY, default=0, annotation=Verbose
        )
        run.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), flag]
        )
        run.__annotations__ = {**expanded.__annotations__, "verbose": Verbose}
        return run

    return decorate
