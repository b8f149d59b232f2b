"""Built-in transforms by name, so a rules file can ask for any of them with arguments.

Each built-in module registers a factory: ``factory(args) -> Transform``, where ``args`` is
the mapping a rules file gives (already checked against ``schemas/transforms.schema.json``).
A factory raises ``UsageError`` naming the bad argument; the rules loader adds the rule
number. Every built-in transform has ``name`` and ``describe() -> {"name": ..., "args": ...}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kbundle.errors import UsageError
from kbundle.transforms.base import Transform

Factory = Callable[[Mapping[str, Any]], Transform]
_FACTORIES: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def add(factory: Factory) -> Factory:
        _FACTORIES[name] = factory
        return factory

    return add


def builtin(name: str, args: Mapping[str, Any]) -> Transform:
    """The built-in ``name`` made with ``args`` (UsageError for an unknown name)."""
    _load_builtins()
    if name not in _FACTORIES:
        raise UsageError(f"no built-in transform {name!r} (have: {', '.join(sorted(_FACTORIES))})")
    return _FACTORIES[name](args)


def names() -> list[str]:
    _load_builtins()
    return sorted(_FACTORIES)


def _load_builtins() -> None:
    """Import the modules whose import registers the built-ins (once)."""
    from kbundle.transforms import builtins  # noqa: F401, PLC0415 - registration side effect
