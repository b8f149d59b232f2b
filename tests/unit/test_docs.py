"""The user documentation names every rule the code applies, so neither drifts alone."""

from __future__ import annotations

from pathlib import Path

from kbundle.clean import RULES
from kbundle.levels import LEVELS
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
