"""The cyclic collector pauses for a cluster read, or passes over young objects only for a
run's tables, and comes back as it was, even on error; a command-line run's last collection
walks nothing."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

import pytest

from kbundle.core.collector import collection_paused, only_young_collected


def test_collection_pauses_inside_and_resumes_after_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("a list failed")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_only_young_collected_inside_and_as_it_was_after_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), only_young_collected():
        young, middle, old = gc.get_threshold()
        assert (young, middle) == before[:2] and old > 1_000_000
        raise RuntimeError
    assert gc.get_threshold() == before


def test_young_cycles_are_still_collected_where_full_passes_are_not() -> None:
    """A cycle made and dropped inside the block (an exception and its traceback, per
    failed object) is freed by the young passes: nothing piles up."""

    class Node:
        pass

    def cycle() -> weakref.ref[Node]:
        node = Node()
        node.me = node  # type: ignore[attr-defined]
        return weakref.ref(node)

    with only_young_collected():
        made = [cycle() for _ in range(5000)]  # enough allocations for young passes
        assert gc.isenabled()
        alive = sum(1 for ref in made if ref() is not None)
    assert alive < 1000  # all but the youngest few were collected inside the block


def _exit_lines(script: str) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    return [line for line in run.stdout.splitlines() if line.startswith("handler")]


def test_at_exit_what_is_alive_is_frozen_after_the_handlers_registered_later() -> None:
    """The interpreter's last collection then walks nothing; handlers registered later
    (temporary folders, a command's own) run first, and nothing is frozen before."""
    script = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('handler before it', gc.get_freeze_count() > 0))\n"
        "from kbundle.core.collector import no_collection_at_exit\n"
        "no_collection_at_exit()\n"
        "atexit.register(lambda: print('handler after it', gc.get_freeze_count()))\n"
    )
    assert _exit_lines(script) == ["handler after it 0", "handler before it True"]


def test_the_command_line_freezes_at_exit() -> None:
    script = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('handler', gc.get_freeze_count() > 0))\n"
        "from kbundle.cli.app import main\n"
        "sys.argv = ['kbundle', '--version']\n"
        "main()\n"
    )
    assert _exit_lines(script) == ["handler True"]
