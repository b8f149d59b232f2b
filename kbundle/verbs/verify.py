"""``kbundle verify`` and ``kbundle inspect``: what a bundle is, offline.

``verify`` checks everything (structure, schema, version, every checksum and object, and the
signature against trusted keys when asked); ``inspect`` reads the manifest only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kbundle.bundle.reader import read_manifest
from kbundle.bundle.signing import Signature
from kbundle.bundle.trust import TrustPolicy
from kbundle.bundle.verify import parse_manifest
from kbundle.core.model import Manifest
from kbundle.core.scratch import scratch_folder
from kbundle.verbs.common import BundleSource, checked_source, display_name, naming, ready_bundle


@dataclass(frozen=True)
class VerifyOptions:
    bundle: BundleSource
    require_signature: tuple[Path, ...] = ()  # trusted public keys: any of them


@dataclass(frozen=True)
class VerifyResult:
    name: str  # the bundle as messages name it
    manifest: Manifest
    signature: Signature | None  # well-formed and for this manifest
    signed_by: str | None  # the trusted key that signed it, when one was required


def verify(options: VerifyOptions) -> VerifyResult:
    """Check a bundle completely; a ``KbundleError`` names what does not hold."""
    with scratch_folder("kbundle-verify-") as work:
        ready = ready_bundle(options.bundle, work, TrustPolicy(options.require_signature))
        return VerifyResult(
            display_name(options.bundle),
            ready.bundle.manifest,
            ready.bundle.signature,
            ready.signed_by,
        )


@dataclass(frozen=True)
class InspectOptions:
    bundle: BundleSource


@dataclass(frozen=True)
class InspectResult:
    manifest: Manifest


def inspect(options: InspectOptions) -> InspectResult:
    """The bundle's manifest, checked against its schema (the content is not: see verify)."""
    with naming(options.bundle):
        return InspectResult(parse_manifest(read_manifest(checked_source(options.bundle))))
