"""Values shared by every stage: object references and the bundle manifest.

The manifest dataclasses are built only from data that already passed the JSON Schema
(``schemas/manifest.schema.json``) or from the exporter itself; ``to_dict`` gives the exact
YAML document written into a bundle.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Object = dict[str, Any]
ProgressCallback = Callable[[int, int, str], None]  # done, total, what is being done

# 1.1: the secrets section and the optional signature member; 1.2: the clusterScoped section
FORMAT_VERSION = "1.2.0"
MANIFEST_KIND = "KbundleManifest"


def group_of(api_version: str) -> str:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (the core group)."""
    return api_version.rpartition("/")[0]


def version_of(api_version: str) -> str:
    return api_version.rpartition("/")[2]


def group_kind(kind: str, group: str) -> str:
    """``Deployment.apps``, ``ConfigMap``: a kind named independently of its version."""
    return f"{kind}.{group}" if group else kind


class ObjectRef(NamedTuple):
    """An object's identity, independent of the API version it is read at.

    A named tuple: hashing, equality and ordering run in C. Refs key every table of a run
    (facts, live objects, outcomes) and a dataclass's generated methods, Python code, cost
    several times as much at 100,000 objects."""

    group: str
    kind: str
    namespace: str  # "" for cluster-scoped objects
    name: str

    @classmethod
    def of(cls, obj: Object) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(
            group=group_of(str(obj.get("apiVersion", ""))),
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name", "")),
        )

    def interned(self) -> ObjectRef:
        """The same ref with its group, kind and namespace interned: refs kept for a whole
        cluster share those strings instead of holding one copy each."""
        return ObjectRef(
            sys.intern(self.group), sys.intern(self.kind), sys.intern(self.namespace), self.name
        )

    @property
    def group_kind(self) -> str:
        return group_kind(self.kind, self.group)

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.group_kind} {where}{self.name}"


@dataclass(frozen=True)
class Rewrite:
    """One change a transform made, for reports (never carries Secret data)."""

    transform: str
    ref: ObjectRef
    path: str  # where in the object, e.g. "subjects[1].namespace"
    before: str
    after: str


# -- the manifest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceInfo:
    """Where a bundle was read from: never a server address, credential or certificate."""

    context: str
    server_version: str

    def to_dict(self) -> dict[str, Any]:
        return {"context": self.context, "serverVersion": self.server_version}


@dataclass(frozen=True)
class SelectionInfo:
    """The export flags that decided what a bundle holds."""

    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    label_selector: str | None = None
    include_kinds: tuple[str, ...] = ()
    exclude_kinds: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    include_cluster_resources: str = "auto"
    include_owned: bool = False
    keep_status: bool = False
    keep_last_applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespaces": list(self.namespaces),
            "allNamespaces": self.all_namespaces,
            "labelSelector": self.label_selector,
            "includeKinds": list(self.include_kinds),
            "excludeKinds": list(self.exclude_kinds),
            "objects": list(self.objects),
            "includeClusterResources": self.include_cluster_resources,
            "includeOwned": self.include_owned,
            "keepStatus": self.keep_status,
            "keepLastApplied": self.keep_last_applied,
        }


@dataclass(frozen=True)
class LevelInfo:
    """One dependency level present in a bundle: applied after every lower number."""

    number: int
    name: str
    kinds: tuple[str, ...]  # group kinds, e.g. "Deployment.apps"

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.number, "name": self.name, "kinds": list(self.kinds)}


@dataclass(frozen=True)
class FileEntry:
    """One per-kind YAML member of a bundle."""

    path: str
    api_version: str
    kind: str
    namespaced: bool
    level: int
    objects: int
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespaced": self.namespaced,
            "level": self.level,
            "objects": self.objects,
            "sha256": self.sha256,
            "size": self.size,
        }


@dataclass(frozen=True)
class SkipCount:
    """How many objects of one kind were left out, and why (expected, not a problem)."""

    kind: str  # group kind
    reason: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "count": self.count}


@dataclass(frozen=True)
class ManifestWarning:
    """Something the user should know: a kind not listable, a dropped reference..."""

    code: str  # stable, machine-readable, e.g. "forbidden", "discovery-failed"
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


# kubectl's copy of the last applied object: for a Secret, its data again, in plaintext.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def is_secret(api_version: str, kind: str) -> bool:
    """The core Secret kind: the one kind whose values kbundle encrypts and never prints."""
    return kind == "Secret" and group_of(api_version) == ""


def is_secret_object(obj: Object) -> bool:
    """``is_secret`` for an object that may lack its apiVersion or kind."""
    return is_secret(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))


# The field an encrypted Secret carries instead of its data (docs/format.md).
SEALED_FIELD = "kbundleEncrypted"


def is_sealed(obj: Object) -> bool:
    """Whether ``obj`` is a Secret whose values are still encrypted."""
    return SEALED_FIELD in obj


