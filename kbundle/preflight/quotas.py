"""ResourceQuotas in the destination's namespaces that the bundle's new objects would exceed.

What the quota has used (its status; for an object count the controller has not counted yet,
the objects counted here) plus what the bundle's objects that do not exist yet would add,
against its hard limits: object counts (``count/<resource>[.<group>]`` and the
older ``configmaps``, ``secrets``, ``services``...), nodePorts and load balancers of
Services, and the storage claims request (also per StorageClass). Objects that already exist
add nothing. Quotas with scopes only count pods, which a bundle does not bring (their
controllers make them), and are left out; so are compute resources, for the same reason.

Costs one list of quotas (one per namespace when the user may not list them everywhere).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from kbundle.cluster import ApiError
from kbundle.core.kinds import SERVICE
from kbundle.core.model import Object, ObjectRef
from kbundle.preflight.model import Code, Finding, Severity, named
from kbundle.preflight.scene import KindInfo, Scene

QUOTA = ("", "ResourceQuota")
CLAIM = ("", "PersistentVolumeClaim")
# Core resources a quota may count by their plain name as well as by count/<name>.
LEGACY_COUNTS = frozenset(
    {
        "configmaps",
        "secrets",
        "services",
        "persistentvolumeclaims",
        "replicationcontrollers",
        "resourcequotas",
        "pods",
    }
)
_SUFFIXES: dict[str, Fraction] = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    **{
        s: Fraction(2 ** (10 * (i + 1))) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))
    },
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+))?([a-zA-Z]*)$")


def quantity(text: object) -> Fraction:
    """A Kubernetes quantity (``3``, ``500m``, ``1Gi``, ``2e3``) as an exact number."""
    match = _QUANTITY.match(str(text).strip())
    if match is None or match[3] not in _SUFFIXES or (match[2] and match[3]):
        raise ValueError(f"not a quantity: {text!r}")
    value = Fraction(match[1]) * _SUFFIXES[match[3]]
    return value * Fraction(10) ** int(match[2]) if match[2] else value


def shown(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def charges(obj: Object, info: KindInfo) -> dict[str, Fraction]:
    """What one new object adds to the quotas of its namespace, by quota resource name."""
    added: dict[str, Fraction] = {f"count/{info.group_resource}": Fraction(1)}
    if not info.group and info.plural in LEGACY_COUNTS:
        added[info.plural] = Fraction(1)
    spec = obj.get("spec") or {}
    if (info.group, info.kind) == SERVICE and spec.get("type") in ("NodePort", "LoadBalancer"):
        added["services.nodeports"] = Fraction(len(spec.get("ports") or []))
        if spec.get("type") == "LoadBalancer":
            added["services.loadbalancers"] = Fraction(1)
    if (info.group, info.kind) == CLAIM:
        requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", 0)
        try:
            storage = quantity(requested)
        except ValueError:  # the apiserver refuses the claim anyway: not a quota matter
            storage = Fraction(0)
        added["requests.storage"] = storage
        if spec.get("storageClassName"):
            per_class = f"{spec['storageClassName']}.storageclass.storage.k8s.io"
            added[f"{per_class}/requests.storage"] = storage
            added[f"{per_class}/persistentvolumeclaims"] = Fraction(1)
    return added


@dataclass(frozen=True)
class Excess:
    resource: str
    hard: Fraction
    used: Fraction
    adding: Fraction

    def describe(self) -> str:
        return (
            f"{self.resource} would reach {shown(self.used + self.adding)}, over its hard "
            f"limit {shown(self.hard)} ({shown(self.used)} used + {shown(self.adding)} from "
            "the bundle)"
        )


def exceeded(
    hard: Mapping[str, object], used: Mapping[str, object], adding: Mapping[str, Fraction]
) -> list[Excess]:
    """The quota resources that ``adding`` would take over their hard limits."""
    found = []
    for resource, amount in sorted(adding.items()):
        if resource not in hard or not amount:
            continue
        try:
            limit, now = quantity(hard[resource]), quantity(used.get(resource, 0))
        except ValueError:
            continue
        if now + amount > limit:
            found.append(Excess(resource, limit, now, amount))
    return found


def check_quotas(scene: Scene) -> list[Finding]:
    adding: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    new_objects: dict[tuple[str, str], list[ObjectRef]] = defaultdict(list)  # (ns, resource)

    def charged(api_version: str, _: str, kind: str, namespace: str) -> bool:
        """Served, namespaced, and not in a namespace the import creates (no quota yet)."""
        served = scene.kinds.get((api_version, kind)) is not None
        return served and bool(namespace) and scene.namespace_exists(namespace) is not False

    for planned in scene.planned.where(charged):
        info = scene.info(planned)
        namespace = planned.ref.namespace
        if info is None or scene.exists(planned) is not False:
            continue
        for resource, amount in charges(planned.obj, info).items():
            adding[namespace][resource] += amount
            new_objects[(namespace, resource)].append(planned.ref)
    if not adding:
        return []
    quotas = _quotas(scene, sorted(adding))
    findings = []
    for quota in quotas:
        ref = ObjectRef.of(quota)
        if (quota.get("spec") or {}).get("scopes") or (quota.get("spec") or {}).get(
            "scopeSelector"
        ):
            continue
        bundled = next((p.obj for p in scene.planned.of_kind(*QUOTA) if p.ref == ref), None)
        hard = {**_hard(quota), **_hard(bundled or {})}
        used = dict((quota.get("status") or {}).get("used") or {})
        for resource in adding[ref.namespace]:
            if resource in hard and resource not in used:
                counted = _count_now(scene, ref.namespace, resource)
                if counted is not None:
                    used[resource] = counted
        for excess in exceeded(hard, used, adding[ref.namespace]):
            objects = new_objects[(ref.namespace, excess.resource)]
            findings.append(
                Finding(
                    Code.QUOTA_EXCEEDED,
                    Severity.BLOCKER,
                    f"ResourceQuota {ref.namespace}/{ref.name}: {excess.describe()}, with "
                    f"{named(objects)}",
                    tuple(sorted(objects)),
                    f"raise {excess.resource} of ResourceQuota {ref.namespace}/{ref.name} to at "
                    f"least {shown(excess.used + excess.adding)}, or free some first",
                )
            )
    return findings


def _count_now(scene: Scene, namespace: str, resource: str) -> int | None:
    """What an object-count quota uses, counted here: the quota controller had not counted
    it yet (a new quota, or a busy controller). None for what cannot be counted so."""
    name = resource.removeprefix("count/")
    if name == resource and name not in LEGACY_COUNTS:
        return None  # storage, nodePorts...: the controller's own arithmetic
    plural, _, group = name.partition(".")
    served = next(
        (
            r
            for r in scene.cluster.discovery().preferred
            if (r.plural, r.group) == (plural, group) and r.namespaced
        ),
        None,
    )
    if served is None:
        return None
    try:
        return len(scene.ask(lambda: scene.cluster.list_objects(served, namespace=namespace)))
    except ApiError:
        return None


def _hard(quota: Object) -> dict[str, object]:
    return dict((quota.get("spec") or {}).get("hard") or {})


def _quotas(scene: Scene, namespaces: list[str]) -> list[Object]:
    """The quotas of ``namespaces``: one list everywhere, else one per namespace."""
    try:
        everywhere = scene.list_all(*QUOTA) or []
        return [q for q in everywhere if q["metadata"].get("namespace") in namespaces]
    except ApiError:
        pass

    def listed(namespace: str) -> list[Object] | ApiError:
        try:
            return scene.list_all(*QUOTA, namespace=namespace) or []
        except ApiError as error:
            return error

    found: list[Object] = []
    for namespace, answer in zip(namespaces, scene.workers.map(listed, namespaces), strict=True):
        if isinstance(answer, ApiError):
            scene.not_checked(f"ResourceQuotas of namespace {namespace}", answer)
        else:
            found += answer
    return found
