"""A loaded rules file: which objects each rule matches, and the transform that runs the
rules in order. What a rule does to an object is its action (``actions``)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from kbundle.core.model import Object, ObjectRef
from kbundle.core.selectors import Selector
from kbundle.transforms.base import TransformContext, TransformOutput
from kbundle.transforms.rules.summaries import a, json_kind

TRANSFORM_NAME = "rules"


class RuleFailed(Exception):
    """A rule matched an object but could not be applied to it. A JSON Patch ``test`` that
    fails is not a failure: it means the rule does not apply."""


class Action(Protocol):
    """What a rule does to an object it matches: the objects that replace it."""

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]: ...


@dataclass(frozen=True)
class KindPattern:
    """One ``kinds`` entry: a group kind with shell wildcards (``Deployment.apps``,
    ``*.example.com``, ``ConfigMap``), or ``GROUP/KIND`` (``apps/*``; ``core/*`` for the
    core group), which matches group and kind separately."""

    group: str | None  # None: ``kind`` is matched against the whole group kind
    kind: str

    def matches(self, ref: ObjectRef) -> bool:
        if self.group is None:
            return fnmatchcase(ref.group_kind, self.kind)
        return fnmatchcase(ref.group, self.group) and fnmatchcase(ref.kind, self.kind)


@dataclass(frozen=True)
class Match:
    """Conditions that must all hold; ``None`` means the condition was not given."""

    kinds: tuple[KindPattern, ...] | None = None
    namespaces: tuple[str, ...] | None = None
    name: re.Pattern[str] | None = None
    selector: Selector | None = None

    def matches(self, obj: Object) -> bool:
        ref = ObjectRef.of(obj)
        if self.kinds is not None and not any(kind.matches(ref) for kind in self.kinds):
            return False
        if self.namespaces is not None and not (
            ref.namespace and any(fnmatchcase(ref.namespace, ns) for ns in self.namespaces)
        ):
            return False  # cluster-scoped objects have no namespace to match
        if self.name is not None and self.name.fullmatch(ref.name) is None:
            return False
        return self.selector is None or self.selector.matches(_labels(obj))


def _labels(obj: Object) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def rule_label(number: int, name: Any) -> str:
    """``rule 3 (mirror images)``, or ``rule 3`` for a rule without a name."""
    return f"rule {number} ({name})" if isinstance(name, str) and name else f"rule {number}"


@dataclass(frozen=True)
class Rule:
    """One rule as loaded: its 1-based number, conditions, action, and the text as written."""

    number: int
    name: str | None
    match: Match
    action: Action
    written: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``rule 3 (mirror images)``: how errors and the report name this rule."""
        return rule_label(self.number, self.name)

    def apply(self, obj: Object, context: TransformContext) -> list[Object]:
        if not self.match.matches(obj):
            return [obj]
        results = self.action.apply(obj, context, self.label)
        for result in results:
            _check_object(result, self.label)
        return results


def _check_object(result: Any, label: str) -> None:
    """A patch can remove or replace what makes an object an object; refused here, naming
    the rule, rather than failing in a later rule or in the apiserver with no culprit."""
    problem = None
    metadata = result.get("metadata") if isinstance(result, dict) else None
    if not isinstance(result, dict):
        problem = f"it is {a(json_kind(result))}"
    elif not all(
        isinstance(result.get(key), str) and result[key] for key in ("apiVersion", "kind")
    ):
        problem = "apiVersion or kind is missing or not a string"
    elif not isinstance(metadata, dict):
        problem = "metadata is missing or not a mapping"
    elif not (isinstance(metadata.get("name"), str) and metadata["name"]):
        problem = "metadata.name is missing or not a string"
    elif not isinstance(metadata.get("namespace", ""), str):
        problem = "metadata.namespace is not a string"
    elif not isinstance(metadata.get("labels", {}), dict):
        problem = "metadata.labels is not a mapping"
    if problem is not None:
        raise RuleFailed(f"{label}: the result is no longer a Kubernetes object: {problem}")


@dataclass(frozen=True)
class RulesTransform:
    """Every rule of one file, run in order as a single transform.

    Conditions see each object as the rules before them left it, so a rule after a
    ``map-namespace`` rule matches the new namespace.
    """

    rules: tuple[Rule, ...]
    source: str  # the file as given, for errors and describe()
    name: str = TRANSFORM_NAME

    def __call__(self, obj: Object, context: TransformContext) -> TransformOutput:
        """A rewritten deep copy of ``obj``; ``None`` when a ``drop`` rule matched. A list
        only if a built-in rule split the object (none of kbundle's own does)."""
        current = [copy.deepcopy(obj)]
        for rule in self.rules:
            current = [result for item in current for result in rule.apply(item, context)]
        if not current:
            return None
        return current[0] if len(current) == 1 else current

    def describe(self) -> dict[str, Any]:
        rules = [copy.deepcopy(dict(rule.written)) for rule in self.rules]
        return {"name": self.name, "args": {"file": self.source, "rules": rules}}
