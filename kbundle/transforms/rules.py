"""``--transforms FILE.yaml``: ordered rules, each a match and exactly one action.

Flags cover the common mappings; what else a destination needs (one replica instead of
five, a NodePort turned ClusterIP, a debug ConfigMap left behind) is a small edit on some
objects. A rules file says which objects and which edit, and can be reviewed next to the
bundle it is meant for.

All checking happens in ``load_rules``: a file that loads runs without surprises, and a file
that does not is refused before anything is applied, with one line naming the file, the
rule and the reason. Running is pure (deep copies, no I/O) and every change is recorded; a
Secret's values never reach a record or an error message.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol

import jsonpatch
import jsonschema
import yaml

from kbundle.bundle.yaml_codec import describe_error, load_documents
from kbundle.errors import UsageError
from kbundle.levels import LEVELS
from kbundle.model import LAST_APPLIED, Object, ObjectRef, group_kind, is_secret_object
from kbundle.packaged_schemas import SCHEMAS, packaged_schema
from kbundle.select.labels import Selector, parse_selector
from kbundle.transforms import registry
from kbundle.transforms.base import Transform, TransformContext, TransformResult
from kbundle.transforms.walk import render_path

API_VERSION = "kbundle.dev/v1"
KIND = "TransformRules"
TRANSFORM_NAME = "rules"
# schemas/ at the repository root is the canonical copy; kbundle/schemas links to it.
SCHEMA_FILE = SCHEMAS / "transforms.schema.json"
ACTIONS = ("builtin", "jsonPatch", "mergePatch", "drop")
SECRET_VALUE = "(secret value)"
ABSENT = "(absent)"

_HINT = "rules files are described in docs/transforms.md (schema: schemas/transforms.schema.json)"
_MAX_REASON = 200
_MAX_VALUE = 80
_MAX_SUMMARY = 300
_MISSING = object()
_QUOTED_DOCUMENT = re.compile(r"(member '.*' not found) in .*")

Location = Sequence[str | int]
Problem = tuple[Location, str]  # where in the document, and why it is refused


class RuleFailed(Exception):
    """A rule matched an object but could not be applied to it. A JSON Patch ``test`` that
    fails is not a failure: it means the rule does not apply."""


# -- running --------------------------------------------------------------------------------


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
        return _label(self.number, self.name)

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
        problem = f"it is {_a(_json_kind(result))}"
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

    def __call__(self, obj: Object, context: TransformContext) -> TransformResult:
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


@dataclass(frozen=True)
class DropAction:
    """``drop: true``: the object is left out of the import."""

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]:
        context.record(TRANSFORM_NAME, ObjectRef.of(obj), label, "present", "dropped")
        return []


@dataclass(frozen=True)
class BuiltinAction:
    """A built-in transform made from the rule's arguments; it records its own changes."""

    builtin: str
    transform: Transform

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]:
        try:
            result = self.transform(obj, context)
        except Exception as error:
            # Re-raised with the rule's name: the import report then says which rule failed.
            raise RuleFailed(
                f"{label}: builtin {self.builtin}: {type(error).__name__}: {error}"
            ) from error
        if result is None:
            return []
        return result if isinstance(result, list) else [result]


@dataclass(frozen=True)
class JsonPatchAction:
    """RFC 6902 operations, applied one by one to a copy so a failure can name its
    operation. A failing ``test`` leaves the object as it was: the rule does not apply."""

    operations: tuple[jsonpatch.JsonPatch, ...]  # one single-operation patch each

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]:
        result: Any = copy.deepcopy(obj)
        for number, patch in enumerate(self.operations, start=1):
            try:
                result = patch.apply(result, in_place=True)
            except jsonpatch.JsonPatchTestFailed:
                return [obj]
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
                raise RuleFailed(_patch_failure(label, number, patch, obj, error)) from error
        if result != obj:
            changed = [op for patch in self.operations for op in patch if op["op"] != "test"]
            before, after = _patch_summary(changed, obj)
            context.record(TRANSFORM_NAME, ObjectRef.of(obj), label, before, after)
        return [result]


@dataclass(frozen=True)
class MergePatchAction:
    """RFC 7386 JSON merge patch: objects merge key by key, ``null`` deletes, anything else
    (lists included) replaces."""

    patch: Mapping[str, Any]

    def apply(self, obj: Object, context: TransformContext, label: str) -> list[Object]:
        leaves = list(_merge_leaves(self.patch, obj, ()))
        before = [_value_at(obj, leaf) for leaf in leaves]
        result = copy.deepcopy(obj)
        _merge_into(result, self.patch)
        after = [_value_at(result, leaf) for leaf in leaves]
        if result != obj:
            secret = is_secret_object(obj)
            context.record(
                TRANSFORM_NAME,
                ObjectRef.of(obj),
                label,
                _values_summary(leaves, before, secret),
                _values_summary(leaves, after, secret),
            )
        return [result]


