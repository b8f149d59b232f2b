"""The bundle file format: member names, deterministic writing, safe reading."""

from kbundle.bundle.reader import DEFAULT_LIMITS, Limits, Member, extract_bundle, read_manifest
from kbundle.bundle.writer import BundleWriter, manifest_yaml

__all__ = [
    "DEFAULT_LIMITS",
    "BundleWriter",
    "Limits",
    "Member",
    "extract_bundle",
    "manifest_yaml",
    "read_manifest",
]
