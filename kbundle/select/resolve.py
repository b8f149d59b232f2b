"""Turn a selection as a user gives it (kind names, ``KIND/NAME``, a selector string) into a
SelectionRequest.

Kind names are resolved against the cluster's discovery the way kubectl does
(``deploy``, ``deployments``, ``deployments.apps``, ``widgets.example.com``), so a typo is a
clear error before anything is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from kbundle.cluster.discovery import ApiResource, Discovery
from kbundle.core.errors import UsageError
from kbundle.core.model import ObjectRef, SelectionInfo
from kbundle.core.selectors import Selector, parse_selector
from kbundle.select.plan import SelectionRequest
from kbundle.select.selection import Selection

CLUSTER_RESOURCE_MODES = ("auto", "true", "false")

__all__ = ["CLUSTER_RESOURCE_MODES", "Selection", "resolve_selection"]


def resolve_selection(
    flags: Selection, discovery: Discovery, default_namespace: str, context: str
) -> tuple[SelectionRequest, SelectionInfo]:
    """Validate and resolve ``flags``; raise UsageError naming the culprit."""
    if flags.include_cluster_resources not in CLUSTER_RESOURCE_MODES:
        raise UsageError(
            f"--include-cluster-resources={flags.include_cluster_resources}: "
            "expected auto, true or false"
        )
    if flags.all_namespaces and flags.namespaces:
        raise UsageError("-A/--all-namespaces and -n/--namespace cannot be combined")
    if flags.objects and flags.all_namespaces:
        raise UsageError("--object takes one namespace (-n), not -A")
    if flags.objects and len(flags.namespaces) > 1:
        raise UsageError("--object takes one namespace (-n), not several")
    selector = parse_selector(flags.selector) if flags.selector else Selector()
    namespaces = _namespaces(flags, default_namespace)
    include = _kinds(flags.include_kinds, discovery, context, "--include-kinds")
    exclude = _kinds(flags.exclude_kinds, discovery, context, "--exclude-kinds") or frozenset()
    roots = tuple(
        _root(
            text, discovery, context, flags.namespaces[0] if flags.namespaces else default_namespace
        )
        for text in flags.objects
    )
    request = SelectionRequest(
        namespaces=namespaces,
        selector=selector,
        include_kinds=include,
        exclude_kinds=exclude,
        roots=roots,
        cluster_resources=flags.include_cluster_resources,
        include_owned=flags.include_owned,
    )
    info = SelectionInfo(
        namespaces=tuple(sorted(namespaces)) if namespaces is not None else (),
        all_namespaces=namespaces is None,
        label_selector=flags.selector,
        include_kinds=tuple(sorted(include)) if include is not None else (),
        exclude_kinds=tuple(sorted(exclude)),
        objects=tuple(str(r) for r in roots),
        include_cluster_resources=flags.include_cluster_resources,
        include_owned=flags.include_owned,
        keep_status=flags.keep_status,
        keep_last_applied=flags.keep_last_applied,
    )
    return request, info


def _namespaces(flags: Selection, default_namespace: str) -> frozenset[str] | None:
    if flags.all_namespaces:
        return None
    return frozenset(flags.namespaces or (default_namespace,))


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _kinds(
    values: Sequence[str], discovery: Discovery, context: str, flag: str
) -> frozenset[str] | None:
    names = _split(values)
    if not names:
        return None
    kinds: set[str] = set()
    for name in names:
        kinds |= {r.group_kind for r in _resolve(name, discovery, context, flag)}
    return frozenset(kinds)


def _resolve(name: str, discovery: Discovery, context: str, flag: str) -> list[ApiResource]:
    matches = discovery.resolve(name)
    if not matches:
        raise UsageError(
            f"{flag} {name}: no such kind in context {context}",
            hint="see `kubectl api-resources` for the names the cluster serves",
        )
    return matches


def _root(text: str, discovery: Discovery, context: str, namespace: str) -> ObjectRef:
    kind, slash, name = text.partition("/")
    if not slash or not kind or not name or "/" in name:
        raise UsageError(f"--object {text}: expected KIND/NAME, e.g. deployment/api")
    matches = _resolve(kind, discovery, context, "--object")
    if len(matches) > 1:
        choices = ", ".join(sorted(r.group_resource for r in matches))
        raise UsageError(f"--object {text}: {kind} is ambiguous ({choices}); name the group")
    resource = matches[0]
    return ObjectRef(resource.group, resource.kind, namespace if resource.namespaced else "", name)
