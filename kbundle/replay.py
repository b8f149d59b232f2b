"""``kbundle import``: a verified bundle, transformed, replayed into a cluster.

Only a ``VerifiedBundle`` is accepted: a bundle that did not verify never reaches a cluster.
Transforms run on every object before anything is applied; an object a transform fails on
is reported with the transform's name and not applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from kbundle.apply.engine import Importer, ImportOptions, LevelObjects
from kbundle.apply.outcome import Action, ImportReport, Outcome, sorted_outcomes
from kbundle.cluster import Cluster
from kbundle.model import Object, ObjectRef, ProgressCallback
from kbundle.transforms.base import Transform, TransformContext
from kbundle.verify import VerifiedBundle


def transformed_levels(
    bundle: VerifiedBundle, transforms: Sequence[Transform], context: TransformContext
) -> tuple[list[LevelObjects], list[Outcome]]:
    """The bundle's objects by level after every transform; failures and objects a
    transform dropped as outcomes."""
    names = {level.number: level.name for level in bundle.manifest.levels}
    by_level: dict[int, list[Object]] = {}
    failures: list[Outcome] = []
    for entry in bundle.entries:
        for document in bundle.documents(entry):
            try:
                results = run_transforms(document, transforms, context)
            except TransformFailed as error:
                failures.append(
                    Outcome(
                        entry.level,
                        ObjectRef.of(document),
                        entry.api_version,
                        Action.FAIL,
                        str(error),
                    )
                )
                continue
            if not results:
                failures.append(
                    Outcome(
                        entry.level,
                        ObjectRef.of(document),
                        entry.api_version,
                        Action.SKIP,
                        "dropped by a transform",
                    )
                )
            by_level.setdefault(entry.level, []).extend(results)
    levels = [
        LevelObjects(number, names.get(number, str(number)), objects)
        for number, objects in sorted(by_level.items())
    ]
    return levels, failures


class TransformFailed(Exception):
    """A transform raised; the message names the transform and the object."""


def run_transforms(
    obj: Object, transforms: Sequence[Transform], context: TransformContext
) -> list[Object]:
    """Apply ``transforms`` in order; each may return one object, several, or None."""
    current = [obj]
    for transform in transforms:
        following: list[Object] = []
        for item in current:
            try:
                result = transform(item, context)
            except Exception as error:
                raise TransformFailed(
                    f"transform {transform.name} failed on {ObjectRef.of(item)}: "
                    f"{type(error).__name__}: {error}"
                ) from error
            if result is None:
                continue
            following.extend(result if isinstance(result, list) else [result])
        current = following
    return current


def import_bundle(
    cluster: Cluster,
    bundle: VerifiedBundle,
    transforms: Sequence[Transform],
    options: ImportOptions,
    *,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Transform and apply ``bundle``; the report has one outcome per object."""
    context = TransformContext(manifest=bundle.manifest, discovery=cluster.discovery())
    levels, failures = transformed_levels(bundle, transforms, context)
    importer = Importer(cluster, options, progress)
    outcomes = importer.run(levels)
    return ImportReport(
        outcomes=sorted_outcomes([*outcomes, *failures]),
        rewrites=tuple(context.rewrites),
        level_names={level.number: level.name for level in bundle.manifest.levels},
        dry_run=options.dry_run,
        aborted=importer.gave_up,
    )
