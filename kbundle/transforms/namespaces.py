"""``--map-namespace old=new``: move objects to new namespaces and follow every reference.

Changing ``metadata.namespace`` is the easy part, and the part other tools stop at. A
namespace is also named by binding subjects, a volume's claimRef, webhook and APIService
service references, selectors on the ``kubernetes.io/metadata.name`` label, and the DNS names
of services (``api.shop.svc``) inside env values, ConfigMaps, Ingresses and custom resources.
Left stale, each fails quietly in the destination: a binding grants nothing, a volume never
binds, a webhook times out, an application resolves a name that no longer exists.

Pure: a call returns a rewritten deep copy and records every change. Secrets are never
scanned (their values are opaque, often base64), so no Secret value can reach a ``Rewrite``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.core.fieldpath import Path, Segment, dict_at, dicts, get, indices, render_path
from kbundle.core.kinds import (
    NAMESPACE,
    SERVICE,
    GroupKind,
    group_kind_of,
    pod_containers,
    pod_spec,
)
from kbundle.core.model import Object, ObjectRef
from kbundle.core.names import NAMESPACE_NAME
from kbundle.transforms.base import TransformContext

FLAG = "--map-namespace"
NAME = "map-namespace"
NAME_LABEL = "kubernetes.io/metadata.name"  # the apiserver sets it to the namespace's name

_HINT = f"give each mapping as OLD=NEW, e.g. {FLAG} shop=shop-restored"
_CHAIN = "chained mappings depend on their order; map each namespace to its final name"


# -- parsing the flag -----------------------------------------------------------------------


def parse_namespace_mappings(values: Sequence[str]) -> dict[str, str]:
    """``["shop=shop-restored"]`` -> ``{"shop": "shop-restored"}``.

    Refuses every mapping whose result would depend on the order mappings are applied in
    (duplicates, merges, chains), so applying them all at once is well defined and a second
    application changes nothing.
    """
    mapping: dict[str, str] = {}
    for value in values:
        old, new = _split(value)
        _check_against(value, old, new, mapping)
        mapping[old] = new
    return mapping


def _split(value: str) -> tuple[str, str]:
    old, equals, new = value.partition("=")
    if not equals:
        raise _usage(value, "expected OLD=NEW")
    for name in (old, new):
        problem = NAMESPACE_NAME.problem(name)
        if problem is not None:
            raise _usage(value, f"{name!r} {problem}")
    return old, new


def _check_against(value: str, old: str, new: str, earlier: Mapping[str, str]) -> None:
    """Refuse ``value`` if, together with the ``earlier`` mappings, order would matter."""
    if old == new:
        raise _usage(value, f"maps {old!r} to itself")
    if old in earlier:
        raise _usage(value, f"{old!r} is already mapped to {earlier[old]!r}")
    merged = [o for o, n in earlier.items() if n == new]
    if merged:
        raise _usage(value, f"{merged[0]!r} is already mapped to {new!r}")
    if new in earlier:
        raise _usage(value, f"{new!r} is itself mapped to {earlier[new]!r}: {_CHAIN}")
    chained = [o for o, n in earlier.items() if n == old]
    if chained:
        raise _usage(value, f"{chained[0]!r} is already mapped to {old!r}: {_CHAIN}")


def _usage(value: str, problem: str) -> UsageError:
    """One line naming the value exactly as given (escaped if it holds a line break)."""
    shown = value if value.isprintable() else repr(value)
    return UsageError(f"{FLAG} {shown}: {problem}", hint=_HINT)


# -- the transform --------------------------------------------------------------------------


@dataclass(frozen=True)
class NamespaceMapping:
    """Rename namespaces and rewrite every reference to them (``--map-namespace``)."""

    mapping: Mapping[str, str]  # old -> new, validated
    name: str = NAME
    _patterns: _Patterns | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validated again so a mapping built by hand cannot skip the order checks, and copied
        # so the caller's dict cannot change behind a frozen object.
        checked = parse_namespace_mappings([f"{o}={n}" for o, n in self.mapping.items()])
        object.__setattr__(self, "mapping", MappingProxyType(checked))
        object.__setattr__(self, "_patterns", _Patterns.of(checked) if checked else None)

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        """A rewritten deep copy of ``obj``; each change is recorded in ``context``."""
        result = copy.deepcopy(obj)
        if self._patterns is None:
            return result
        ref = ObjectRef.of(obj)

        def record(path: str, before: str, after: str) -> None:
            context.record(self.name, ref, path, before, after)

        rewriter = _Rewriter(self.mapping, self._patterns, record)
        for rule in _SECRET_RULES if group_kind_of(obj) == ("", "Secret") else RULES:
            rule(result, rewriter)
        return result

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"mapping": dict(self.mapping)}}


def namespace_mapping(args: Mapping[str, Any]) -> NamespaceMapping:
    """The rules-file form: ``{mapping: {old: new}}``."""
    mapping = args.get("mapping")
    if not isinstance(mapping, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise UsageError("map-namespace: args.mapping must map old namespace names to new ones")
    return NamespaceMapping(dict(mapping))


@dataclass(frozen=True)
class _Patterns:
    """Where a mapped namespace appears inside DNS names."""

    # <svc>.<old>.svc[...]: one label or more before (service, pod.service), whole labels only.
    service: re.Pattern[str]
    # <old>.svc[...] as a whole search domain (pod dnsConfig.searches).
    search: re.Pattern[str]

    @classmethod
    def of(cls, mapping: Mapping[str, str]) -> _Patterns:
        olds = "|".join(re.escape(old) for old in sorted(mapping, key=len, reverse=True))
        svc = r"(?=\.svc(?![A-Za-z0-9_-]))"
        return cls(
            service=re.compile(rf"(?<=[A-Za-z0-9]\.)({olds}){svc}"),
            search=re.compile(rf"^({olds}){svc}"),
        )


@dataclass(frozen=True)
class _Rewriter:
    """Replaces one value at a time and records it under its path."""

    mapping: Mapping[str, str]
    patterns: _Patterns
    record: Callable[[str, str, str], None]

    def namespace(self, parent: Any, key: Segment, path: Path) -> None:
        """A value that *is* a namespace name."""
        self._replace(parent, key, path, lambda text: self.mapping.get(text, text))

    def dns_names(self, parent: Any, key: Segment, path: Path) -> None:
        """Free text that may hold service DNS names (``http://api.shop.svc:8080/x``)."""
        self._replace(parent, key, path, lambda text: self._sub(self.patterns.service, text))

    def search_domain(self, parent: Any, key: Segment, path: Path) -> None:
        """A DNS search domain (``shop.svc.cluster.local``)."""
        self._replace(parent, key, path, lambda text: self._sub(self.patterns.search, text))

    def _sub(self, pattern: re.Pattern[str], text: str) -> str:
        return pattern.sub(lambda match: self.mapping[match.group(1)], text)

    def _replace(self, parent: Any, key: Segment, path: Path, change: Callable[[str], str]) -> None:
        before = get(parent, key)
        if not isinstance(before, str):
            return
        after = change(before)
        if after != before:
            parent[key] = after
            self.record(render_path(path), before, after)


# -- the rules: one kind of reference each, in the order they run ---------------------------

Rule = Callable[[Object, _Rewriter], None]

BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})
WEBHOOK_CONFIGURATIONS = frozenset(
    {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}
)
NETWORKING = frozenset({"networking.k8s.io", "extensions"})  # extensions: before 1.22

