"""Every member name of a bundle. No other module spells these paths.

A bundle is a zstd-compressed POSIX (pax) tar whose members come in this order:
``manifest.yaml``, ``checksums.sha256``, ``signature.yaml`` (only in a signed bundle), then
one YAML file per group/version/kind under ``objects/<NN>-<level name>/``, by level, then
path. The manifest comes first so that a reader learns the format version before anything
else; the checksums come second so that a streaming reader knows every expected digest
before it reads an object file. The signature signs the manifest's bytes, so it is not in
the checksums and can be added to a finished bundle.
"""

from __future__ import annotations

import re

MANIFEST = "manifest.yaml"
CHECKSUMS = "checksums.sha256"
SIGNATURE = "signature.yaml"
OBJECTS_DIR = "objects"
SUFFIX = ".kbundle"

_OBJECT_FILE = re.compile(
    r"objects/(?P<level>[0-9]{2})-(?P<level_name>[a-z0-9-]+)/"
    r"(?P<group>[a-z0-9.-]+)\.(?P<version>v[a-z0-9]+)\.(?P<kind>[A-Za-z0-9]+)\.yaml"
)


def object_file(level: int, level_name: str, group: str, version: str, kind: str) -> str:
    """``objects/06-configuration/core.v1.ConfigMap.yaml``; the core group is spelled ``core``."""
    return f"{OBJECTS_DIR}/{level:02d}-{level_name}/{group or 'core'}.{version}.{kind}.yaml"


def is_object_file(path: str) -> bool:
    return _OBJECT_FILE.fullmatch(path) is not None


_HEAD = (MANIFEST, CHECKSUMS, SIGNATURE)


def member_order(paths: list[str]) -> list[str]:
    """Canonical order: manifest, checksums, signature, then object files sorted by path."""
    head = [p for p in _HEAD if p in paths]
    return head + sorted(p for p in paths if p not in _HEAD)
