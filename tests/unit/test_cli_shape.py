"""The CLI's shape: flags defined once and shared by every command that takes them, named
exit codes, and offline commands that never load the cluster client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from kbundle.apply.options import DryRunMode
from kbundle.apply.outcome import Action, ImportReport, Outcome
from kbundle.cli.app import app
from kbundle.cli.groups import Flag, OptionGroup, expand
from kbundle.cli.options import APPLY, CLUSTER, PASSPHRASE, SELECTION, TRANSFORMS, TRUST
from kbundle.core.errors import ExitCode
from kbundle.core.model import ObjectRef
from kbundle.verbs.importing import ImportResult
from tests.bundle_samples import write_sample_bundle

COMMAND = typer.main.get_command(app)


def flags_of(command: str) -> set[str]:
    assert isinstance(COMMAND, typer.core.TyperGroup)
    params = COMMAND.commands[command].params
    return {name for param in params for name in param.opts if name.startswith("-")}


def group_flags(group: OptionGroup[Any]) -> set[str]:
    names: set[str] = set()
    for flag in group.flags:
        option = flag.annotation.__metadata__[0]
        names |= {n for n in option.param_decls if n.startswith("-")}
    return names


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        (CLUSTER, ["export", "import"]),
        (SELECTION, ["export", "clone"]),
        (TRANSFORMS, ["import", "clone", "transform", "render"]),
        (APPLY, ["import", "clone"]),
        (TRUST, ["verify", "import", "transform", "render"]),
        (PASSPHRASE, ["export", "import", "render"]),
    ],
    ids=["cluster", "selection", "transforms", "apply", "trust", "passphrase"],
)
def test_each_option_group_is_offered_whole_by_every_command_that_takes_it(
    group: OptionGroup[Any], commands: list[str]
) -> None:
    for command in commands:
        assert group_flags(group) <= flags_of(command), command


def test_every_command_takes_verbose() -> None:
    assert isinstance(COMMAND, typer.core.TyperGroup)
    for name in COMMAND.commands:
        assert {"-v", "--verbose"} <= flags_of(name), name


NUMBERS = OptionGroup(
    (
        Flag("low", Annotated[int, typer.Option("--low")], 1),
        Flag("high", Annotated[int, typer.Option("--high")], 9),
    ),
    lambda values: range(values["low"], values["high"]),
)
TWICE = OptionGroup((Flag("same", Annotated[int, typer.Option("--same")], 0),), dict)


def test_a_group_expands_into_its_flags_and_comes_back_built() -> None:
    seen: list[range] = []

    @expand
    def count(*, name: str, span: Annotated[range, NUMBERS]) -> None:
        seen.append(span)

    little = typer.Typer()
    little.command()(count)
    result = CliRunner().invoke(little, ["x", "--low", "3"])
    assert result.exit_code == 0, result.output
    assert seen == [range(3, 9)]


def test_a_flag_given_by_two_groups_of_one_command_is_refused() -> None:
    def body(*, a: Annotated[dict[str, Any], TWICE], b: Annotated[dict[str, Any], TWICE]) -> None:
        return None

    with pytest.raises(TypeError, match="flag same appears twice"):
        expand(body)


# -- exit codes ------------------------------------------------------------------------------


def _report(action: Action, dry_run: DryRunMode = DryRunMode.NONE) -> ImportReport:
    outcome = Outcome(6, ObjectRef("", "ConfigMap", "shop", "app"), "v1", action, "")
    return ImportReport((outcome,), (), {6: "configuration"}, dry_run=dry_run)


@pytest.mark.parametrize(
    ("report", "code"),
    [
        (_report(Action.CREATE), ExitCode.OK),
        (_report(Action.FAIL), ExitCode.PARTIAL),
        (_report(Action.FAIL, DryRunMode.SERVER), ExitCode.FAILED),
        (_report(Action.FAIL, DryRunMode.CLIENT), ExitCode.FAILED),
    ],
    ids=["applied", "some-failed", "server-dry-run-refused", "client-dry-run-refused"],
)
def test_an_import_ends_with_partial_failure_only_when_objects_may_have_been_applied(
    report: ImportReport, code: ExitCode
) -> None:
    assert ImportResult(report, "ctx").exit_code is code


def test_exit_codes_name_each_way_a_command_ends(tmp_path: Path) -> None:
    runner = CliRunner()
    write_sample_bundle(tmp_path / "ok.kbundle")
    (tmp_path / "bad.kbundle").write_bytes(b"not a bundle")
    assert runner.invoke(app, ["verify", str(tmp_path / "ok.kbundle")]).exit_code == ExitCode.OK
    bad = runner.invoke(app, ["verify", str(tmp_path / "bad.kbundle")])
    assert bad.exit_code == ExitCode.FAILED
    assert runner.invoke(app, ["verify", "--no-such-flag", "x"]).exit_code == ExitCode.USAGE
    missing = runner.invoke(app, ["verify", str(tmp_path / "absent.kbundle")])
    assert missing.exit_code == ExitCode.USAGE


def test_a_crashing_transform_is_a_transform_error_not_a_usage_error(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "ok.kbundle")
    plugin = tmp_path / "crashing_plugin.py"
    plugin.write_text("def crash(obj, context):\n    raise RuntimeError('boom')\n")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "kbundle"),
            "transform",
            str(tmp_path / "ok.kbundle"),
            "-o",
            str(tmp_path / "out.kbundle"),
            "--transform",
            "crashing_plugin:crash",
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == ExitCode.FAILED
    assert result.stderr.splitlines() == [
        "error: transform crashing_plugin:crash failed on Namespace shop: RuntimeError: boom"
    ]
    assert not (tmp_path / "out.kbundle").exists()


# -- start-up --------------------------------------------------------------------------------

_RUN_AND_REPORT = """
import json, sys
from kbundle.cli.app import app
try:
    app(sys.argv[1:])
except SystemExit as end:
    code = end.code
print(json.dumps({"code": code, "loaded": sorted(
    m for m in sys.modules if m == "kubernetes" or m.startswith(("kubernetes.", "kbundle.cluster"))
)}))
"""


def _offline_commands(tmp_path: Path) -> Mapping[str, list[str]]:
    bundle = str(tmp_path / "ok.kbundle")
    return {
        "version": ["--version"],
        "help": ["--help"],
        "verify": ["verify", bundle],
        "inspect": ["inspect", bundle],
        "transform": ["transform", bundle, "-o", str(tmp_path / "t.kbundle"), "--set-label", "a=b"],
        "render": ["render", bundle, "-o", str(tmp_path / "yaml")],
        "keygen": ["keygen", "-o", str(tmp_path / "k.key")],
        "completion": ["completion", "bash"],
    }


def test_offline_commands_never_load_the_cluster_client(tmp_path: Path) -> None:
    write_sample_bundle(tmp_path / "ok.kbundle")
    for name, args in _offline_commands(tmp_path).items():
        done = subprocess.run(
            [sys.executable, "-c", _RUN_AND_REPORT, *args],
            capture_output=True,
            text=True,
            check=True,
        )
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        assert outcome == {"code": 0, "loaded": []}, (name, done.stderr)


def test_the_cluster_layer_loads_the_kubernetes_client_only_to_connect() -> None:
    code = "import sys, kbundle.cluster; print('kubernetes' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
