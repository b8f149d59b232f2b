"""``--map-storage-class OLD=NEW``: claim storage from the destination's classes.

Storage class names are cluster-local (``gp2`` on one cloud, ``standard`` on another, a
local-path class in a test cluster). A claim naming a class the destination lacks stays
Pending forever, quietly. This renames the class wherever a claim or volume names it:

- PersistentVolumeClaim: ``spec.storageClassName``, and the legacy
  ``volume.beta.kubernetes.io/storage-class`` annotation;
- StatefulSet: the same two places in each of ``spec.volumeClaimTemplates``;
- PersistentVolume: the same two places (a bound pair keeps naming one class, so it binds).

Kinds are matched by name, in any version. An object that names no class asks for the
destination's default class, which is what it should keep asking for: it is left alone.

StorageClass objects themselves are not renamed: NEW names a class that already exists in
the destination, with the provisioner and parameters that fit it; the source's class
(another cloud's provisioner) is not a template for it, and can simply be left out of the
export (``--exclude-kinds storageclasses.storage.k8s.io``).

Chains (``a=b`` with ``b=c``) are refused: their result would depend on order, and a second
run would change claims again. Merges (``gp2=standard`` with ``gp3=standard``) are fine.

Note that both fields are immutable on an existing claim, and claim templates on an existing
StatefulSet: mapping is for objects the destination does not hold yet.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.core.fieldpath import Path, render_path
from kbundle.core.model import Object, ObjectRef
from kbundle.core.names import STORAGE_CLASS_NAME
from kbundle.transforms.args import old_new_mapping, usage
from kbundle.transforms.base import TransformContext

NAME = "map-storage-class"
FLAG = "--map-storage-class"
CLASS_FIELD = "storageClassName"
# Read by the apiserver and provisioners before storageClassName existed, and still honoured.
CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"

_HINT = f"give each mapping as OLD=NEW storage class names, e.g. {FLAG} gp2=standard"
_CHAIN = "chained mappings depend on their order; map each class to its final name"


# -- parsing the flag -----------------------------------------------------------------------


def parse_storage_class_mappings(values: Sequence[str]) -> dict[str, str]:
    """``["gp2=standard"]`` -> ``{"gp2": "standard"}``, validated.

    Names must be DNS-1123 subdomains (what the apiserver accepts for a StorageClass); an OLD
    may appear once; chains are refused so a second application changes nothing.
    """
    mapping: dict[str, str] = {}
    for value in values:
        old, equals, new = value.partition("=")
        if not equals:
            raise _usage(value, "expected OLD=NEW")
        for name in (old, new):
            problem = STORAGE_CLASS_NAME.problem(name)
            if problem is not None:
                raise _usage(value, f"{name!r} {problem}")
        _check_against(value, old, new, mapping)
        mapping[old] = new
    return mapping


def _check_against(value: str, old: str, new: str, earlier: Mapping[str, str]) -> None:
    if old == new:
        raise _usage(value, f"maps {old!r} to itself")
    if old in earlier:
        raise _usage(value, f"{old!r} is already mapped to {earlier[old]!r}")
    if new in earlier:
        raise _usage(value, f"{new!r} is itself mapped to {earlier[new]!r}: {_CHAIN}")
    chained = [o for o, n in earlier.items() if n == old]
    if chained:
        raise _usage(value, f"{chained[0]!r} is already mapped to {old!r}: {_CHAIN}")


def _usage(value: str, problem: str) -> UsageError:
    return usage(FLAG, value, problem, _HINT)


# -- the transform --------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageClassMapping:
    """Rename storage classes in claims, claim templates and volumes
    (``--map-storage-class``)."""

    mapping: Mapping[str, str]  # old -> new, validated
    name: str = NAME

    def __post_init__(self) -> None:
        # Validated again so a hand-built mapping cannot skip the checks, and copied so the
        # caller's dict cannot change behind a frozen object.
        checked = parse_storage_class_mappings([f"{o}={n}" for o, n in self.mapping.items()])
        object.__setattr__(self, "mapping", MappingProxyType(checked))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        """A deep copy of ``obj`` with its storage classes mapped; each change recorded."""
        result = copy.deepcopy(obj)
        ref = ObjectRef.of(obj)
        for claim, at in _claims(result):
            for parent, key, path in _class_fields(claim, at):
                before = parent.get(key)
                if isinstance(before, str) and before in self.mapping:
                    parent[key] = after = self.mapping[before]
                    context.record(self.name, ref, render_path(path), before, after)
        return result

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"mapping": dict(self.mapping)}}


def _claims(obj: Object) -> Iterator[tuple[dict[str, Any], Path]]:
    """The object itself if it is a claim or a volume, or each claim template of a
    StatefulSet: every place shaped ``{metadata, spec}`` that may name a class."""
    kind = obj.get("kind")
    if kind in {"PersistentVolumeClaim", "PersistentVolume"}:
        yield obj, ()
    elif kind == "StatefulSet":
        spec = obj.get("spec")
        templates = spec.get("volumeClaimTemplates") if isinstance(spec, dict) else None
        for index, template in enumerate(templates if isinstance(templates, list) else []):
            if isinstance(template, dict):
                yield template, ("spec", "volumeClaimTemplates", index)


def _class_fields(claim: dict[str, Any], at: Path) -> Iterator[tuple[dict[str, Any], str, Path]]:
    """``spec.storageClassName`` and the legacy annotation, where their parents are dicts."""
    spec = claim.get("spec")
    if isinstance(spec, dict):
        yield spec, CLASS_FIELD, (*at, "spec", CLASS_FIELD)
    metadata = claim.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(annotations, dict):
        yield annotations, CLASS_ANNOTATION, (*at, "metadata", "annotations", CLASS_ANNOTATION)


def storage_class_mapping(args: Mapping[str, Any]) -> StorageClassMapping:
    """A rules file's ``{"mapping": {OLD: NEW}}``: the inverse of ``describe()``'s args."""
    return StorageClassMapping(old_new_mapping(NAME, args, _HINT))
