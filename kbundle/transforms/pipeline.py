"""The transforms a command line asks for, built and validated before anything runs.

Order (documented in docs/transforms.md): namespaces, IPs, registries, storage classes,
label and annotation edits, field removals, then the rules file in its own order, then
plugins in the order given. Mappings come first so that rules and plugins see objects as
they will land.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kbundle.errors import UsageError
from kbundle.transforms.base import Transform
from kbundle.transforms.plugins import entry_point_plugins, load_plugin
from kbundle.transforms.registry import builtin
from kbundle.transforms.rules import load_rules


@dataclass(frozen=True)
class TransformFlags:
    """Transform flags exactly as given (``OLD=NEW`` strings, paths, plugin names)."""

    map_namespace: tuple[str, ...] = ()
    map_ip: tuple[str, ...] = ()
    map_ip_in_data: bool = False
    map_registry: tuple[str, ...] = ()
    map_storage_class: tuple[str, ...] = ()
    set_label: tuple[str, ...] = ()
    remove_label: tuple[str, ...] = ()
    set_annotation: tuple[str, ...] = ()
    remove_annotation: tuple[str, ...] = ()
    remove_field: tuple[str, ...] = ()
    rules_file: Path | None = None
    plugins: tuple[str, ...] = ()


def _pairs(values: tuple[str, ...], flag: str, shape: str = "OLD=NEW") -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, equals, mapped = value.partition("=")
        if not equals or not key:
            raise UsageError(f"{flag} {value}: expected {shape}")
        if key in pairs:
            raise UsageError(f"{flag} {value}: {key!r} is given twice")
        pairs[key] = mapped
    return pairs


def build_transforms(flags: TransformFlags) -> list[Transform]:
    """Every transform the flags ask for, in order; any bad flag is a one-line UsageError."""
    steps: list[Transform] = []
    if flags.map_ip_in_data and not flags.map_ip:
        raise UsageError("--map-ip-in-data needs at least one --map-ip")
    mappings: tuple[tuple[str, tuple[str, ...], str, dict[str, Any]], ...] = (
        ("map-namespace", flags.map_namespace, "--map-namespace", {}),
        ("map-ip", flags.map_ip, "--map-ip", {"inData": flags.map_ip_in_data}),
        ("map-registry", flags.map_registry, "--map-registry", {}),
        ("map-storage-class", flags.map_storage_class, "--map-storage-class", {}),
    )
    for name, values, flag, extra in mappings:
        if values:
            steps.append(builtin(name, {"mapping": _pairs(values, flag), **extra}))
    if flags.set_label:
        steps.append(
            builtin("set-labels", {"labels": _pairs(flags.set_label, "--set-label", "KEY=VALUE")})
        )
    if flags.remove_label:
        steps.append(builtin("remove-labels", {"keys": list(flags.remove_label)}))
    if flags.set_annotation:
        steps.append(
            builtin(
                "set-annotations",
                {"annotations": _pairs(flags.set_annotation, "--set-annotation", "KEY=VALUE")},
            )
        )
    if flags.remove_annotation:
        steps.append(builtin("remove-annotations", {"keys": list(flags.remove_annotation)}))
    if flags.remove_field:
        steps.append(builtin("remove-fields", {"paths": list(flags.remove_field)}))
    if flags.rules_file is not None:
        steps.append(load_rules(flags.rules_file))
    for plugin in flags.plugins:
        steps.append(load_plugin(plugin) if ":" in plugin else entry_point_plugins([plugin])[0])
    return steps
