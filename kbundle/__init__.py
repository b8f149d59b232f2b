"""kbundle: move Kubernetes objects between clusters through one verifiable bundle file.

The Python API is one function per command, each taking a typed options object and returning
a typed result, printing nothing (docs/python-api.md)::

    import kbundle

    result = kbundle.export(kbundle.ExportOptions(output=Path("shop.kbundle"),
                                                  selection=kbundle.Selection(namespaces=("shop",))))
    report = kbundle.import_bundle(kbundle.ImportOptions(bundle=Path("shop.kbundle"))).report

Names load on first use, so ``import kbundle`` costs next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kbundle.core.version import __version__

if TYPE_CHECKING:
    from kbundle.apply.options import ApplyOptions, DryRunMode, ExistingMode
    from kbundle.apply.outcome import Action, ImportReport, Outcome
    from kbundle.bundle.passphrase import PassphraseSource
    from kbundle.core.errors import (
        BundleFormatError,
        ClusterError,
        ExitCode,
        IntegrityError,
        KbundleError,
        TransformError,
        UsageError,
    )
    from kbundle.core.model import Manifest, ObjectRef, Rewrite
    from kbundle.diff.model import DiffReport, DiffStatus, ObjectDiff
    from kbundle.preflight.mode import PreflightMode
    from kbundle.preflight.model import Finding, PreflightReport, Severity
    from kbundle.remote.refs import RemoteBundle, RemoteOptions
    from kbundle.select.selection import Selection
    from kbundle.transforms.base import Transform, TransformContext
    from kbundle.transforms.catalog import TransformRequest
    from kbundle.transforms.spec import TransformSpec
    from kbundle.verbs.clone import CloneOptions, CloneResult, clone
    from kbundle.verbs.common import ClusterTarget, SecretsMode
    from kbundle.verbs.diff import DiffOptions, diff
    from kbundle.verbs.diff_bundles import DiffBundlesOptions, DiffResult, diff_bundles
    from kbundle.verbs.export import ExportOptions, ExportResult, export
    from kbundle.verbs.importing import ImportOptions, ImportResult, import_bundle
    from kbundle.verbs.preflight import PreflightOptions, PreflightResult, preflight
    from kbundle.verbs.remote import (
        PullOptions,
        PullResult,
        PushOptions,
        PushResult,
        pull,
        push,
    )
    from kbundle.verbs.render import RenderOptions, RenderResult, render
    from kbundle.verbs.sign import (
        KeygenOptions,
        KeygenResult,
        SignOptions,
        SignResult,
        keygen,
        sign,
    )
    from kbundle.verbs.transform import TransformOptions, TransformResult, transform
    from kbundle.verbs.verify import (
        InspectOptions,
        InspectResult,
        VerifyOptions,
        VerifyResult,
        inspect,
        verify,
    )

_HOMES = {
    "kbundle.apply.options": ("ApplyOptions", "DryRunMode", "ExistingMode"),
    "kbundle.apply.outcome": ("Action", "ImportReport", "Outcome"),
    "kbundle.bundle.passphrase": ("PassphraseSource",),
    "kbundle.core.errors": (
        "BundleFormatError",
        "ClusterError",
        "ExitCode",
        "IntegrityError",
        "KbundleError",
        "TransformError",
        "UsageError",
    ),
    "kbundle.core.model": ("Manifest", "ObjectRef", "Rewrite"),
    "kbundle.select.selection": ("Selection",),
    "kbundle.transforms.base": ("Transform", "TransformContext"),
    "kbundle.transforms.catalog": ("TransformRequest",),
    "kbundle.transforms.spec": ("TransformSpec",),
    "kbundle.verbs.clone": ("CloneOptions", "CloneResult", "clone"),
    "kbundle.verbs.common": ("ClusterTarget", "SecretsMode"),
    "kbundle.verbs.diff": ("DiffOptions", "diff"),
    "kbundle.verbs.diff_bundles": ("DiffBundlesOptions", "DiffResult", "diff_bundles"),
    "kbundle.verbs.preflight": ("PreflightOptions", "PreflightResult", "preflight"),
    "kbundle.verbs.remote": (
        "PullOptions",
        "PullResult",
        "PushOptions",
        "PushResult",
        "pull",
        "push",
    ),
    "kbundle.remote.refs": ("RemoteBundle", "RemoteOptions"),
    "kbundle.preflight.mode": ("PreflightMode",),
    "kbundle.preflight.model": ("Finding", "PreflightReport", "Severity"),
    "kbundle.diff.model": ("DiffReport", "DiffStatus", "ObjectDiff"),
    "kbundle.verbs.export": ("ExportOptions", "ExportResult", "export"),
    "kbundle.verbs.importing": ("ImportOptions", "ImportResult", "import_bundle"),
    "kbundle.verbs.render": ("RenderOptions", "RenderResult", "render"),
    "kbundle.verbs.sign": (
        "KeygenOptions",
        "KeygenResult",
        "SignOptions",
        "SignResult",
        "keygen",
        "sign",
    ),
    "kbundle.verbs.transform": ("TransformOptions", "TransformResult", "transform"),
    "kbundle.verbs.verify": (
        "InspectOptions",
        "InspectResult",
        "VerifyOptions",
        "VerifyResult",
        "inspect",
        "verify",
    ),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "Action",
    "ApplyOptions",
    "BundleFormatError",
    "CloneOptions",
    "CloneResult",
    "ClusterError",
    "ClusterTarget",
    "DiffBundlesOptions",
    "DiffOptions",
    "DiffReport",
    "DiffResult",
    "DiffStatus",
    "DryRunMode",
    "ExistingMode",
    "ExitCode",
    "ExportOptions",
    "ExportResult",
    "Finding",
    "ImportOptions",
    "ImportReport",
    "ImportResult",
    "InspectOptions",
    "InspectResult",
    "IntegrityError",
    "KbundleError",
    "KeygenOptions",
    "KeygenResult",
    "Manifest",
    "ObjectDiff",
    "ObjectRef",
    "Outcome",
    "PassphraseSource",
    "PreflightMode",
    "PreflightOptions",
    "PreflightReport",
    "PreflightResult",
    "PullOptions",
    "PullResult",
    "PushOptions",
    "PushResult",
    "RemoteBundle",
    "RemoteOptions",
    "RenderOptions",
    "RenderResult",
    "Rewrite",
    "SecretsMode",
    "Selection",
    "Severity",
    "SignOptions",
    "SignResult",
    "Transform",
    "TransformContext",
    "TransformError",
    "TransformOptions",
    "TransformRequest",
    "TransformResult",
    "TransformSpec",
    "UsageError",
    "VerifyOptions",
    "VerifyResult",
    "__version__",
    "clone",
    "diff",
    "diff_bundles",
    "export",
    "import_bundle",
    "inspect",
    "keygen",
    "preflight",
    "pull",
    "push",
    "render",
    "sign",
    "transform",
    "verify",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'kbundle' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
