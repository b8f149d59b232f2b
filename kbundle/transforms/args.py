"""Checking what a built-in is given, from a flag or a rules file, with one message shape:
the flag or built-in, the value as given, and why it is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kbundle.core.errors import UsageError


def usage(flag: str, value: str, problem: str, hint: str) -> UsageError:
    """One line naming the value exactly as given (quoted if empty or holding a line break)."""
    shown = value if value and value.isprintable() else repr(value)
    return UsageError(f"{flag} {shown}: {problem}", hint=hint)


def _only(name: str, args: Mapping[str, Any], key: str, hint: str) -> Any:
    """The one argument ``key`` of ``args``, refusing any other."""
    unknown = sorted(set(args) - {key})
    if unknown:
        raise UsageError(f"{name}: unknown argument {unknown[0]!r}", hint=hint)
    return args.get(key)


def string_map(name: str, args: Mapping[str, Any], key: str, hint: str) -> Mapping[str, str]:
    """``args[key]``, the only argument, as a mapping of strings to strings."""
    value = _only(name, args, key, hint)
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UsageError(f"{name}: {key!r} must map strings to strings", hint=hint)
    return value


def string_list(name: str, args: Mapping[str, Any], key: str, hint: str) -> list[str]:
    """``args[key]``, the only argument, as a list of strings."""
    value = _only(name, args, key, hint)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{name}: {key!r} must be a list of strings", hint=hint)
    return value


def old_new_mapping(name: str, args: Mapping[str, Any], hint: str) -> Mapping[str, str]:
    """``{"mapping": {OLD: NEW}}``, the only argument of a mapping built-in."""
    value = _only(name, args, "mapping", hint)
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UsageError(f"{name}: 'mapping' must map OLD strings to NEW strings", hint=hint)
    return value
