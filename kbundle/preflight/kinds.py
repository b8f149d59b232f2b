"""Kinds and versions the bundle holds that the destination does not serve and no CRD of the
bundle provides, with what the destination offers for that group and kind instead.

Costs no request: discovery is read once per cluster and shared with the import.
"""

from __future__ import annotations

from collections import defaultdict

from kbundle.cluster import Discovery
from kbundle.core.model import ObjectRef, group_kind, group_of, version_of
from kbundle.preflight.model import Code, Finding, Severity, named
from kbundle.preflight.scene import CRD, Scene


def check_kinds(scene: Scene) -> list[Finding]:
    missing: dict[tuple[str, str], list[ObjectRef]] = defaultdict(list)
    unserved = {
        (v, kind) for v, _, kind, _ in scene.planned.shared() if scene.kinds[(v, kind)] is None
    }
    for planned in scene.planned.where(lambda v, _, kind, __: (v, kind) in unserved):
        missing[(planned.api_version, planned.ref.kind)].append(planned.ref)
    discovery = scene.cluster.discovery()
    bundle_crds = {
        (str(spec.get("group")), str((spec.get("names") or {}).get("kind"))): p.ref.name
        for p in scene.planned.of_kind(*CRD)
        for spec in [p.obj.get("spec") or {}]
    }
    findings = []
    for (api_version, kind), refs in sorted(missing.items()):
        group = group_of(api_version)
        crd = bundle_crds.get((group, kind))
        findings.append(
            Finding(
                Code.KIND_NOT_SERVED,
                Severity.BLOCKER,
                f"{kind} {api_version} is not served: {offer(discovery, group, kind)}"
                + (
                    f", and the bundle's CRD {crd} does not serve {version_of(api_version)}"
                    if crd
                    else ", and the bundle has no CRD for it"
                )
                + f" ({named(refs)})",
                tuple(sorted(refs)),
                f"install the CRD that serves {group_kind(kind, group)} "
                f"{version_of(api_version)} in the destination first, or leave these objects "
                "out with a rules file (--transforms, action drop)",
            )
        )
    return findings


def offer(discovery: Discovery, group: str, kind: str) -> str:
    """What the destination serves instead: the kind at other versions, or the group's
    kinds, or nothing of the group."""
    versions = sorted(
        {r.version for r in discovery.resources if (r.group, r.kind) == (group, kind)}
    )
    if versions:
        return f"the destination serves {group_kind(kind, group)} at {', '.join(versions)} only"
    kinds = sorted({r.kind for r in discovery.resources if r.group == group})
    if kinds:
        shown = ", ".join(kinds[:5]) + (f" and {len(kinds) - 5} more" if len(kinds) > 5 else "")
        return f"the destination serves group {group or 'core'} ({shown}) but not {kind}"
    return f"the destination does not serve group {group or 'core'}"