# Dicts naming a Service (``namespace``, ``name``) outside webhook lists.
SERVICE_REFERENCES: dict[GroupKind, tuple[Path, ...]] = {
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (
        ("spec", "conversion", "webhook", "clientConfig", "service"),  # v1
        ("spec", "conversion", "webhookClientConfig", "service"),  # v1beta1
    ),
    ("apiregistration.k8s.io", "APIService"): (("spec", "service"),),
}

SET_OPERATORS = frozenset({"In", "NotIn"})  # Exists/DoesNotExist name no namespace
AFFINITIES = ("podAffinity", "podAntiAffinity")
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"

# Groups the apiserver itself serves; any other group is a custom (or aggregated) resource.
BUILT_IN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "extensions",
        *(
            f"{name}.k8s.io"
            for name in (
                "admissionregistration",
                "apiextensions",
                "apiregistration",
                "authentication",
                "authorization",
                "certificates",
                "coordination",
                "discovery",
                "events",
                "flowcontrol.apiserver",
                "internal.apiserver",
                "metrics",
                "networking",
                "node",
                "rbac.authorization",
                "resource",
                "scheduling",
                "storage",
                "storagemigration",
            )
        ),
    }
)


def _object_namespace(obj: Object, rw: _Rewriter) -> None:
    """Objects of a mapped namespace move with it."""
    rw.namespace(obj.get("metadata"), "namespace", ("metadata", "namespace"))


