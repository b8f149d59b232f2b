"""Why an object came along: one line per edge of the dependency closure.

The manifest records a reason for every cluster-scoped object of a bundle, so that a CRD or a
ClusterRole nobody asked for by name can be traced to what needed it. A reason names objects
only, never their content (so never a Secret value), and the closure picks it the same way on
every run (``chosen``), whatever order the cluster listed objects in.
"""

from __future__ import annotations

import functools
from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from kbundle.core.model import ObjectRef
from kbundle.select.facts import ObjectFacts

# How one object needs another, strongest reason first (the order decides between two
# objects that needed the same target equally early).
CUSTOM_RESOURCE = "custom-resource"  # the CRD of a custom resource
OWNER = "owner"  # an ownerReference
NAMESPACE = "namespace"  # the Namespace of a namespaced object
REFERENCE = "reference"  # named in the object (a volume's class, a pod's account...)
ROLE = "role"  # the Role or ClusterRole a binding grants
BINDING = "binding"  # a binding naming a ServiceAccount
GRANT = "grant"  # a CRD named by a role bound to a ServiceAccount
SELECTS = "selects"  # a Service or PodDisruptionBudget selecting a workload's pods
SCALES = "scales"  # an autoscaler targeting a workload
CLAIM = "claim"  # an existing claim of a StatefulSet's claim templates
ENDPOINTS = "endpoints"  # hand-written endpoints of a Service without a selector
_ORDER = (
    CUSTOM_RESOURCE,
    OWNER,
    NAMESPACE,
    REFERENCE,
    ROLE,
    BINDING,
    GRANT,
    SELECTS,
    SCALES,
    CLAIM,
    ENDPOINTS,
)
_RANK = {how: rank for rank, how in enumerate(_ORDER)}

NAMESPACE_OF_SELECTION = "namespace of the selection"
ALL_CLUSTER_SCOPED = "selected: --include-cluster-resources=true"


@dataclass(frozen=True)
class Need:
    """One edge: ``target`` is needed, and how. A grant goes through a binding and a role
    (``via``), which the reason names."""

    target: ObjectFacts
    how: str
    via: tuple[ObjectRef, ...] = ()


Referral = tuple[ObjectRef, Need]  # the object that needs the target, and how


@dataclass(frozen=True, order=True)
class Pick:
    """The referral a reason names, ranked against the picks of other plans of the same
    bundle (an export planned one namespace at a time): fewer steps from the selection
    first, then as ``chosen`` ranks referrals."""

    steps: int
    dropped: bool  # the referrer is not in the bundle
    rank: int  # of the kind of edge, strongest first
    referrer: ObjectRef
    need: Need = field(compare=False)

    @property
    def reason(self) -> str:
        return because(self.referrer, self.need)


def pick(referrals: Sequence[Referral], kept: Container[ObjectRef], steps: int = 0) -> Pick:
    """The referral among ``referrals``, all ``steps`` from the selection, that the reason
    names: one from an object the bundle ``kept`` (not a Pod its Deployment recreates), then
    the strongest kind of edge, then the smallest referrer."""
    return min(
        Pick(steps, referrer not in kept, _RANK[need.how], referrer, need)
        for referrer, need in referrals
    )


def chosen(referrals: Sequence[Referral], kept: Container[ObjectRef]) -> str:
    """The reason ``pick`` names among ``referrals``."""
    return pick(referrals, kept).reason


def because(referrer: ObjectRef, need: Need) -> str:
    """``need.target`` came along because of ``referrer``, in one line."""
    who = named(referrer)
    if need.how == GRANT:
        binding, role = need.via
        return f"named by {named(role)}, bound to {who} by {named(binding)}"
    return {
        CUSTOM_RESOURCE: f"CRD of custom resource {who}",
        OWNER: f"owner of {who}",
        NAMESPACE: f"namespace of {who}",
        REFERENCE: f"named by {who}",
        ROLE: f"granted by {who}",
        BINDING: f"binding of {who}",
        SELECTS: f"selects the pods of {who}",
        SCALES: f"scales {who}",
        CLAIM: f"claim of {who}",
        ENDPOINTS: f"endpoints of {who}",
    }[need.how]


def root(ref: ObjectRef) -> str:
    return f"root: --object {named(ref)}"


@functools.cache
def in_namespace(namespace: str, *, labelled: bool) -> str:
    """One string per namespace, shared by its objects (a plan holds one per object)."""
    return f"selected: namespace {namespace}" + (", matching -l" if labelled else "")


def named(ref: ObjectRef) -> str:
    """``ClusterRole operator``, ``ServiceAccount shop/operator``, ``Widget.example.com
    shop/w``: Kubernetes' own kinds by kind alone, others with their group."""
    builtin = "." not in ref.group or ref.group.endswith(".k8s.io")
    where = f"{ref.namespace}/" if ref.namespace else ""
    return f"{ref.kind if builtin else ref.group_kind} {where}{ref.name}"
