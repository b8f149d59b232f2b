"""Rules for Pods, pod templates and the controllers that own them."""

from __future__ import annotations

import re
from typing import Any

from kbundle.clean.core import (
    Target,
    child,
    drop_if_empty,
    list_at,
    pop_keys,
    remove_annotations,
)
from kbundle.core.kinds import POD_LOCATIONS, containers, pod_location

# Kinds that carry templates (CronJob: the job template and the pod template in it).
TEMPLATE_OWNERS = frozenset(kind for kind, place in POD_LOCATIONS.items() if place.templates)

# The ServiceAccount admission plugin's volume on 1.21+ (the 5 characters are random).
_KUBE_API_ACCESS = re.compile(r"kube-api-access-[a-z0-9]{5}")


def drop_deployment_revision(target: Target) -> None:
    remove_annotations(target, "deployment.kubernetes.io/revision")


def drop_node_name(target: Target) -> None:
    pop_keys(child(target.obj, "spec"), "nodeName")


def _injected_token_volumes(spec: dict[str, Any]) -> set[str]:
    """Names of the volumes the ServiceAccount admission plugin added to this Pod."""
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    legacy = re.compile(re.escape(str(account)) + r"-token-[a-z0-9]{5}")
    names = set()
    for volume in list_at(spec, "volumes"):
        if not isinstance(volume, dict):
            continue
        name = str(volume.get("name", ""))
        secret_name = str((child(volume, "secret") or {}).get("secretName", ""))
        legacy_secret = secret_name == name and legacy.fullmatch(name) is not None
        projected = "projected" in volume and _KUBE_API_ACCESS.fullmatch(name) is not None
        if legacy_secret or projected:
            names.add(name)
    return names


def _named(item: Any, names: set[str]) -> bool:
    return isinstance(item, dict) and item.get("name") in names


def drop_injected_token_volume(target: Target) -> None:
    """The destination injects its own token volume; the source's names a foreign Secret."""
    spec = child(target.obj, "spec")
    if spec is None:
        return
    injected = _injected_token_volumes(spec)
    if not injected:
        return
    spec["volumes"] = [v for v in list_at(spec, "volumes") if not _named(v, injected)]
    drop_if_empty(spec, "volumes")
    for container, _ in containers(spec):
        if "volumeMounts" in container:
            mounts = list_at(container, "volumeMounts")
            container["volumeMounts"] = [m for m in mounts if not _named(m, injected)]
            drop_if_empty(container, "volumeMounts")


def drop_generated_job_selector(target: Target) -> None:
    """Remove what the job controller generated from the source Job's UID.

    Unless ``spec.manualSelector`` is true, the apiserver generates ``spec.selector``
    (``controller-uid``) and the template labels ``controller-uid`` and ``job-name``, and
    rejects a create that carries a ``controller-uid`` other than the new Job's. Labels the
    apiserver copied onto the Job itself get the same treatment: left in, the destination
    Job would carry the source UID in its ``controller-uid`` label.
    """
    spec = child(target.obj, "spec")
    if spec is None or spec.get("manualSelector") is True:
        return
    generated_uid = (child(spec, "selector", "matchLabels") or {}).get("controller-uid")
    spec.pop("selector", None)
    template_meta = child(spec, "template", "metadata")
    template_labels = child(template_meta, "labels")
    pop_keys(template_labels, "controller-uid", "job-name")
    drop_if_empty(template_meta, "labels")
    job_labels = child(target.metadata, "labels")
    if (
        generated_uid is not None
        and job_labels
        and job_labels.get("controller-uid") == generated_uid
    ):
        job_labels.pop("controller-uid")
        if job_labels.get("job-name") == target.metadata.get("name"):
            job_labels.pop("job-name")


def drop_template_timestamps(target: Target) -> None:
    """``creationTimestamp: null`` in a template is serialisation noise, never user intent."""
    place = pod_location(target.obj)
    for path in () if place is None else place.templates:
        template = child(target.obj, *path)
        pop_keys(child(template, "metadata"), "creationTimestamp")
        drop_if_empty(template, "metadata")


def clean_claim_templates(target: Target) -> None:
    """A claim template's status and timestamp are defaults, not part of the claim asked for."""
    for claim in list_at(child(target.obj, "spec"), "volumeClaimTemplates"):
        if isinstance(claim, dict):
            claim.pop("status", None)
            pop_keys(child(claim, "metadata"), "creationTimestamp")
            drop_if_empty(claim, "metadata")


def drop_pod_priority(target: Target) -> None:
    """Priority admission fills ``spec.priority`` from the class; a destination whose class
    has another value refuses a Pod that carries the source's number."""
    spec = target.obj.get("spec")
    if isinstance(spec, dict):
        spec.pop("priority", None)


HPA_STATUS_ANNOTATIONS = (
    "autoscaling.alpha.kubernetes.io/conditions",
    "autoscaling.alpha.kubernetes.io/current-metrics",
)


def drop_autoscaler_status_annotations(target: Target) -> None:
    """At autoscaling/v1 the controller's conditions and current metrics ride in annotations:
    status by another name (with timestamps that would make exports differ)."""
    annotations = target.metadata.get("annotations")
    if isinstance(annotations, dict):
        for name in HPA_STATUS_ANNOTATIONS:
            annotations.pop(name, None)