def _namespace_object(obj: Object, rw: _Rewriter) -> None:
    """The Namespace is renamed, with its name label: a stale label would make selectors on
    ``kubernetes.io/metadata.name`` match a namespace by its old name."""
    if group_kind_of(obj) != NAMESPACE:
        return
    rw.namespace(obj.get("metadata"), "name", ("metadata", "name"))
    labels = dict_at(obj, "metadata", "labels")
    rw.namespace(labels, NAME_LABEL, ("metadata", "labels", NAME_LABEL))


def _binding_subjects(obj: Object, rw: _Rewriter) -> None:
    """ServiceAccount subjects, else the binding grants nothing in the destination. A subject
    without ``namespace`` means the binding's own, which moves by itself: left absent."""
    group, kind = group_kind_of(obj)
    if group != "rbac.authorization.k8s.io" or kind not in BINDINGS:
        return
    for i, subject in dicts(obj, "subjects"):
        if subject.get("kind") == "ServiceAccount":
            rw.namespace(subject, "namespace", ("subjects", i, "namespace"))


def _persistent_volume(obj: Object, rw: _Rewriter) -> None:
    """The claim a volume is reserved for (a stale one never binds), and the Secrets of its
    volume source (``*SecretRef``/``secretRef``, azureFile's ``secretNamespace``), which are
    exported with the volume and so move with their namespace."""
    if group_kind_of(obj) != ("", "PersistentVolume"):
        return
    rw.namespace(dict_at(obj, "spec", "claimRef"), "namespace", ("spec", "claimRef", "namespace"))
    spec = dict_at(obj, "spec") or {}
    for source_name, source in spec.items():
        if not isinstance(source, dict) or source_name == "claimRef":
            continue
        at = ("spec", source_name)
        rw.namespace(source, "secretNamespace", (*at, "secretNamespace"))
        for key, reference in source.items():
            if key.lower().endswith("secretref") and isinstance(reference, dict):
                rw.namespace(reference, "namespace", (*at, key, "namespace"))


def _admission_webhooks(obj: Object, rw: _Rewriter) -> None:
    """The Service each webhook calls, and its namespaceSelector (commonly ``NotIn`` a list
    of namespaces to exempt)."""
    group, kind = group_kind_of(obj)
    if group != "admissionregistration.k8s.io" or kind not in WEBHOOK_CONFIGURATIONS:
        return
    for i, webhook in dicts(obj, "webhooks"):
        at = ("webhooks", i)
        service = dict_at(webhook, "clientConfig", "service")
        rw.namespace(service, "namespace", (*at, "clientConfig", "service", "namespace"))
        _selector(rw, webhook.get("namespaceSelector"), (*at, "namespaceSelector"))


def _service_references(obj: Object, rw: _Rewriter) -> None:
    """CRD conversion webhooks and APIServices: the apiserver calls these Services."""
    for path in SERVICE_REFERENCES.get(group_kind_of(obj), ()):
        rw.namespace(dict_at(obj, *path), "namespace", (*path, "namespace"))


def _network_policy_peers(obj: Object, rw: _Rewriter) -> None:
    """Peers chosen by namespace name: stale, the policy admits or blocks the wrong traffic."""
    group, kind = group_kind_of(obj)
    if kind != "NetworkPolicy" or group not in NETWORKING:
        return
    spec = dict_at(obj, "spec")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in dicts(spec, direction):
            for j, peer in dicts(rule, peers):
                at = ("spec", direction, i, peers, j, "namespaceSelector")
                _selector(rw, peer.get("namespaceSelector"), at)


def _selector(rw: _Rewriter, selector: Any, path: Path) -> None:
    """Terms on the namespace name label: ``matchLabels`` and ``In``/``NotIn`` expressions."""
    if not isinstance(selector, dict):
        return
    rw.namespace(selector.get("matchLabels"), NAME_LABEL, (*path, "matchLabels", NAME_LABEL))
    for i, expression in dicts(selector, "matchExpressions"):
        if expression.get("key") != NAME_LABEL or expression.get("operator") not in SET_OPERATORS:
            continue
        values = expression.get("values")
        for j in indices(expression, "values"):
            rw.namespace(values, j, (*path, "matchExpressions", i, "values", j))


def _pod_affinity(obj: Object, rw: _Rewriter) -> None:
    """(Anti-)affinity terms name the namespaces whose pods they match."""
    found = pod_spec(obj)
    if found is None:
        return
    for term, at in _affinity_terms(*found):
        names = term.get("namespaces")
        for j in indices(term, "namespaces"):
            rw.namespace(names, j, (*at, "namespaces", j))
        _selector(rw, term.get("namespaceSelector"), (*at, "namespaceSelector"))


