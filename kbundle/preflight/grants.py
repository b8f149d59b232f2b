"""What an operator's ServiceAccount is granted that the destination cannot serve.

An operator's Role or ClusterRole names the resources it manages. When the destination
serves none of one such resource's group and the bundle brings no CRD for it, the operator
lands and then fails (crash-loops, or waits for a kind that never appears). A warning, not a
blocker: every object is still accepted, and the CRD may come from the operator's own
install afterwards. Costs no request: discovery is shared with the import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence, Set

from kbundle.core import kinds
from kbundle.core.model import Object, ObjectRef
from kbundle.core.rbac import RBAC, granted_resources
from kbundle.preflight.model import Code, Finding, Severity, named
from kbundle.preflight.scene import CRD, Scene


def check_grants(scene: Scene) -> list[Finding]:
    served = {(r.group, r.plural) for r in scene.cluster.discovery().resources}
    # Only roles, bindings and CRDs matter: the rest is never read from disk.
    wanted = {RBAC, CRD[0]}
    objects = [p.obj for p in scene.planned.where(lambda _, group, __, ___: group in wanted)]
    return grants_not_served(objects, served)


def grants_not_served(objects: Sequence[Object], served: Set[tuple[str, str]]) -> list[Finding]:
    """A warning per resource the roles among ``objects`` grant to ServiceAccounts that is
    neither ``served`` ((group, plural) pairs of the destination) nor a CRD among them."""
    brought = {ObjectRef.of(obj).name for obj in objects if kinds.group_kind_of(obj) == CRD}
    lacking: dict[str, set[ObjectRef]] = defaultdict(set)
    for grant in granted_resources(objects):
        if not grant.group or (grant.group, grant.resource) in served:
            continue
        crd = f"{grant.resource}.{grant.group}"
        if crd not in brought:
            lacking[crd].add(grant.service_account)
    return [
        Finding(
            Code.GRANT_NOT_SERVED,
            Severity.WARNING,
            f"{crd} is granted to {named(sorted(accounts))} by the bundle's roles, but the "
            "destination does not serve it and the bundle has no CRD for it",
            tuple(sorted(accounts)),
            f"export the CRD {crd} with the bundle (kbundle export ... "
            "--include-cluster-resources=auto brings the CRDs an operator's roles name), or "
            "install it in the destination first",
        )
        for crd, accounts in sorted(lacking.items())
    ]
