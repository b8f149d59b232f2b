"""Option groups written once: a group's flags expand into every command that takes it.

A command declares one parameter per group, typed as what the library takes
(``Annotated[ClusterTarget, CLUSTER]``); ``expand`` replaces it, in the signature typer
reads, by the group's flags, and on the way back builds the typed value from their values.
Adding a flag to a group touches that group only; every command that takes it gets it.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Flag:
    """One flag: the parameter typer sees (``Annotated[type, typer.Option(...)]``)."""

    name: str
    annotation: Any
    default: Any = None


@dataclass(frozen=True)
class OptionGroup(Generic[T]):
    """Flags that always travel together, and what they become for the library."""

    flags: tuple[Flag, ...]
    build: Callable[[Mapping[str, Any]], T]


def _group_of(hint: Any) -> OptionGroup[Any] | None:
    if typing.get_origin(hint) is typing.Annotated:
        return next((m for m in hint.__metadata__ if isinstance(m, OptionGroup)), None)
    return None


def expand(function: F) -> F:
    """``function`` with each group parameter replaced by the group's flags, in place and in
    the group's order (all keyword-only: typer passes every value by name); the wrapper
    calls ``function`` with the built values."""
    hints = typing.get_type_hints(function, include_extras=True)
    parameters: list[inspect.Parameter] = []
    annotations: dict[str, Any] = {}
    groups: dict[str, OptionGroup[Any]] = {}
    for parameter in inspect.signature(function).parameters.values():
        hint = hints[parameter.name]
        group = _group_of(hint)
        if group is None:
            parameters.append(
                parameter.replace(annotation=hint, kind=inspect.Parameter.KEYWORD_ONLY)
            )
            annotations[parameter.name] = hint
            continue
        groups[parameter.name] = group
        for flag in group.flags:
            if flag.name in annotations:
                raise TypeError(f"{function.__name__}: flag {flag.name} appears twice")
            parameters.append(
                inspect.Parameter(
                    flag.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=flag.default,
                    annotation=flag.annotation,
                )
            )
            annotations[flag.name] = flag.annotation

    @functools.wraps(function)
    def command(**values: Any) -> Any:
        for name, group in groups.items():
            values[name] = group.build({f.name: values.pop(f.name) for f in group.flags})
        return function(**values)

    del command.__wrapped__  # typer must see the expanded signature, not the original
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = annotations
    return typing.cast(F, command)
