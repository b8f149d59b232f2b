"""Admission webhooks of the destination that would refuse the bundle's writes: rules that
match them, failurePolicy Fail, and a Service with no ready endpoints (a frequent cause of
failed restores: the webhook's own pods are not running yet).

Matching follows the apiserver: operations, groups, versions (any, under the default
matchPolicy Equivalent), resources, scope, the namespace's labels (a Namespace's own labels
for a Namespace) and the object's labels. When the namespace's labels cannot be read, a
webhook whose namespaceSelector decides is a warning, not a blocker. Objects import would not
send (already as the bundle wants them, or left alone by ``--existing skip``) meet no webhook.
Webhooks reached by URL cannot be checked from here and are left out.

Costs two lists, and one read of Endpoints per fail-closed webhook that matches; the
bundle's objects are read only when the destination has such a webhook.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kbundle.cluster import ApiError
from kbundle.core.kinds import NAMESPACE
from kbundle.core.model import Object, ObjectRef
from kbundle.core.selectors import from_label_selector
from kbundle.preflight.model import Code, Finding, Severity, named
from kbundle.preflight.scene import Scene

ADMISSION = "admissionregistration.k8s.io"
CONFIGURATIONS = (
    ("ValidatingWebhookConfiguration", "validating"),
    ("MutatingWebhookConfiguration", "mutating"),
)
CREATE, UPDATE = "CREATE", "UPDATE"


@dataclass(frozen=True)
class Write:
    """One write of the import as admission sees it."""

    group: str
    version: str
    plural: str
    namespaced: bool
    operations: tuple[str, ...]  # CREATE, UPDATE, or both when existence is unknown
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str] | None  # None: unknown; a Namespace: its own


def rule_matches(rule: Mapping[str, Any], write: Write, *, equivalent: bool = True) -> bool:
    """Does one of a webhook's rules cover ``write``? Under matchPolicy Equivalent the
    apiserver converts to a version the webhook names, so versions do not decide."""
    operations = rule.get("operations") or []
    if "*" not in operations and not set(write.operations) & set(operations):
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and write.group not in groups:
        return False
    versions = rule.get("apiVersions") or []
    if not equivalent and "*" not in versions and write.version not in versions:
        return False
    if not any(r in ("*", "*/*", write.plural) for r in rule.get("resources") or []):
        return False
    scope = rule.get("scope") or "*"
    return scope == "*" or (scope == "Namespaced") == write.namespaced


def webhook_matches(webhook: Mapping[str, Any], write: Write) -> bool | None:
    """True, False, or None when only the namespace's unknown labels could decide."""
    equivalent = webhook.get("matchPolicy", "Equivalent") == "Equivalent"
    if not any(rule_matches(r, write, equivalent=equivalent) for r in webhook.get("rules") or []):
        return False
    objects = from_label_selector(webhook.get("objectSelector"))
    if objects is not None and not objects.matches(write.labels):
        return False
    namespaces = from_label_selector(webhook.get("namespaceSelector"))
    if namespaces is None or namespaces.empty:
        return True
    if not write.namespaced and (write.group, write.plural) != ("", "namespaces"):
        return True  # cluster-scoped objects: the namespaceSelector does not apply
    if write.namespace_labels is None:
        return None
    return namespaces.matches(write.namespace_labels)


