"""Any transform from a spec: a built-in, a rules file or a plugin, all through one contract.

A ``TransformSpec`` is what a user asks for, before anything is loaded: a command-line flag
becomes one (the CLI parses flag strings), a Python caller writes one, and a rules file's
``builtin`` action names one. ``build_transforms`` turns specs into ready transforms in order,
each through a factory ``args -> Transform`` that validates its arguments, so every problem
is one ``UsageError`` before a single object is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from kbundle.core.errors import UsageError
from kbundle.transforms import registry
from kbundle.transforms.base import Transform
from kbundle.transforms.plugins import PluginFunction, from_python, plugin
from kbundle.transforms.registry import Factory
from kbundle.transforms.rules import load_rules
from kbundle.transforms.spec import PLUGIN, RULES, TransformSpec

__all__ = [
    "FACTORIES",
    "PLUGIN",
    "RULES",
    "TransformRequest",
    "TransformSpec",
    "build_transform",
    "build_transforms",
]

# What a caller may hand a verb: a spec, one of kbundle's transforms, or a plain callable
# ``(obj, context) -> obj | [obj] | None``, which runs as a plugin.
TransformRequest = TransformSpec | Transform | PluginFunction


def _rules(args: Mapping[str, Any]) -> Transform:
    return load_rules(Path(args["file"]))


def _plugin(args: Mapping[str, Any]) -> Transform:
    return plugin(str(args["name"]))


FACTORIES: Mapping[str, Factory] = MappingProxyType(
    {**registry.BUILTINS, RULES: _rules, PLUGIN: _plugin}
)


def build_transform(spec: TransformRequest) -> Transform:
    """A ready transform. A callable given by a Python caller is kept if it is one of
    kbundle's own (it describes itself), and otherwise treated as a plugin."""
    if not isinstance(spec, TransformSpec):
        if callable(getattr(spec, "describe", None)):
            return cast(Transform, spec)
        return from_python(spec)
    factory = FACTORIES.get(spec.name)
    if factory is None:
        raise UsageError(
            f"no transform {spec.name!r} (have: {', '.join(sorted(FACTORIES))})",
            hint="a plugin is asked for as plugin with args {name: ...}",
        )
    return factory(spec.args)


def build_transforms(specs: Sequence[TransformRequest]) -> list[Transform]:
    """Every transform, in order, built and validated before anything runs."""
    return [build_transform(spec) for spec in specs]
