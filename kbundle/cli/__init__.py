"""The command line: parse, call one library verb, render (``kbundle.cli.app``)."""

from kbundle.cli.app import app, main

__all__ = ["app", "main"]
