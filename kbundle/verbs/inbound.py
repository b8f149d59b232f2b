"""Part of a bundle, on the way in: what import, render, diff and preflight take of it.

A ``Selection`` (export's flags) chooses among the bundle's objects before any transform,
dependencies included (``kbundle.select.inbound``); ``--include-cluster-resources=false``
also keeps the importer from creating the namespaces the chosen objects need, so that no
cluster-scoped object is created at all. Offline: the cluster, when there is one, is only
asked for the kind names it serves (its discovery, already read).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from kbundle.apply.options import ApplyOptions
from kbundle.core.model import ObjectRef
from kbundle.select.inbound import KindNames, check_selection, select_objects
from kbundle.select.selection import Selection

if TYPE_CHECKING:
    from kbundle.bundle.trust import ReadyBundle

__all__ = ["apply_options", "check_selection", "chosen_objects"]


def chosen_objects(
    ready: ReadyBundle,
    selection: Selection,
    discovery: KindNames | None = None,
    context: str | None = None,
) -> frozenset[ObjectRef] | None:
    """The objects of ``ready`` that ``selection`` takes (None: every one). Kind names
    resolve against the destination's ``discovery`` (of ``context``) when connected, and
    against the bundle's own kinds; a name neither knows is a UsageError."""
    where = f"context {context}" if context else "the destination"
    return select_objects(ready.bundle, selection, discovery, where)


def apply_options(apply: ApplyOptions, selection: Selection) -> ApplyOptions:
    """``apply`` as ``selection`` narrows it: no namespace is created when no cluster-scoped
    object may be."""
    if selection.include_cluster_resources == "false":
        return replace(apply, create_namespaces=False)
    return apply