def _affinity_terms(spec: dict[str, Any], path: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    for kind in AFFINITIES:
        affinity = dict_at(spec, "affinity", kind)
        at = (*path, "affinity", kind)
        for i, term in dicts(affinity, REQUIRED):
            yield term, (*at, REQUIRED, i)
        for i, weighted in dicts(affinity, PREFERRED):
            inner = dict_at(weighted, "podAffinityTerm")
            if inner is not None:
                yield inner, (*at, PREFERRED, i, "podAffinityTerm")


def _container_dns_names(obj: Object, rw: _Rewriter) -> None:
    """Env values, commands and args: where applications are told which service to call."""
    for container, at in pod_containers(obj):
        for j, variable in dicts(container, "env"):
            rw.dns_names(variable, "value", (*at, "env", j, "value"))
        for words in ("command", "args"):
            for j in indices(container, words):
                rw.dns_names(container[words], j, (*at, words, j))


def _dns_search_domains(obj: Object, rw: _Rewriter) -> None:
    """``dnsConfig.searches`` entries such as ``shop.svc.cluster.local``: short names like
    ``api`` resolve through them."""
    found = pod_spec(obj)
    if found is None:
        return
    spec, path = found
    dns_config = dict_at(spec, "dnsConfig")
    searches = get(dns_config, "searches")
    for j in indices(dns_config, "searches"):
        rw.search_domain(searches, j, (*path, "dnsConfig", "searches", j))


def _config_map_data(obj: Object, rw: _Rewriter) -> None:
    """Text configuration (``data``; ``binaryData`` is opaque)."""
    if group_kind_of(obj) != ("", "ConfigMap"):
        return
    data = dict_at(obj, "data")
    for key in list(data or {}):
        rw.dns_names(data, key, ("data", key))


def _ingress(obj: Object, rw: _Rewriter) -> None:
    """Controller annotations (upstreams, snippets), rule hosts and, to keep TLS matching the
    rules, TLS hosts."""
    group, kind = group_kind_of(obj)
    if kind != "Ingress" or group not in NETWORKING:
        return
    annotations = dict_at(obj, "metadata", "annotations")
    for key in list(annotations or {}):
        rw.dns_names(annotations, key, ("metadata", "annotations", key))
    spec = dict_at(obj, "spec")
    for i, rule in dicts(spec, "rules"):
        rw.dns_names(rule, "host", ("spec", "rules", i, "host"))
    for i, tls in dicts(spec, "tls"):
        for j in indices(tls, "hosts"):
            rw.dns_names(tls["hosts"], j, ("spec", "tls", i, "hosts", j))


def _external_name(obj: Object, rw: _Rewriter) -> None:
    """An ExternalName Service is a CNAME, often to a service of another namespace."""
    if group_kind_of(obj) == SERVICE:
        rw.dns_names(dict_at(obj, "spec"), "externalName", ("spec", "externalName"))


def _custom_resource_spec(obj: Object, rw: _Rewriter) -> None:
    """Every string in a custom resource's spec: operators are commonly given service URLs,
    and their schemas are unknown here."""
    group, _ = group_kind_of(obj)
    if group in BUILT_IN_GROUPS:
        return
    stack: list[tuple[Any, Segment, Path]] = [(obj, "spec", ("spec",))]
    while stack:  # iterative: nesting depth is the bundle author's to choose
        parent, key, path = stack.pop()
        value = get(parent, key)
        if isinstance(value, str):
            rw.dns_names(parent, key, path)
        elif isinstance(value, dict):
            stack.extend((value, k, (*path, k)) for k in reversed(list(value)))
        elif isinstance(value, list):
            stack.extend((value, i, (*path, i)) for i in reversed(range(len(value))))


RULES: tuple[Rule, ...] = (
    _object_namespace,
    _namespace_object,
    _binding_subjects,
    _persistent_volume,
    _admission_webhooks,
    _service_references,
    _network_policy_peers,
    _pod_affinity,
    _container_dns_names,
    _dns_search_domains,
    _config_map_data,
    _ingress,
    _external_name,
    _custom_resource_spec,
)

# A Secret only moves: its values are never read, so none can appear in a report.
_SECRET_RULES: tuple[Rule, ...] = (_object_namespace,)
