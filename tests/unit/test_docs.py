"""The user documentation names every rule the code applies, so neither drifts alone."""

from __future__ import annotations

from pathlib import Path

from kbundle.clean import RULES
from kbundle.core.levels import LEVELS
from kbundle.select.rules import NOT_EXPORTED_KINDS
from kbundle.transforms.registry import names

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXPORT_DOC = (DOCS / "export.md").read_text()


def test_export_doc_lists_every_cleaning_rule() -> None:
    missing = [rule.name for rule in RULES if f"`{rule.name}`" not in EXPORT_DOC]
    assert not missing, f"docs/export.md lacks cleaning rules {missing}"


def test_export_doc_lists_every_kind_that_is_never_read() -> None:
    missing = [
        kind.split(".")[0] for kind in NOT_EXPORTED_KINDS if kind.split(".")[0] not in EXPORT_DOC
    ]
    assert not missing, f"docs/export.md lacks never-read kinds {missing}"


def test_export_doc_describes_every_level_in_order() -> None:
    section = EXPORT_DOC.split("## Levels", 1)[1]
    positions = [
        section.find(word)
        for word in (
            "CRDs",
            "Namespaces",
            "cluster-wide",
            "PersistentVolumes",
            "namespace policy",
            "identity",
            "configuration",
            "PersistentVolumeClaims",
            "Services",
            "workloads",
            "Ingress, HPA",
            "custom resources",
            "webhook",
        )
    ]
    assert -1 not in positions and positions == sorted(positions)
    assert len(positions) == len(LEVELS)


def test_transforms_doc_names_every_built_in_and_its_flag() -> None:
    doc = (DOCS / "transforms.md").read_text()
    missing = [name for name in names() if f"`{name}`" not in doc]
    assert not missing, f"docs/transforms.md lacks built-ins {missing}"
    for flag in (
        "--map-namespace",
        "--map-ip",
        "--map-ip-in-data",
        "--map-registry",
        "--map-storage-class",
        "--set-label",
        "--remove-label",
        "--set-annotation",
        "--remove-annotation",
        "--remove-field",
        "--transforms",
        "--transform",
    ):
        assert f"`{flag}" in doc, flag


README = (DOCS.parent / "README.md").read_text()


def test_readme_shows_every_command_with_an_example() -> None:
    import typer  # noqa: PLC0415

    from kbundle.cli.app import app  # noqa: PLC0415

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    missing = [name for name in group.commands if f"kbundle {name} " not in README]
    assert not missing, f"README.md shows no example of {missing}"


def test_readme_lists_every_exit_code() -> None:
    from kbundle.core.errors import ExitCode  # noqa: PLC0415

    section = README.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    missing = [code.name for code in ExitCode if f"| {int(code)} |" not in section]
    assert not missing, f"README.md's exit codes lack {missing}"


def test_python_api_doc_names_every_verb_and_its_options() -> None:
    import kbundle  # noqa: PLC0415

    doc = (DOCS / "python-api.md").read_text()
    verbs = ["export", "verify", "inspect", "import_bundle", "clone", "transform", "render"]
    verbs += ["sign", "keygen", "diff", "diff_bundles", "preflight", "push", "pull"]
    assert all(name in kbundle.__all__ for name in verbs)
    missing = [name for name in verbs if f"`{name}`" not in doc]
    options = [
        name
        for name in kbundle.__all__
        if name.endswith(("Options", "Result")) and name not in ("ApplyOptions", "RemoteOptions")
    ]
    assert len(options) == 2 * len(verbs) - 1  # the two diffs share DiffResult
    missing += [name for name in options if f"`{name}(" not in doc]
    assert not missing, f"docs/python-api.md lacks {missing}"