def _merge_into(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """RFC 7386 section 2, in place on ``target`` (the caller's own copy); values are
    copied out of the patch so later transforms cannot change the rule."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _merge_leaves(patch: Mapping[str, Any], target: Any, at: tuple[str, ...]) -> Iterator[Location]:
    """The places a merge patch sets, replaces or deletes (where a record says what changed)."""
    for key, value in patch.items():
        current = target.get(key) if isinstance(target, dict) else None
        if isinstance(value, Mapping) and isinstance(current, dict):
            yield from _merge_leaves(value, current, (*at, key))
        else:
            yield (*at, key)


# -- what a record or an error may show -----------------------------------------------------


def _shows_secret_data(tokens: Location) -> bool:
    """Whether a value at ``tokens`` inside a Secret could hold its data. Only metadata
    other than the last-applied annotation (a copy of the data) and ``type`` are safe."""
    if tuple(tokens) == ("type",):
        return False
    if len(tokens) < 2 or tokens[0] != "metadata":
        return True
    if tokens[1] in ("name", "namespace", "labels", "generateName"):
        return False
    return tokens[1] != "annotations" or len(tokens) < 3 or tokens[2] == LAST_APPLIED


def _pointer(tokens: Location) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def _tokens(pointer: str) -> list[str]:
    return list(jsonpatch.JsonPointer(pointer).parts)


def _value_at(document: Any, tokens: Location) -> Any:
    node = document
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and str(token).isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return _MISSING
    return node


def _shown(value: Any, tokens: Location, secret: bool) -> str:
    """A value for a one-line record: strings as they are, anything else as compact JSON."""
    if secret and _shows_secret_data(tokens):
        return SECRET_VALUE
    if value is _MISSING:
        return ABSENT
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return _truncated(_one_line(text), _MAX_VALUE)


def _values_summary(leaves: Sequence[Location], values: Sequence[Any], secret: bool) -> str:
    parts = [
        f"{_pointer(leaf)}: {_shown(value, leaf, secret)}"
        for leaf, value in zip(leaves, values, strict=True)
    ]
    return _truncated("; ".join(parts), _MAX_SUMMARY)


def _patch_summary(operations: Sequence[Mapping[str, Any]], obj: Object) -> tuple[str, str]:
    """Before: the values at the paths the patch changes. After: the operations applied."""
    secret = is_secret_object(obj)
    paths: list[str] = []
    steps: list[str] = []
    for op in operations:
        paths.extend(p for p in (op.get("from"), op["path"]) if p is not None and p not in paths)
        step = f"{op['op']} {op['path']}"
        if "value" in op:
            step += f": {_shown(op['value'], _tokens(op['path']), secret)}"
        if "from" in op:
            step += f" from {op['from']}"
        steps.append(step)
    befores = [_value_at(obj, _tokens(p)) for p in paths]
    before = _values_summary([_tokens(p) for p in paths], befores, secret)
    return before, _truncated("; ".join(steps), _MAX_SUMMARY)


def _patch_failure(
    label: str, number: int, patch: jsonpatch.JsonPatch, obj: Object, error: Exception
) -> str:
    """Why an operation failed, without the document jsonpointer quotes after a missing
    member; for a Secret, only the error's type if the message could still hold a value."""
    op = next(iter(patch))
    reason = _QUOTED_DOCUMENT.sub(r"\1", _one_line(str(error)))
    if is_secret_object(obj) and _mentions_secret_data(reason, obj):
        reason = type(error).__name__
    where = f"{label}: jsonPatch operation {number} ({op['op']} {op['path']})"
    return _truncated(f"{where}: {reason}", _MAX_REASON)


def _mentions_secret_data(text: str, obj: Object) -> bool:
    values = [
        value
        for field in ("data", "stringData")
        if isinstance(obj.get(field), dict)
        for value in obj[field].values()
    ]
    return any(isinstance(value, str) and value in text for value in values)


def _labels(obj: Object) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _truncated(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(number: int, name: Any) -> str:
    return f"rule {number} ({name})" if isinstance(name, str) and name else f"rule {number}"


# -- loading: every check before anything runs ----------------------------------------------


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
        return f"must be {expected}, not {_truncated(found, _MAX_VALUE)}"
    if error.validator == "type":
        return f"expected {_a(str(error.validator_value))}, found {_a(_json_kind(error.instance))}"
    if error.validator == "pattern":  # only JSON pointers have a pattern
        return f"{json.dumps(error.instance)} is not a JSON pointer (like /spec/replicas)"
    return _truncated(_one_line(error.message), _MAX_REASON)


def _json_kind(value: Any) -> str:
    """A loaded value's JSON Schema type name, as the schema's own messages would use."""
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), "null")


def _a(noun: str) -> str:
    if noun == "null":
        return noun
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _build_rule(number: int, raw: dict[str, Any], source: str) -> Rule:
    try:
        match = _build_match(raw.get("match") or {})
        action = _build_action(raw)
    except UsageError as error:
        label = _label(number, raw.get("name"))
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
            raise UsageError(f"jsonPatch[{number - 1}]: {_one_line(str(error))}") from None
    return JsonPatchAction(tuple(built))


def _located(source: str, document: Any, location: Location, reason: str) -> UsageError:
    """``FILE: rule N (NAME): WHERE: REASON`` for a location in the loaded document."""
    where = list(location)
    prefix = ""
    index = _rule_index(where)
    if index >= 0:
        raw = document["rules"][index]
        prefix = _label(index + 1, raw.get("name") if isinstance(raw, dict) else None) + ": "
        where = where[2:]
    rendered = render_path(tuple(where))
    return _refused(source, f"{prefix}{rendered}: {reason}" if rendered else f"{prefix}{reason}")


def _refused(source: str, reason: str, hint: str | None = None) -> UsageError:
    return UsageError(_one_line(f"{source}: {reason}"), hint=hint or _HINT)
