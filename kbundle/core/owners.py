"""The owners an object's ownerReferences may name, by kind and name.

An ownerReference carries the source's UID, which means nothing in the destination: the
import finds the owner again by kind and name, in the dependant's namespace or among
cluster-scoped objects. Whoever spools a bundle's objects notes these refs as it goes
(``kbundle.core.spool``), so the import keeps destination UIDs for them alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kbundle.core.model import Object, ObjectRef, group_of


def owner_candidates(obj: Object) -> Iterator[ObjectRef]:
    """Every ref ``obj``'s ownerReferences may point at: the owner in its namespace, or a
    cluster-scoped one of that kind and name (as the import looks them up)."""
    metadata = obj.get("metadata") or {}
    references = metadata.get("ownerReferences") if isinstance(metadata, dict) else None
    if not references:
        return
    namespace = str(metadata.get("namespace") or "")
    for reference in references:
        if isinstance(reference, dict):
            yield from owner_refs(reference, namespace)


def owner_refs(reference: dict[str, Any], namespace: str) -> tuple[ObjectRef, ObjectRef]:
    """The owner an ownerReference names in ``namespace``, and cluster-scoped."""
    group = group_of(str(reference.get("apiVersion", "")))
    kind, name = str(reference.get("kind", "")), str(reference.get("name"))
    return ObjectRef(group, kind, namespace, name), ObjectRef(group, kind, "", name)
