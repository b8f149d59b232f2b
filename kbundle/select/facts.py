"""What one object says about its relations: owners, names it depends on, pods it selects.

Extracted once per object while the cluster is read, so that selection and dependency
closure run on small facts, not on whole objects (which stay spooled on disk).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kbundle.core.fieldpath import dict_at
from kbundle.core.kinds import CUSTOM_POD_LOCATIONS, containers, pod_location
from kbundle.core.model import Object, ObjectRef, group_of
from kbundle.core.rbac import RBAC, crd_names, role_of, service_accounts_of
from kbundle.core.selectors import Selector, from_label_selector, from_map
from kbundle.select.compact import NO_LABELS, Uid, compact_uid, labels_of, shared, shared_ref
from kbundle.select.rules import intrinsic_reason

CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
ENDPOINT_SLICE = ("discovery.k8s.io", "EndpointSlice")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
# Kinds whose objects name nothing and run no pods, whatever they hold (the apiserver keeps
# no other fields on them): a pass looking for references need not read them. (A Secret's
# facts name its ServiceAccount, which such a pass does not look for.)
NAMES_NOTHING = frozenset(
    {
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "Service"),
        ("", "Endpoints"),
        ("discovery.k8s.io", "EndpointSlice"),
    }
)
_SECRET_REF_KEY = re.compile(r"(?i)^(.*secretref|secretkeyref|nodepublishsecretref)$")
_CONFIG_MAP_REF_KEY = re.compile(r"(?i)^(.*configmapref|configmapkeyref)$")


@dataclass(frozen=True, slots=True)
class OwnerLink:
    uid: Uid
    group: str
    kind: str
    name: str
    controller: bool


@dataclass(frozen=True, slots=True)
class KindFacts:
    """What only a few kinds' objects carry, apart: every other object of a cluster would
    otherwise hold seven empty fields (3.7 MiB at 80,000 listed objects)."""

    claim_patterns: tuple[str, ...] = ()  # StatefulSet claims: regexes over PVC names
    scale_target: ObjectRef | None = None  # HPA
    subjects: frozenset[ObjectRef] = frozenset()  # ServiceAccounts a binding names
    role: ObjectRef | None = None  # the Role or ClusterRole a binding grants
    # Role, ClusterRole: the CRDs its rules name. Not references: most name built-in kinds,
    # and only those that exist are dependencies, of the ServiceAccounts it is bound to.
    granted_crds: frozenset[ObjectRef] = frozenset()
    token_for: str | None = None  # ServiceAccount token Secret: the account's name
    listed_secrets: frozenset[str] = frozenset()  # ServiceAccount .secrets


NO_KIND_FACTS = KindFacts()
_KIND_FACT_NAMES = frozenset(KindFacts.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """Everything selection needs to know about one object."""

    ref: ObjectRef
    uid: Uid  # compact: kept for every object of a cluster
    api_version: str
    labels: Mapping[str, str] = NO_LABELS
    owners: tuple[OwnerLink, ...] = ()
    references: frozenset[ObjectRef] = frozenset()  # named dependencies
    pod_labels: Mapping[str, str] | None = None  # labels of the pods it runs
    pod_selector: Selector | None = None  # Service / PDB: the pods it applies to
    intrinsic_skip: str | None = None  # a built-in/derived object recognisable on its own
    custom: bool = False  # a custom resource (served by a CRD)
    kind_facts: KindFacts = NO_KIND_FACTS
    # Where a snapshot's spool keeps the object (-1: nowhere). Here rather than in a table
    # by ref: that was 2.5 MiB at 80,000 listed objects, and this field costs nothing
    # (the facts' 120 bytes are allocated as 128).
    place: int = -1

    # What follows is read off the fields above rather than kept: a field is 8 bytes for
    # every object of a cluster, and three of them took each from 144 to 128 bytes.

    @property
    def service_has_selector(self) -> bool:
        """A Service that selects pods (its Endpoints are the controller's, not its own)."""
        return (
            (self.ref.group, self.ref.kind) == ("", "Service")
            and self.pod_selector is not None
            and not self.pod_selector.empty
        )

    @property
    def service_name(self) -> str | None:
        """Endpoints and EndpointSlices: the Service they serve."""
        kind = (self.ref.group, self.ref.kind)
        if kind == ("", "Endpoints"):
            return self.ref.name
        if kind == ENDPOINT_SLICE:
            return self.labels.get(SERVICE_NAME_LABEL)
        return None

    @property
    def managed_by(self) -> str | None:
        """EndpointSlices: who manages it (its managed-by label)."""
        if (self.ref.group, self.ref.kind) == ENDPOINT_SLICE:
            return self.labels.get(MANAGED_BY_LABEL)
        return None

    @property
    def namespaced(self) -> bool:
        return bool(self.ref.namespace)

    @property
    def claim_patterns(self) -> tuple[str, ...]:
        return self.kind_facts.claim_patterns

    @property
    def scale_target(self) -> ObjectRef | None:
        return self.kind_facts.scale_target

    @property
    def subjects(self) -> frozenset[ObjectRef]:
        return self.kind_facts.subjects

    @property
    def role(self) -> ObjectRef | None:
        return self.kind_facts.role

    @property
    def granted_crds(self) -> frozenset[ObjectRef]:
        return self.kind_facts.granted_crds

    @property
    def token_for(self) -> str | None:
        return self.kind_facts.token_for

    @property
    def listed_secrets(self) -> frozenset[str]:
        return self.kind_facts.listed_secrets


def facts_of(obj: Object, *, crd_name: str | None = None, place: int = -1) -> ObjectFacts:
    """Facts of ``obj``; ``crd_name`` is set when it is a custom resource of that CRD,
    ``place`` when a spool keeps it."""
    meta = obj.get("metadata") or {}
    ref = ObjectRef.of(obj)
    extras: dict[str, Any] = {}
    pods = list(_pods(obj))
    if pods:
        extras["pod_labels"] = labels_of(pods[0][1])
    references = _references(obj, ref, crd_name, pods, extras)
    rare = {name: extras.pop(name) for name in list(extras) if name in _KIND_FACT_NAMES}
    return ObjectFacts(
        ref=shared_ref(ref),
        uid=compact_uid(meta.get("uid")),
        api_version=sys.intern(str(obj.get("apiVersion", ""))),
        labels=labels_of(meta.get("labels")),
        owners=tuple(
            OwnerLink(
                uid=compact_uid(o.get("uid")),
                group=sys.intern(group_of(str(o.get("apiVersion", "")))),
                kind=sys.intern(str(o.get("kind", ""))),
                name=str(o.get("name", "")),
                controller=bool(o.get("controller")),
            )
            for o in meta.get("ownerReferences") or []
        ),
        references=shared(frozenset(shared_ref(r) for r in references)),
        intrinsic_skip=intrinsic_reason(obj),
        custom=crd_name is not None,
        kind_facts=KindFacts(**rare) if rare else NO_KIND_FACTS,
        place=place,
        **extras,
    )


def named_by(obj: Object) -> set[ObjectRef]:
    """What ``obj`` names, as in its facts, without the rest of them (labels, selectors,
    owners): an import's preflight asks this of every workload of a bundle."""
    ref = ObjectRef.of(obj)
    return _references(obj, ref, None, list(_pods(obj)), {})


def _references(
    obj: Object,
    ref: ObjectRef,
    crd_name: str | None,
    pods: list[tuple[dict[str, Any], dict[str, Any]]],
    extras: dict[str, Any],
) -> set[ObjectRef]:
    """What ``obj`` names; facts its kind adds besides go into ``extras``."""
    group, kind = ref.group, ref.kind
    references: set[ObjectRef] = set()
    for spec, _ in pods:
        references |= _pod_spec_references(spec, ref.namespace)
    specific = _SPECIFIC.get((group, kind))
    if specific is not None:
        references |= specific(obj, ref, extras)
    elif (group, kind) not in _NO_GENERIC_SCAN and (crd_name is not None or not pods):
        references |= set(_generic_references(obj.get("spec"), ref.namespace))
    if crd_name is not None:
        references.add(ObjectRef(*CRD, "", crd_name))
    references.discard(ref)
    return references


# -- pods and pod templates -----------------------------------------------------------------


def _pods(obj: Object) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The spec and labels of each pod the object runs (or is), where its kind keeps them;
    for a kind kbundle does not know, wherever a workload-shaped custom resource could. Only
    a spec with a list of containers counts."""
    place = pod_location(obj)
    for location in CUSTOM_POD_LOCATIONS if place is None else (place,):
        spec = dict_at(obj, *location.spec)
        if spec is not None and isinstance(spec.get("containers"), list):
            yield spec, dict_at(obj, *location.metadata, "labels") or {}


def _pod_spec_references(spec: dict[str, Any], namespace: str) -> set[ObjectRef]:
    found: set[ObjectRef] = set()

    def add(group: str, kind: str, name: Any, ns: str = namespace) -> None:
        if isinstance(name, str) and name:
            found.add(ObjectRef(group, kind, ns, name))

    add(
        "",
        "ServiceAccount",
        spec.get("serviceAccountName") or spec.get("serviceAccount") or "default",
    )
    add("scheduling.k8s.io", "PriorityClass", spec.get("priorityClassName"), "")
    add("node.k8s.io", "RuntimeClass", spec.get("runtimeClassName"), "")
    for secret in spec.get("imagePullSecrets") or []:
        add("", "Secret", secret.get("name"))
    for volume in spec.get("volumes") or []:
        add("", "ConfigMap", (volume.get("configMap") or {}).get("name"))
        add("", "Secret", (volume.get("secret") or {}).get("secretName"))
        add(
            "",
            "PersistentVolumeClaim",
            (volume.get("persistentVolumeClaim") or {}).get("claimName"),
        )
        for source in (volume.get("projected") or {}).get("sources") or []:
            add("", "ConfigMap", (source.get("configMap") or {}).get("name"))
            add("", "Secret", (source.get("secret") or {}).get("name"))
        ephemeral = ((volume.get("ephemeral") or {}).get("volumeClaimTemplate") or {}).get(
            "spec"
        ) or {}
        add("storage.k8s.io", "StorageClass", ephemeral.get("storageClassName"), "")
        for key, value in volume.items():  # csi, cephfs, rbd, iscsi, flexVolume, azureFile...
            if key in ("configMap", "secret", "projected", "persistentVolumeClaim"):
                continue
            found |= set(_generic_references(value, namespace))
    for container, _ in containers(spec):
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            add("", "ConfigMap", (source.get("configMapKeyRef") or {}).get("name"))
            add("", "Secret", (source.get("secretKeyRef") or {}).get("name"))
        for env_from in container.get("envFrom") or []:
            add("", "ConfigMap", (env_from.get("configMapRef") or {}).get("name"))
            add("", "Secret", (env_from.get("secretRef") or {}).get("name"))
    return found


# -- kind-specific relations ----------------------------------------------------------------


def _stateful_set(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    spec = obj.get("spec") or {}
    found = set()
    patterns = []
    for template in spec.get("volumeClaimTemplates") or []:
        claim = (template.get("metadata") or {}).get("name", "")
        patterns.append(rf"^{re.escape(claim)}-{re.escape(ref.name)}-\d+$")
        storage_class = (template.get("spec") or {}).get("storageClassName")
        if storage_class:
            found.add(ObjectRef("storage.k8s.io", "StorageClass", "", storage_class))
    extras["claim_patterns"] = tuple(patterns)
    if spec.get("serviceName"):
        found.add(ObjectRef("", "Service", ref.namespace, spec["serviceName"]))
    return found


def _claim(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    spec = obj.get("spec") or {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    found = set()
    if spec.get("volumeName"):
        found.add(ObjectRef("", "PersistentVolume", "", spec["volumeName"]))
    storage_class = spec.get("storageClassName") or annotations.get(
        "volume.beta.kubernetes.io/storage-class"
    )
    if storage_class:
        found.add(ObjectRef("storage.k8s.io", "StorageClass", "", storage_class))
    source = spec.get("dataSource") or {}
    if source.get("kind") and source.get("name"):
        found.add(
            ObjectRef(source.get("apiGroup") or "", source["kind"], ref.namespace, source["name"])
        )
    return found


def _volume(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    spec = obj.get("spec") or {}
    found = set(_generic_references({k: v for k, v in spec.items() if k != "claimRef"}, ""))
    if spec.get("storageClassName"):
        found.add(ObjectRef("storage.k8s.io", "StorageClass", "", spec["storageClassName"]))
    return found


def _service(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    selector = (obj.get("spec") or {}).get("selector")
    # Interned keys and values: most are those of the pods' labels, kept once already.
    extras["pod_selector"] = shared(from_map(labels_of(selector)))
    return set()


def _ingress(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    spec = obj.get("spec") or {}
    found = set()
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    for rule in spec.get("rules") or []:
        backends += [p.get("backend") for p in (rule.get("http") or {}).get("paths") or []]
    for backend in backends:
        if not backend:
            continue
        service = (backend.get("service") or {}).get("name") or backend.get("serviceName")
        if service:
            found.add(ObjectRef("", "Service", ref.namespace, service))
        resource = backend.get("resource") or {}
        if resource.get("kind") and resource.get("name"):
            found.add(
                ObjectRef(
                    resource.get("apiGroup") or "",
                    resource["kind"],
                    ref.namespace,
                    resource["name"],
                )
            )
    for tls in spec.get("tls") or []:
        if tls.get("secretName"):
            found.add(ObjectRef("", "Secret", ref.namespace, tls["secretName"]))
    if spec.get("ingressClassName"):
        found.add(ObjectRef("networking.k8s.io", "IngressClass", "", spec["ingressClassName"]))
    return found


def _binding(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    role = role_of(obj)
    extras["role"] = role
    extras["subjects"] = service_accounts_of(obj)
    return set() if role is None else {role}


def _role(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    extras["granted_crds"] = frozenset(
        ObjectRef(*CRD, "", name) for name in crd_names(obj.get("rules"))
    )
    return set()


def _service_account(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    extras["listed_secrets"] = frozenset(
        s["name"] for s in obj.get("secrets") or [] if s.get("name")
    )
    return {
        ObjectRef("", "Secret", ref.namespace, s["name"])
        for s in obj.get("imagePullSecrets") or []
        if s.get("name")
    }


def _secret(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    if obj.get("type") == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        extras["token_for"] = annotations.get("kubernetes.io/service-account.name")
    return set()


def _autoscaler(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    target = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    if target.get("kind") and target.get("name"):
        extras["scale_target"] = ObjectRef(
            group_of(target.get("apiVersion", "")), target["kind"], ref.namespace, target["name"]
        )
    return set()


def _disruption_budget(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    extras["pod_selector"] = from_label_selector((obj.get("spec") or {}).get("selector"))
    return set()


def _webhook_configuration(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    found = set()
    for webhook in obj.get("webhooks") or []:
        service = (webhook.get("clientConfig") or {}).get("service") or {}
        if service.get("name") and service.get("namespace"):
            found.add(ObjectRef("", "Service", service["namespace"], service["name"]))
    return found


def _api_service(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    service = (obj.get("spec") or {}).get("service") or {}
    if service.get("name") and service.get("namespace"):
        return {ObjectRef("", "Service", service["namespace"], service["name"])}
    return set()


def _crd(obj: Object, ref: ObjectRef, extras: dict[str, Any]) -> set[ObjectRef]:
    conversion = (obj.get("spec") or {}).get("conversion") or {}
    config = (
        (conversion.get("webhook") or {}).get("clientConfig")
        or conversion.get("webhookClientConfig")
        or {}
    )
    service = config.get("service") or {}
    if service.get("name") and service.get("namespace"):
        return {ObjectRef("", "Service", service["namespace"], service["name"])}
    return set()


_SPECIFIC = {
    ("apps", "StatefulSet"): _stateful_set,
    ("", "PersistentVolumeClaim"): _claim,
    ("", "PersistentVolume"): _volume,
    ("", "Service"): _service,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("extensions", "Ingress"): _ingress,
    (RBAC, "RoleBinding"): _binding,
    (RBAC, "ClusterRoleBinding"): _binding,
    (RBAC, "Role"): _role,
    (RBAC, "ClusterRole"): _role,
    ("", "ServiceAccount"): _service_account,
    ("", "Secret"): _secret,
    ("autoscaling", "HorizontalPodAutoscaler"): _autoscaler,
    ("policy", "PodDisruptionBudget"): _disruption_budget,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): _webhook_configuration,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): _webhook_configuration,
    ("apiregistration.k8s.io", "APIService"): _api_service,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}
# Kinds whose relations are fully described above or by their pod template, with nothing
# worth a generic scan (ConfigMaps, quotas, classes...).
_NO_GENERIC_SCAN = frozenset(
    {
        ("", "ConfigMap"),
        ("", "Endpoints"),  # what they serve is read off their name or labels
        ENDPOINT_SLICE,
        ("", "Namespace"),
        ("", "ResourceQuota"),
        ("", "LimitRange"),
        ("storage.k8s.io", "StorageClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("networking.k8s.io", "IngressClass"),
        ("node.k8s.io", "RuntimeClass"),
    }
)


def _generic_references(value: Any, namespace: str) -> Iterator[ObjectRef]:
    """Names of Secrets, ConfigMaps, ServiceAccounts and typed references anywhere below.

    Used for custom resources and kinds without a specific rule: ``*SecretRef``,
    ``secretName``, ``*ConfigMapRef``, ``configMapName``, ``serviceAccountName``, and
    ``{kind, name, apiVersion|apiGroup}`` mappings.
    """
    if isinstance(value, list):
        for item in value:
            yield from _generic_references(item, namespace)
        return
    if not isinstance(value, dict):
        return
    if (
        isinstance(value.get("kind"), str)
        and isinstance(value.get("name"), str)
        and ("apiVersion" in value or "apiGroup" in value)
    ):
        group = value.get("apiGroup") or group_of(str(value.get("apiVersion") or ""))
        yield ObjectRef(
            str(group), value["kind"], str(value.get("namespace") or namespace), value["name"]
        )
    for key, child in value.items():
        if isinstance(child, str) and child:
            if key == "secretName":
                yield ObjectRef("", "Secret", namespace, child)
            elif key == "configMapName":
                yield ObjectRef("", "ConfigMap", namespace, child)
            elif key == "serviceAccountName":
                yield ObjectRef("", "ServiceAccount", namespace, child)
        elif isinstance(child, dict) and isinstance(child.get("name"), str):
            target_namespace = str(child.get("namespace") or namespace)
            if _SECRET_REF_KEY.match(key):
                yield ObjectRef("", "Secret", target_namespace, child["name"])
                continue
            if _CONFIG_MAP_REF_KEY.match(key):
                yield ObjectRef("", "ConfigMap", target_namespace, child["name"])
                continue
        yield from _generic_references(child, namespace)
