"""Plugins: transforms kbundle does not ship, found by entry point or by ``module:callable``.

A plugin is any callable ``(obj, context) -> dict | list[dict] | None`` (the ``Transform``
protocol of ``kbundle/transforms/base.py``): a plain function will do. Installed packages
offer plugins under the entry point group ``kbundle.transforms``; an importable module can be
named directly as ``package.module:callable``. A class is instantiated with no arguments.

Plugins are resolved and imported while the transforms are built, so a missing or broken
plugin is a one-line ``UsageError`` before anything is read or applied. Plugins are other
people's code: each call gets its own copy of the object (a plugin that edits its input
cannot change what kbundle holds), and a result that is not an object, a list of objects or
``None`` is an error naming the plugin.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.core.model import Object
from kbundle.transforms.base import Transform, TransformContext, TransformOutput

GROUP = "kbundle.transforms"
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_SPEC = re.compile(
    rf"(?P<module>{_IDENTIFIER}(\.{_IDENTIFIER})*):(?P<attr>{_IDENTIFIER}(\.{_IDENTIFIER})*)"
)
_IMPORT_HINT = "install the plugin's package, or put its folder on PYTHONPATH"
_HINT = "a plugin is an entry point in group kbundle.transforms, or package.module:callable"

PluginFunction = Callable[[Object, TransformContext], TransformOutput]


@dataclass(frozen=True)
class Plugin:
    """A loaded plugin under the name the user gave (entry point name or spec)."""

    name: str
    target: str  # "module:attr", what the name resolved to
    function: PluginFunction

    def __call__(self, obj: Object, context: TransformContext) -> TransformOutput:
        result = self.function(copy.deepcopy(obj), context)
        _check_result(result)
        return result

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "plugin": self.target}


def entry_point_plugins(names: Sequence[str] | None = None) -> list[Transform]:
    """The plugins installed under ``kbundle.transforms``: those named, in the order given,
    or all of them (``None``) sorted by name."""
    installed = _installed()
    if names is None:
        names = sorted(installed)
    plugins: list[Transform] = []
    for name in names:
        found = installed.get(name, [])
        if not found:
            have = ", ".join(sorted(installed)) or "none"
            raise UsageError(
                f"plugin {name}: no entry point {name!r} in group {GROUP} (installed: {have})",
                hint=_HINT,
            )
        if len(found) > 1:
            dists = ", ".join(sorted(_distribution(ep) for ep in found))
            raise UsageError(
                f"plugin {name}: offered by more than one package ({dists}); uninstall one"
            )
        plugins.append(_from_entry_point(found[0]))
    return plugins


def load_plugin(spec: str) -> Transform:
    """The callable named by ``package.module:callable`` (attribute paths like
    ``module:Class.method`` work too), named after the spec."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise UsageError(f"plugin {spec}: expected package.module:callable", hint=_HINT)
    try:
        module = importlib.import_module(match["module"])
    except ModuleNotFoundError as error:
        raise UsageError(
            f"plugin {spec}: cannot import {match['module']}: {error}", hint=_IMPORT_HINT
        ) from None
    except Exception as error:
        # Importing runs the plugin's own code, which may raise anything: refuse it here,
        # before any object is touched, rather than as a crash.
        raise _load_failed(spec, error) from error
    target: Any = module
    for attribute in match["attr"].split("."):
        if not hasattr(target, attribute):
            raise UsageError(
                f"plugin {spec}: {match['module']} has no attribute {match['attr']!r}", hint=_HINT
            )
        target = getattr(target, attribute)
    return Plugin(spec, spec, _as_function(spec, target))


def from_python(function: PluginFunction) -> Plugin:
    """A callable handed over by a Python caller, with the protections a plugin gets: its own
    copy of each object, and a checked result. Named by its ``name`` attribute, else by
    ``module:qualname``."""
    target = f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', '?')}"
    name = getattr(function, "name", None)
    return Plugin(name if isinstance(name, str) and name else target, target, function)


def plugin(name: str) -> Transform:
    """The plugin ``name``: ``package.module:callable``, or an installed entry point's name."""
    return load_plugin(name) if ":" in name else entry_point_plugins([name])[0]


def _installed() -> dict[str, list[metadata.EntryPoint]]:
    by_name: dict[str, list[metadata.EntryPoint]] = {}
    for entry_point in metadata.entry_points(group=GROUP):
        by_name.setdefault(entry_point.name, []).append(entry_point)
    return by_name


def _from_entry_point(entry_point: metadata.EntryPoint) -> Plugin:
    try:
        target = entry_point.load()
    except Exception as error:
        # Loading imports the plugin's module: its code may raise anything (see above).
        raise _load_failed(f"{entry_point.name} ({entry_point.value})", error) from error
    return Plugin(entry_point.name, entry_point.value, _as_function(entry_point.name, target))


def _as_function(name: str, target: Any) -> PluginFunction:
    """The callable itself, or an instance of a class (made with no arguments)."""
    if isinstance(target, type):
        try:
            target = target()
        except Exception as error:
            raise UsageError(
                f"plugin {name}: {target.__qualname__}() failed: {type(error).__name__}: {error}",
                hint=_HINT,
            ) from error
    if not callable(target):
        raise UsageError(
            f"plugin {name}: {type(target).__name__} object is not callable", hint=_HINT
        )
    function: PluginFunction = target
    return function


def _check_result(result: Any) -> None:
    """A plugin must return what the Transform protocol allows; anything else would fail
    later, far from the plugin that caused it."""
    items = result if isinstance(result, list) else [result]
    if result is None or all(isinstance(item, dict) for item in items):
        return
    raise TypeError(f"returned {type(result).__name__}, expected a dict, a list of dicts or None")


def _load_failed(name: str, error: BaseException) -> UsageError:
    text = " ".join(str(error).split())
    return UsageError(f"plugin {name}: cannot load: {type(error).__name__}: {text}", hint=_HINT)


def _distribution(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return dist.name if dist is not None else entry_point.value
