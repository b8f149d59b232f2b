"""``kbundle verify`` and ``kbundle inspect``: what a bundle is, offline.

``verify`` checks everything (structure, schema, version, every checksum and object, and the
signature against trusted keys when asked). ``inspect`` shows what the manifest says and,
first, what an import would touch and which objects grant power: that needs the objects, so
it verifies the whole bundle first (showing anything of a bundle that did not verify would
describe content nobody can trust).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kbundle.bundle.signing import Signature
from kbundle.bundle.trust import TrustPolicy
from kbundle.bundle.verify import parse_manifest
from kbundle.core.model import Manifest, ProgressCallback
from kbundle.core.reach import Reach, reach_of
from kbundle.core.scratch import scratch_folder
from kbundle.remote.refs import RemoteBundle
from kbundle.verbs.common import (
    BundleSource,
    display_name,
    naming,
    ready_bundle,
    remote_manifest,
)


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


def verify(options: VerifyOptions, *, progress: ProgressCallback | None = None) -> VerifyResult:
    """Check a bundle completely; a ``KbundleError`` names what does not hold."""
    with scratch_folder("kbundle-verify-") as work:
        policy = TrustPolicy(options.require_signature)
        ready = ready_bundle(options.bundle, work, policy, progress)
        return VerifyResult(
            display_name(options.bundle),
            ready.bundle.manifest,
            ready.bundle.signature,
            ready.signed_by,
        )


@dataclass(frozen=True)
class InspectOptions:
    bundle: BundleSource
    # Fetch and verify the whole bundle to list what an import would touch. None: yes for
    # a file or a stream, no for a remote bundle (its manifest alone is fetched).
    full: bool | None = None


@dataclass(frozen=True)
class InspectResult:
    manifest: Manifest
    # namespaces, cluster-scoped objects and power objects an import would write; None when
    # only the manifest was read (a remote bundle, without full)
    reach: Reach | None


def inspect(options: InspectOptions) -> InspectResult:
    """The bundle's manifest, and what an import of it would touch; the bundle is verified
    first, offline (no signature or passphrase asked: sealed Secrets stay sealed). Of a
    remote bundle only the manifest is fetched, unless ``full``."""
    if isinstance(options.bundle, RemoteBundle) and not options.full:
        with naming(options.bundle):
            return InspectResult(parse_manifest(remote_manifest(options.bundle)), None)
    with scratch_folder("kbundle-inspect-") as work:
        bundle = ready_bundle(options.bundle, work, TrustPolicy()).bundle
        objects = (document for entry in bundle.entries for document in bundle.documents(entry))
        return InspectResult(bundle.manifest, reach_of(objects))
