"""What the apiserver itself would say to the bundle's writes, asked by server dry runs.

Two depths. ``probe_changed`` (the quick checks ``import`` makes first) dry-runs only the
objects that exist and differ from the bundle: those are the ones other field managers may
own fields of (server-side apply conflicts), and a re-import of an unchanged bundle costs no
request here. ``dry_run_everything`` (``kbundle preflight``) runs the importer itself as a
server dry run over every object, so validation, admission and allocation answer too.

A 409 names each other field manager and the fields it owns that the bundle sets, with both
ways out; any other refusal is the server's own words. Objects another check already blocked
are not sent again. Dry runs change nothing in the destination.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from kbundle.apply.decide import Verdict
from kbundle.apply.engine import Importer, LevelObjects, Observation
from kbundle.apply.options import DryRunMode
from kbundle.apply.outage import conflicting_owners, describe
from kbundle.apply.writes import IMMUTABLE_MARKERS
from kbundle.cluster import ApiError, Unreachable
from kbundle.cluster.retry import apply_cannot_type
from kbundle.core.errors import ClusterError
from kbundle.core.model import Object, ObjectRef, ProgressCallback
from kbundle.preflight.model import Code, Finding, Severity, named
from kbundle.preflight.scene import Planned, Scene

TAKE_OVER = (
    "take them over with --force-conflicts, or leave the object as it is with --existing skip"
)
# The server's words for addresses it cannot give, and what each is.
ADDRESS_REFUSALS = (
    ("port is already allocated", Code.NODE_PORT_TAKEN),
    ("IP is already allocated", Code.CLUSTER_IP_TAKEN),
    ("port is not in the valid range", Code.NODE_PORT_OUT_OF_RANGE),
    ("IP is not in the valid range", Code.CLUSTER_IP_OUT_OF_RANGE),
)


def classify(ref: ObjectRef, error: ApiError | Unreachable) -> Finding:
    """The finding a refused dry-run write of ``ref`` makes."""
    if isinstance(error, Unreachable):
        raise error
    owners = conflicting_owners(error)
    if owners:
        held = "; ".join(f'"{manager}" owns {", ".join(fields)}' for manager, fields in owners)
        return Finding(
            Code.FIELD_CONFLICT,
            Severity.BLOCKER,
            f"{ref}: other field managers own fields the bundle sets: {held}",
            (ref,),
            TAKE_OVER,
        )
    words = describe(error)
    for marker, code in ADDRESS_REFUSALS:
        if marker in error.server_message:
            return Finding(
                code,
                Severity.BLOCKER,
                f"{ref} is refused: {words}",
                (ref,),
                "let the destination allocate it: --remove-field spec.ports[*].nodePort for a "
                "nodePort, no --map-ip for a cluster IP",
            )
    if error.status == 422 and any(m in error.server_message for m in IMMUTABLE_MARKERS):
        return Finding(
            Code.SERVER_REFUSED,
            Severity.BLOCKER,
            f"{ref} cannot be updated in place: {words}",
            (ref,),
            "--existing recreate deletes and creates it again (once the server accepts the "
            "new object), or --existing skip leaves it as it is",
        )
    return Finding(
        Code.SERVER_REFUSED,
        Severity.BLOCKER,
        f"{ref} is refused by the destination: {words}",
        (ref,),
        "change what the message names, in the destination or with a transform "
        "(--transforms, --remove-field), before importing",
    )


def settled(earlier: Sequence[Finding]) -> frozenset[ObjectRef]:
    """Objects not worth a dry run: another check blocked them already (one reason is enough
    to act on), or a fail-closed webhook may refuse them (the server would keep answering
    500 until the retry timeout)."""
    return frozenset(
        ref
        for finding in earlier
        if finding.severity is Severity.BLOCKER or finding.code is Code.WEBHOOK_UNAVAILABLE
        for ref in finding.objects
    )


# -- the quick depth: objects that exist and differ -----------------------------------------


def probe_changed(scene: Scene, skip: frozenset[ObjectRef] = frozenset()) -> list[Finding]:
    """Dry-run apply of each object that exists and differs from the bundle (none with
    ``--existing skip``: those are left alone), but those in ``skip``."""
    existing = (scene.planned[position] for position in scene.live.held())
    changed = [
        (planned, scene.intended(planned))
        for planned in existing
        if planned.ref not in skip and scene.sends(planned)
    ]

    def dry_apply(item: tuple[Planned, Object]) -> Finding | None:
        planned, intended = item
        info = scene.info(planned)
        assert info is not None and info.resource is not None
        resource = info.resource
        try:
            scene.ask(
                lambda: scene.cluster.apply(
                    resource,
                    intended,
                    field_manager=scene.apply.field_manager,
                    force=scene.apply.force_conflicts,
                    dry_run=True,
                )
            )
        except ApiError as error:
            if apply_cannot_type(error):
                return None  # import creates or replaces those instead of applying
            return classify(planned.ref, error)
        return None

    return [f for f in scene.workers.map(dry_apply, changed) if f is not None]


# -- the thorough depth: the importer as a server dry run -----------------------------------


def dry_run_everything(
    scene: Scene,
    levels: Sequence[LevelObjects],
    skip: frozenset[ObjectRef] = frozenset(),
    progress: ProgressCallback | None = None,
) -> list[Finding]:
    """The importer as a server dry run over every object but those in ``skip``."""
    observations: list[Observation] = []
    options = dataclasses.replace(scene.apply, dry_run=DryRunMode.SERVER)
    importer = Importer(scene.cluster, options, progress, observer=observations.append)
    importer.run(
        [
            LevelObjects(
                level.number,
                level.name,
                [o for o in level.objects if ObjectRef.of(o) not in skip],
                secrets_open=level.secrets_open,
            )
            for level in levels
        ]
    )
    if importer.gave_up:
        raise ClusterError(importer.gave_up)
    findings = []
    unchecked: dict[str, list[ObjectRef]] = defaultdict(list)
    for seen in observations:
        if seen.error is not None:
            findings.append(classify(seen.ref, seen.error))
        elif seen.verdict is Verdict.NAMESPACE_FIRST:
            unchecked[f"namespace {seen.ref.namespace} does not exist yet"].append(seen.ref)
        elif seen.verdict is Verdict.CRD_FIRST:
            unchecked[f"the CRD of {seen.ref.group_kind} comes with the bundle"].append(seen.ref)
    for why, refs in sorted(unchecked.items()):
        findings.append(
            Finding(
                Code.NOT_CHECKED,
                Severity.WARNING,
                f"{len(refs)} objects not checked by the server's dry run: {why} ({named(refs)})",
                tuple(sorted(refs)),
                "the quick checks still cover them; for the server's own answer, create what "
                "the import would create first and run preflight again",
            )
        )
    return findings
