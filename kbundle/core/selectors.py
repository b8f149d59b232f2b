"""Label selectors as kubectl writes them (``-l``), and as objects write them (matchLabels).

Selection is evaluated locally because dependencies of selected objects are followed even
when they carry no label, so everything in scope is listed anyway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.core.names import is_label_value, qualified_name_problem

# What a key looks like to the parser; whether it is a valid key is checked once it is read.
_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)\s*$")
_COMPARE = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|!=|=|>|<)\s*(?P<value>[^\s]*)\s*$")
_EXISTS = re.compile(rf"^\s*(?P<neg>!?)\s*(?P<key>{_KEY})\s*$")


@dataclass(frozen=True, slots=True)  # slots: a cluster's Services each keep theirs
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist, Gt, Lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "In":
            return present and value in self.values
        if self.operator == "NotIn":
            return not present or value not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if not present or value is None:
            return False
        try:
            number, bound = int(value), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.operator == "Gt" else number < bound


@dataclass(frozen=True, slots=True)
class Selector:
    """All requirements must hold; an empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def parse_selector(text: str) -> Selector:
    """Parse kubectl's selector syntax; a malformed one is a one-line UsageError."""
    requirements = []
    for part in _split_requirements(text):
        requirements.append(_parse_requirement(part, text))
    return Selector(tuple(requirements))


def _split_requirements(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _parse_requirement(part: str, whole: str) -> Requirement:
    """One requirement; keys and values must be ones a label can have (``kbundle.core.names``),
    as kubectl requires, since a selector on any other matches no object."""
    requirement = _read_requirement(part, whole)
    if qualified_name_problem(requirement.key) is not None:
        raise UsageError(f"invalid label selector {whole!r}: bad key {requirement.key!r}")
    return requirement


def _read_requirement(part: str, whole: str) -> Requirement:
    if match := _SET.match(part):
        values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
        if not values or not all(is_label_value(v) for v in values):
            raise UsageError(f"invalid label selector {whole!r}: bad values in {part.strip()!r}")
        return Requirement(match["key"], "In" if match["op"] == "in" else "NotIn", values)
    if match := _COMPARE.match(part):
        op, value = match["op"], match["value"]
        if op in (">", "<"):
            if not re.fullmatch(r"-?\d+", value):
                raise UsageError(f"invalid label selector {whole!r}: {op} needs an integer")
            return Requirement(match["key"], "Gt" if op == ">" else "Lt", (value,))
        if not is_label_value(value):
            raise UsageError(f"invalid label selector {whole!r}: bad value {value!r}")
        return Requirement(match["key"], "NotIn" if op == "!=" else "In", (value,))
    if match := _EXISTS.match(part):
        return Requirement(match["key"], "DoesNotExist" if match["neg"] else "Exists")
    raise UsageError(f"invalid label selector {whole!r}: cannot read {part.strip()!r}")


def from_label_selector(spec: Mapping[str, Any] | None) -> Selector | None:
    """A metav1.LabelSelector (matchLabels + matchExpressions); None stays None."""
    if spec is None:
        return None
    requirements = [
        Requirement(k, "In", (str(v),)) for k, v in sorted((spec.get("matchLabels") or {}).items())
    ]
    for expression in spec.get("matchExpressions") or []:
        requirements.append(
            Requirement(
                expression["key"],
                expression["operator"],
                tuple(str(v) for v in expression.get("values") or ()),
            )
        )
    return Selector(tuple(requirements))


def from_map(selector: Mapping[str, str] | None) -> Selector | None:
    """A plain map selector (Service spec.selector). An empty or absent one selects nothing."""
    if not selector:
        return None
    return Selector(tuple(Requirement(k, "In", (str(v),)) for k, v in sorted(selector.items())))