def secret_objects(files: Iterable[FileEntry]) -> int:
    """How many Secrets these object files hold."""
    return sum(entry.objects for entry in files if is_secret(entry.api_version, entry.kind))


SECRETS_INCLUDED = "included"
SECRETS_EXCLUDED = "excluded"
SECRETS_ENCRYPTED = "encrypted"


@dataclass(frozen=True)
class SecretsInfo:
    """Whether a bundle holds Secrets and how: a reader must know before it shows or applies
    them. ``encryption`` holds the key-derivation parameters (never a key)."""

    mode: str  # SECRETS_INCLUDED, SECRETS_EXCLUDED or SECRETS_ENCRYPTED
    objects: int
    encryption: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mode": self.mode, "objects": self.objects}
        if self.encryption is not None:
            data["encryption"] = dict(self.encryption)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SecretsInfo:
        return cls(data["mode"], data["objects"], data.get("encryption"))


@dataclass(frozen=True)
class ClusterScopedEntry:
    """One cluster-scoped object of a bundle and why it came along, in one line that names
    objects only ("CRD of custom resource Widget.example.com shop/w")."""

    kind: str  # group kind
    name: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class Manifest:
    """The ``manifest.yaml`` of a bundle."""

    tool_version: str
    created_at: str  # RFC 3339, UTC, seconds precision ("2026-11-21T07:00:00Z")
    source: SourceInfo
    selection: SelectionInfo
    levels: tuple[LevelInfo, ...]
    files: tuple[FileEntry, ...]
    skipped: tuple[SkipCount, ...] = ()
    warnings: tuple[ManifestWarning, ...] = ()
    transforms: tuple[dict[str, Any], ...] = ()
    secrets: SecretsInfo | None = None  # None only in bundles written before format 1.1
    # Sorted by kind, then name; None only in bundles written before format 1.2.
    cluster_scoped: tuple[ClusterScopedEntry, ...] | None = None
    format_version: str = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def secrets_encrypted(self) -> bool:
        return self.secrets is not None and self.secrets.mode == SECRETS_ENCRYPTED

    @property
    def total_objects(self) -> int:
        return sum(f.objects for f in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": MANIFEST_KIND,
            "formatVersion": self.format_version,
            "tool": {"name": "kbundle", "version": self.tool_version},
            "createdAt": self.created_at,
            "source": self.source.to_dict(),
            "selection": self.selection.to_dict(),
            "levels": [level.to_dict() for level in self.levels],
            "files": [entry.to_dict() for entry in self.files],
            "totals": {
                "files": len(self.files),
                "objects": self.total_objects,
                "bytes": self.total_bytes,
            },
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": [w.to_dict() for w in self.warnings],
            "transforms": list(self.transforms),
            **({"secrets": self.secrets.to_dict()} if self.secrets is not None else {}),
            **(
                {"clusterScoped": [e.to_dict() for e in self.cluster_scoped]}
                if self.cluster_scoped is not None
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Build from a document that already passed the manifest schema."""
        selection = data["selection"]
        return cls(
            format_version=data["formatVersion"],
            tool_version=data["tool"]["version"],
            created_at=data["createdAt"],
            source=SourceInfo(data["source"]["context"], data["source"]["serverVersion"]),
            selection=SelectionInfo(
                namespaces=tuple(selection["namespaces"]),
                all_namespaces=selection["allNamespaces"],
                label_selector=selection.get("labelSelector"),
                include_kinds=tuple(selection["includeKinds"]),
                exclude_kinds=tuple(selection["excludeKinds"]),
                objects=tuple(selection["objects"]),
                include_cluster_resources=selection["includeClusterResources"],
                include_owned=selection["includeOwned"],
                keep_status=selection["keepStatus"],
                keep_last_applied=selection["keepLastApplied"],
            ),
            levels=tuple(
                LevelInfo(level["level"], level["name"], tuple(level["kinds"]))
                for level in data["levels"]
            ),
            files=tuple(
                FileEntry(
                    path=f["path"],
                    api_version=f["apiVersion"],
                    kind=f["kind"],
                    namespaced=f["namespaced"],
                    level=f["level"],
                    objects=f["objects"],
                    sha256=f["sha256"],
                    size=f["size"],
                )
                for f in data["files"]
            ),
            skipped=tuple(
                SkipCount(s["kind"], s["reason"], s["count"]) for s in data.get("skipped", [])
            ),
            warnings=tuple(
                ManifestWarning(w["code"], w["message"]) for w in data.get("warnings", [])
            ),
            transforms=tuple(data.get("transforms", [])),
            secrets=SecretsInfo.from_dict(data["secrets"]) if "secrets" in data else None,
            cluster_scoped=tuple(
                ClusterScopedEntry(e["kind"], e["name"], e["reason"]) for e in data["clusterScoped"]
            )
            if "clusterScoped" in data
            else None,
        )
