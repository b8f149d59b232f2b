"""Loading a rules file: every check before anything runs.

A file that loads runs without surprises; a file that does not is refused before anything
is applied, with one line naming the file, the rule and the reason: schema problems first
(the top level, then rule by rule), then each rule's conditions and action as they are built.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonpatch
import jsonschema
import yaml

from kbundle.bundle.yaml_codec import describe_error, load_documents
from kbundle.core.errors import UsageError
from kbundle.core.fieldpath import render_path
from kbundle.core.levels import LEVELS
from kbundle.core.model import group_kind
from kbundle.core.schemas import SCHEMAS, packaged_schema
from kbundle.core.selectors import Selector, parse_selector
from kbundle.transforms import registry
from kbundle.transforms.rules.actions import (
    BuiltinAction,
    DropAction,
    JsonPatchAction,
    MergePatchAction,
)
from kbundle.transforms.rules.model import (
    Action,
    KindPattern,
    Match,
    Rule,
    RulesTransform,
    rule_label,
)
from kbundle.transforms.rules.summaries import (
    MAX_REASON,
    MAX_VALUE,
    Location,
    a,
    json_kind,
    one_line,
    truncated,
)

API_VERSION = "kbundle.dev/v1"
KIND = "TransformRules"
# schemas/ at the repository root is the canonical copy; kbundle/schemas links to it.
SCHEMA_FILE = SCHEMAS / "transforms.schema.json"
ACTIONS = ("builtin", "jsonPatch", "mergePatch", "drop")

_HINT = "rules files are described in docs/transforms.md (schema: schemas/transforms.schema.json)"

Problem = tuple[Location, str]  # where in the document, and why it is refused


def load_rules(path: Path) -> RulesTransform:
    """Read, validate and build every rule of ``path``.

    Anything wrong is a ``UsageError`` of one line, ``FILE: rule N (NAME): WHERE: REASON``,
    raised before a single object is transformed. The first problem in file order is the
    one reported: the top level, then rule by rule.
    """
    source = str(path)
    document = _read_document(path, source)
    # The loader already refused what JSON cannot hold (non-string keys, binary, .nan...).
    problems = (_schema_problems(document),)
    _refuse_problems(source, document, problems, -1)
    rules: list[Rule] = []
    for index, raw in enumerate(document["rules"]):
        _refuse_problems(source, document, problems, index)
        rules.append(_build_rule(index + 1, raw, source))
    return RulesTransform(rules=tuple(rules), source=source)


def _refuse_problems(
    source: str, document: Any, problems: Sequence[dict[int, Problem]], index: int
) -> None:
    """Refuse the top level (-1) or one rule if a check found a problem there."""
    for found in problems:
        if index in found:
            raise _located(source, document, *found[index])


def load_schema() -> dict[str, Any]:
    """The rules-file JSON Schema shipped with the package."""
    return packaged_schema("transforms.schema.json")


def _read_document(path: Path, source: str) -> Any:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _refused(source, f"cannot read: {error.strerror or error}") from None
    try:
        documents = load_documents(data)
    except yaml.YAMLError as error:
        raise _refused(source, f"invalid YAML: {describe_error(error)}") from None
    except ValueError as error:  # a document that is not a mapping
        raise _refused(source, f"{error} of apiVersion, kind and rules") from None
    if len(documents) != 1:
        found = "no document" if not documents else f"{len(documents)} documents"
        raise _refused(source, f"holds {found}; a rules file is one YAML document")
    return documents[0]


def _schema_problems(document: Any) -> dict[int, Problem]:
    """The most telling schema error of each rule (-1: outside the rules)."""
    validator = jsonschema.Draft202012Validator(load_schema())
    by_rule: dict[int, list[jsonschema.ValidationError]] = {}
    for error in validator.iter_errors(document):
        by_rule.setdefault(_rule_index(error.absolute_path), []).append(error)
    return {index: _schema_problem(errors) for index, errors in by_rule.items()}


def _schema_problem(errors: list[jsonschema.ValidationError]) -> Problem:
    specific = [error for error in errors if error.validator != "oneOf"]
    if not specific:  # only the one-action condition failed: say which actions were given
        return errors[0].absolute_path, _action_count(errors[0].instance)
    error = jsonschema.exceptions.best_match(specific)
    return error.absolute_path, _schema_reason(error)


def _rule_index(location: Location) -> int:
    """Which rule a location is in (-1: outside the rules, reported first)."""
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        return location[1]
    return -1


def _action_count(rule: Any) -> str:
    given = [action for action in ACTIONS if isinstance(rule, dict) and action in rule]
    if not given:
        return "no action: give one of builtin, jsonPatch, mergePatch or drop"
    return f"{len(given)} actions ({', '.join(given)}): give exactly one per rule"


def _schema_reason(error: jsonschema.ValidationError) -> str:
    if error.validator == "const":
        # default=repr: a value YAML allows and JSON does not is refused, not crashed on
        expected, found = (
            json.dumps(error.validator_value),
            json.dumps(error.instance, default=repr),
        )
        return f"must be {expected}, not {truncated(found, MAX_VALUE)}"
    if error.validator == "type":
        return f"expected {a(str(error.validator_value))}, found {a(json_kind(error.instance))}"
    if error.validator == "pattern":  # only JSON pointers have a pattern
        return f"{json.dumps(error.instance)} is not a JSON pointer (like /spec/replicas)"
    return truncated(one_line(error.message), MAX_REASON)


def _build_rule(number: int, raw: dict[str, Any], source: str) -> Rule:
    try:
        match = _build_match(raw.get("match") or {})
        action = _build_action(raw)
    except UsageError as error:
        label = rule_label(number, raw.get("name"))
        raise _refused(source, f"{label}: {error.message}", error.hint) from None
    return Rule(number, raw.get("name"), match, action, copy.deepcopy(raw))


def _build_match(spec: Mapping[str, Any]) -> Match:
    kinds = spec.get("kinds")
    namespaces = spec.get("namespaces")
    return Match(
        kinds=None if kinds is None else tuple(_kind_pattern(i, k) for i, k in enumerate(kinds)),
        namespaces=None if namespaces is None else tuple(namespaces),
        name=None if spec.get("name") is None else _name_pattern(spec["name"]),
        selector=None if spec.get("labelSelector") is None else _selector(spec["labelSelector"]),
    )


def _grouped_kinds() -> dict[str, str]:
    """Well-known kinds outside the core group (``Deployment`` -> ``apps``), from the level
    table: a bare ``Deployment`` names the core group, so it would silently match nothing."""
    core = {kind for level in LEVELS for kind in level.kinds if "." not in kind}
    grouped: dict[str, str] = {}
    for level in LEVELS:
        # "extensions" only ever held copies of kinds that moved to their own groups
        for known in sorted(level.kinds, key=lambda k: (k.endswith(".extensions"), k)):
            kind, dot, group = known.partition(".")
            if dot and kind not in core:
                grouped.setdefault(kind, group)
    return grouped


_GROUPED_KINDS = _grouped_kinds()


def _kind_pattern(index: int, text: str) -> KindPattern:
    where = f"match.kinds[{index}]"
    group, slash, kind = text.partition("/")
    if slash:
        if not group or not kind or "/" in kind:
            raise UsageError(f"{where}: {text!r} is not GROUP/KIND (like apps/*)")
        return KindPattern("" if group == "core" else group, kind)
    if text in _GROUPED_KINDS:
        written = group_kind(text, _GROUPED_KINDS[text])
        raise UsageError(
            f"{where}: {text!r} would match only the core group; write {written!r}",
            hint="kinds are group kinds, as `kbundle inspect` lists them: Deployment.apps",
        )
    return KindPattern(None, text)


def _name_pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as error:
        raise UsageError(f"match.name: bad regex: {error}") from None


def _selector(text: str) -> Selector:
    try:
        return parse_selector(text)
    except UsageError as error:
        raise UsageError(f"match.labelSelector: {error.message}") from None


def _build_action(raw: Mapping[str, Any]) -> Action:
    if "builtin" in raw:
        return _builtin(raw["builtin"]["name"], raw["builtin"].get("args") or {})
    if "jsonPatch" in raw:
        return _json_patch(raw["jsonPatch"])
    if "mergePatch" in raw:
        return MergePatchAction(copy.deepcopy(raw["mergePatch"]))
    return DropAction()


def _builtin(name: str, args: Mapping[str, Any]) -> BuiltinAction:
    known = registry.names()
    if name not in known:
        raise UsageError(f"builtin: unknown built-in {name!r} (known: {', '.join(known)})")
    try:
        transform = registry.builtin(name, copy.deepcopy(dict(args)))
    except UsageError as error:
        raise UsageError(f"builtin {name}: {error.message}", hint=error.hint) from None
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        # The schema cannot know each built-in's arguments; a factory handed a list where
        # it expects a mapping fails like this, and it is still the file that is wrong.
        raise UsageError(f"builtin {name}: bad args: {type(error).__name__}: {error}") from None
    return BuiltinAction(name, transform)


def _json_patch(operations: Sequence[Mapping[str, Any]]) -> JsonPatchAction:
    """Each operation built now, so a malformed one is refused at load time."""
    built: list[jsonpatch.JsonPatch] = []
    for number, operation in enumerate(operations, start=1):
        try:
            built.append(jsonpatch.JsonPatch([copy.deepcopy(dict(operation))]))
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            raise UsageError(f"jsonPatch[{number - 1}]: {one_line(str(error))}") from None
    return JsonPatchAction(tuple(built))


def _located(source: str, document: Any, location: Location, reason: str) -> UsageError:
    """``FILE: rule N (NAME): WHERE: REASON`` for a location in the loaded document."""
    where = list(location)
    prefix = ""
    index = _rule_index(where)
    if index >= 0:
        raw = document["rules"][index]
        prefix = rule_label(index + 1, raw.get("name") if isinstance(raw, dict) else None) + ": "
        where = where[2:]
    rendered = render_path(tuple(where))
    return _refused(source, f"{prefix}{rendered}: {reason}" if rendered else f"{prefix}{reason}")


def _refused(source: str, reason: str, hint: str | None = None) -> UsageError:
    return UsageError(one_line(f"{source}: {reason}"), hint=hint or _HINT)
