"""Running transforms over objects and over a verified bundle, in order.

A transform may return one object, several, or none (dropped). One that raises becomes a
``TransformError`` naming the transform and the object: import reports it as that object's
failure, the offline verbs (transform, render) stop on it, as there is no partial bundle
worth writing.
"""

from __future__ import annotations

from collections.abc import Sequence

from kbundle.bundle.verify import VerifiedBundle
from kbundle.core.errors import TransformError
from kbundle.core.model import FileEntry, Object, ObjectRef
from kbundle.transforms.base import Transform, TransformContext


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
                raise TransformError(
                    f"transform {transform.name} failed on {ObjectRef.of(item)}: "
                    f"{type(error).__name__}: {error}"
                ) from error
            if result is None:
                continue
            following.extend(result if isinstance(result, list) else [result])
        current = following
    return current


def transformed_files(
    bundle: VerifiedBundle, transforms: Sequence[Transform], context: TransformContext
) -> list[tuple[FileEntry, list[Object]]]:
    """Each file's objects after the transforms; the first failure stops everything."""
    return [
        (
            entry,
            [
                result
                for document in bundle.documents(entry)
                for result in run_transforms(document, transforms, context)
            ],
        )
        for entry in bundle.entries
    ]
