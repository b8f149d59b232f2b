"""``kubectl_complete-bundle``: kubectl (1.26 and later) runs it to complete
``kubectl bundle ...``, passing ``__complete`` and the words typed so far; it answers with
the candidates, one per line with their help after a tab, then ``:DIRECTIVE`` (cobra's
protocol, which kubectl speaks). The candidates come from the same app and the same click
completion logic as ``kbundle completion``.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer._click.shell_completion import CompletionItem, ShellComplete

from kbundle.cli.app import app
from kbundle.cli.completion import COMPLETE_VAR

# cobra's ShellCompDirective values, which kubectl expects at the end of the answer
FILES_ALLOWED = 0
NO_FILES = 4


class _Kubectl(ShellComplete):
    """click's completion logic, asked directly: kubectl passes the words as arguments."""

    name = "kubectl"
    source_template = ""

    def source_vars(self) -> dict[str, Any]:
        return {}

    def get_completion_args(self) -> tuple[list[str], str]:
        return [], ""

    def format_completion(self, item: CompletionItem) -> str:
        return str(item.value)


def kubectl_complete() -> None:
    """``kubectl_complete-bundle __complete WORDS... INCOMPLETE``: the candidates, one per
    line with their help after a tab, then ``:DIRECTIVE`` (cobra's protocol)."""
    words = sys.argv[1:]
    if words[:1] in (["__complete"], ["__completeNoDesc"]):
        words = words[1:]
    args, incomplete = words[:-1], (words[-1] if words else "")
    answer = _Kubectl(typer.main.get_command(app), {}, "kubectl bundle", COMPLETE_VAR)
    items = answer.get_completions(args, incomplete)
    shown = [item for item in items if item.type not in ("file", "dir")]
    for item in shown:
        print(f"{item.value}\t{item.help}" if item.help else item.value)
    # nothing to offer for a value (a bundle, a key, a rules file): let the shell offer files,
    # as `complete -o default` does for `kbundle completion bash`
    files = len(shown) < len(items) or (not shown and not incomplete.startswith("-"))
    print(f":{FILES_ALLOWED if files else NO_FILES}")