def check_webhooks(scene: Scene) -> list[Finding]:
    """One pass over the writes for every fail-closed webhook the destination has (most
    have none, and then no object is read at all); per webhook, only the refs it matches."""
    webhooks: list[tuple[str, Object, dict[str, Any]]] = []
    unreadable: list[tuple[str, ApiError]] = []
    for kind, how in CONFIGURATIONS:
        try:
            configurations = scene.list_all(ADMISSION, kind) or []
        except ApiError as error:
            unreadable.append((f"{kind}s", error))
            continue
        for configuration in configurations:
            webhooks += [
                (how, configuration, webhook)
                for webhook in configuration.get("webhooks") or []
                if _fails_closed_on_a_service(webhook)
            ]
    surely: list[list[ObjectRef]] = [[] for _ in webhooks]
    maybe: list[list[ObjectRef]] = [[] for _ in webhooks]
    writes = 0
    for ref, write in _writes(scene) if webhooks or unreadable else ():
        writes += 1
        if not webhooks:
            break  # one write is enough to say what could not be checked
        for number, (_, _, webhook) in enumerate(webhooks):
            answer = webhook_matches(webhook, write)
            if answer:
                surely[number].append(ref)
            elif answer is None:
                maybe[number].append(ref)
    if not writes:
        return []
    for what, refused in unreadable:
        scene.not_checked(what, refused)
    findings = []
    for (how, configuration, webhook), sure, unsure in zip(webhooks, surely, maybe, strict=True):
        found = _check_one(scene, (how, configuration, webhook), sorted(sure), sorted(unsure))
        if found is not None:
            findings.append(found)
    return findings


def _fails_closed_on_a_service(webhook: dict[str, Any]) -> bool:
    service = (webhook.get("clientConfig") or {}).get("service")
    return webhook.get("failurePolicy", "Fail") == "Fail" and isinstance(service, dict)


def _check_one(
    scene: Scene,
    found: tuple[str, Object, dict[str, Any]],
    surely: list[ObjectRef],
    maybe: list[ObjectRef],
) -> Finding | None:
    """The finding for one webhook (how it is called, its configuration, itself) and the
    writes it surely or maybe refuses: none when its Service has ready endpoints."""
    if not surely and not maybe:
        return None
    how, configuration, webhook = found
    service = (webhook.get("clientConfig") or {}).get("service") or {}
    namespace, name = str(service.get("namespace", "")), str(service.get("name", ""))
    try:
        if _has_ready_endpoints(scene, namespace, name):
            return None
    except ApiError as error:
        scene.not_checked(f"endpoints of webhook {webhook.get('name')}", error)
        return None
    affected = surely or maybe
    owner = f"{configuration.get('kind')} {configuration['metadata']['name']}"
    return Finding(
        Code.WEBHOOK_UNAVAILABLE,
        Severity.BLOCKER if surely else Severity.WARNING,
        f"{how} webhook {webhook.get('name')} ({owner}) fails closed and its Service "
        f"{namespace}/{name} has no ready endpoints: it {'refuses' if surely else 'may refuse'}"
        f" the writes of {named(affected)}",
        tuple(affected),
        f"start the webhook's backend (Service {namespace}/{name}) first, or remove or "
        f"narrow {owner} (its rules, namespaceSelector or failurePolicy) before importing",
    )


def _has_ready_endpoints(scene: Scene, namespace: str, name: str) -> bool:
    resource = scene.resource("", "Endpoints")
    if resource is None:
        return False
    endpoints = scene.ask(lambda: scene.cluster.get(resource, name, namespace))
    subsets = (endpoints or {}).get("subsets") or []
    return any(subset.get("addresses") for subset in subsets)


def _writes(scene: Scene) -> Iterator[tuple[ObjectRef, Write]]:
    """The writes import would send: not webhook configurations themselves (never sent to
    webhooks), not objects it leaves as they are."""
    for planned in scene.planned:
        info = scene.info(planned)
        if info is None or (info.group == ADMISSION and planned.ref.kind in dict(CONFIGURATIONS)):
            continue
        if scene.sends(planned) is False:
            continue
        exists = scene.exists(planned)
        operations = (UPDATE,) if exists else (CREATE,) if exists is False else (CREATE, UPDATE)
        yield (
            planned.ref,
            Write(
                info.group,
                info.version,
                info.plural,
                info.namespaced,
                operations,
                planned.labels,
                scene.namespace_labels(
                    planned.ref.name
                    if (info.group, info.kind) == NAMESPACE
                    else planned.ref.namespace
                ),
            ),
        )
