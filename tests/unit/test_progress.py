"""Progress, phase by phase: counts thinned out for long phases but never the last, a
verification counting every object, and the command line's bar starting afresh per phase."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from kbundle.bundle.verify import verify_bundle
from kbundle.cli.console import _PhasedBar
from kbundle.core.progress import Every, Tally, begin_phase
from tests.bundle_samples import write_bundle


class Recorder:
    def __init__(self) -> None:
        self.phases: list[str] = []
        self.calls: list[tuple[int, int, str]] = []

    def phase(self, name: str) -> None:
        self.phases.append(name)

    def __call__(self, done: int, total: int, what: str) -> None:
        self.calls.append((done, total, what))


def test_a_long_phase_is_reported_every_step_and_at_its_end() -> None:
    heard = Recorder()
    counter = Every(heard, total=10, step=4)
    for _ in range(10):
        counter.advance("x")
    assert [done for done, _, _ in heard.calls] == [4, 8, 10]


def test_a_count_that_jumps_past_a_step_is_still_reported() -> None:
    heard = Recorder()
    counter = Every(heard, total=100, step=10)
    counter.advance("x", 7)
    counter.advance("x", 7)  # 14: past 10
    assert [done for done, _, _ in heard.calls] == [14]


def test_a_tally_reports_every_step_from_any_thread() -> None:
    heard = Recorder()
    tally = Tally(heard, total=2)
    tally.advance("configmaps")
    tally.advance("secrets")
    assert heard.calls == [(1, 2, "configmaps"), (2, 2, "secrets")]


def test_a_plain_callable_hears_counts_and_no_phases() -> None:
    counts: list[int] = []
    begin_phase(lambda done, total, what: counts.append(done), "listing")
    begin_phase(None, "listing")
    assert counts == []


def test_verification_counts_every_object_of_the_bundle(tmp_path: Path) -> None:
    configmaps = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n}", "namespace": "a"}}
        for n in range(3)
    ]
    write_bundle(tmp_path / "b.kbundle", [(1, "resources", configmaps)])
    heard = Recorder()
    verify_bundle(tmp_path / "b.kbundle", tmp_path / "work", progress=heard)
    assert heard.phases == ["verifying"]
    assert heard.calls[-1][:2] == (3, 3)


def test_each_phase_gets_a_bar_of_its_own() -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    with Progress(console=console) as bar:
        phased = _PhasedBar(bar, "reading")
        phased.phase("listing")
        phased(3, 3, "configmaps")
        phased.phase("writing")
        phased(1, 10, "ConfigMap")
        (task,) = bar.tasks
    assert (task.description, task.completed, task.total) == ("writing", 1, 10)
