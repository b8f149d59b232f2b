"""``kbundle export``: read a cluster, decide, clean, and write one bundle.

The pipeline in one place: snapshot (read) -> plan (select) -> clean -> bundle writer.
Everything in between lives on disk in a private temporary folder that is removed at the
end, so an interrupted export leaves nothing behind and never a file that looks finished.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from kbundle.bundle.passphrase import PassphraseSource
from kbundle.bundle.secret_encryption import EncryptionInfo, SecretKey
from kbundle.bundle.signing import signer_from
from kbundle.bundle.writer import CREATED_AT_FORMAT, BundleWriter, Signer, creation_time
from kbundle.clean import CleanOptions
from kbundle.cluster import Cluster, open_cluster
from kbundle.core.collector import collection_paused
from kbundle.core.errors import UsageError
from kbundle.core.model import (
    SECRETS_ENCRYPTED,
    SECRETS_EXCLUDED,
    SECRETS_INCLUDED,
    ClusterScopedEntry,
    FileEntry,
    Manifest,
    ManifestWarning,
    ProgressCallback,
    SecretsInfo,
    SelectionInfo,
    SkipCount,
    SourceInfo,
    secret_objects,
)
from kbundle.core.scratch import scratch_folder
from kbundle.core.version import __version__
from kbundle.select.by_namespace import plan_by_namespace
from kbundle.select.layout import ExportLayout, layout_of
from kbundle.select.plan import ObjectIndex, SelectionRequest, plan_export
from kbundle.select.resolve import resolve_selection
from kbundle.select.selection import Selection
from kbundle.select.snapshot import Scope, Snapshot, take_snapshot
from kbundle.verbs.common import (
    BundleTarget,
    ClusterTarget,
    SecretsMode,
    checked_output,
    deliver,
    display_name,
    size_of,
)
from kbundle.verbs.object_files import write_object_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportOptions:
    """``kbundle export``: what to read from which cluster, and how to write it."""

    output: BundleTarget
    cluster: ClusterTarget = ClusterTarget()
    selection: Selection = Selection()
    compression_level: int = 10  # zstd, 1 to 22
    secrets: SecretsMode = SecretsMode.INCLUDE
    passphrase: PassphraseSource | None = None  # with SecretsMode.ENCRYPT
    sign_with: Path | None = None  # an Ed25519 private key (kbundle keygen)


@dataclass(frozen=True)
class ExportResult:
    manifest: Manifest
    written_to: str  # the file, "stdout", or the remote reference
    size: int | None  # bytes of the bundle file; None for a stream or a remote
    digest: str | None = None  # of the artifact, when published to a registry or layout


def export(options: ExportOptions, *, progress: ProgressCallback | None = None) -> ExportResult:
    """Write the bundle ``options`` describe. Everything the user gave is checked (passphrase,
    key, output folder, kinds against the cluster's discovery) before anything is read."""
    secrets = secrets_policy(options.secrets, options.passphrase)
    signer = signer_from(options.sign_with)
    target = checked_output(options.output)
    cluster = open_cluster(options.cluster.kubeconfig, options.cluster.context)
    request = replace(
        export_request(cluster, options.selection, options.compression_level),
        secrets=secrets,
        signer=signer,
    )
    manifest, digest = deliver(
        target, lambda output: export_bundle(cluster, request, output, progress=progress)
    )
    return ExportResult(manifest, display_name(target, "stdout"), size_of(target), digest)


def secrets_policy(mode: SecretsMode, passphrase: PassphraseSource | None) -> SecretsPolicy:
    if mode is SecretsMode.ENCRYPT:
        return SecretsPolicy.encrypted((passphrase or PassphraseSource()).read(for_writing=True))
    if passphrase is not None and passphrase.named:
        raise UsageError("--passphrase-file/--passphrase-env need --secrets encrypt")
    return SecretsPolicy(SECRETS_EXCLUDED) if mode is SecretsMode.EXCLUDE else SecretsPolicy()


def export_request(cluster: Cluster, selection: Selection, compression_level: int) -> ExportRequest:
    """The selection resolved against the cluster's discovery (a typo in a kind is an error
    here, before anything is read)."""
    request, info = resolve_selection(
        selection, cluster.discovery(), cluster.target.namespace, cluster.target.context
    )
    return ExportRequest(
        selection=request,
        info=info,
        clean=CleanOptions(
            keep_status=selection.keep_status, keep_last_applied=selection.keep_last_applied
        ),
        created_at=creation_time(),
        compression_level=compression_level,
    )


# Kinds the derived-object rules consult, read even when excluded from the bundle.
CONSULTED_KINDS = frozenset({"Service", "ServiceAccount"})
SECRET = "Secret"  # core group kind


@dataclass(frozen=True)
class SecretsPolicy:
    """What happens to Secrets: written as they are, left out unread, or sealed."""

    mode: str = SECRETS_INCLUDED
    key: SecretKey | None = None  # with the encryption info, for SECRETS_ENCRYPTED
    encryption: EncryptionInfo | None = None

    @classmethod
    def encrypted(cls, passphrase: bytes) -> SecretsPolicy:
        key, info = SecretKey.create(passphrase)
        return cls(SECRETS_ENCRYPTED, key, info)


@dataclass(frozen=True)
class ExportRequest:
    selection: SelectionRequest
    info: SelectionInfo  # the flags as given, recorded in the manifest
    clean: CleanOptions
    created_at: datetime.datetime
    compression_level: int = 10
    secrets: SecretsPolicy = SecretsPolicy()
    signer: Signer | None = None  # manifest bytes -> signature.yaml


def export_bundle(
    cluster: Cluster,
    request: ExportRequest,
    output: Path | BinaryIO,
    *,
    progress: ProgressCallback | None = None,
) -> Manifest:
    """Write the bundle ``request`` describes to ``output``; return its manifest."""
    selection = request.selection
    if request.secrets.mode == SECRETS_EXCLUDED:  # never read, so never at risk
        selection = replace(selection, exclude_kinds=selection.exclude_kinds | {SECRET})
    with collection_paused(), scratch_folder("kbundle-export-") as work:
        snapshot = take_snapshot(cluster, _scope(selection), work, progress=progress)
        layout = _plan(snapshot, selection)
        log.info(
            "selected %d objects, left out %d; writing the bundle",
            layout.objects,
            layout.skipped_objects,
        )
        with BundleWriter(
            output,
            mtime=int(request.created_at.timestamp()),
            compression_level=request.compression_level,
            tmp_dir=work,
        ) as writer:
            manifest = _write_objects(snapshot, layout, request, writer, progress)
            # What was read is not needed to compress what is written: let it go first, so
            # that the compressor's buffers do not come on top of it.
            del snapshot, layout
            writer.finish(manifest, signer=request.signer)
    return manifest


def _plan(snapshot: Snapshot, selection: SelectionRequest) -> ExportLayout:
    """What the bundle holds. A selection of ``--object`` roots follows references across
    namespaces, so it is planned over every object read (its scope is the roots'
    namespaces); any other is planned one namespace at a time, holding one namespace's
    facts in memory rather than the cluster's."""
    if selection.roots:
        whole = snapshot.whole()
        plan = plan_export(ObjectIndex(whole.facts), selection)
        return layout_of(plan, lambda fact: snapshot.resource_key_of(fact, whole))
    return plan_by_namespace(snapshot, selection)


def _write_objects(
    snapshot: Snapshot,
    layout: ExportLayout,
    request: ExportRequest,
    writer: BundleWriter,
    progress: ProgressCallback | None,
) -> Manifest:
    """Write the object files of ``layout``; return the manifest that describes them."""
    files, levels, notes = write_object_files(
        snapshot, layout, request.clean, writer, seal_with=request.secrets.key, progress=progress
    )
    return Manifest(
        tool_version=__version__,
        created_at=request.created_at.strftime(CREATED_AT_FORMAT),
        source=SourceInfo(context=snapshot.context, server_version=snapshot.server_version),
        selection=request.info,
        levels=levels,
        files=tuple(files),
        skipped=_skip_counts(layout, snapshot),
        warnings=_sorted_unique([*snapshot.warnings, *layout.warnings, *notes]),
        secrets=_secrets_info(request.secrets, files),
        cluster_scoped=_cluster_scoped(layout),
    )


def _scope(selection: SelectionRequest) -> Scope:
    if selection.roots:
        namespaces: tuple[str, ...] | None = tuple(
            sorted({r.namespace for r in selection.roots if r.namespace})
        )
    else:
        namespaces = None if selection.namespaces is None else tuple(sorted(selection.namespaces))
    return Scope(
        namespaces=namespaces,
        cluster_scoped=selection.cluster_resources != "false",
        all_cluster_scoped=selection.cluster_resources == "true" and not selection.roots,
        skip_kinds=frozenset(selection.exclude_kinds - CONSULTED_KINDS),
    )


def _cluster_scoped(layout: ExportLayout) -> tuple[ClusterScopedEntry, ...]:
    """Why each cluster-scoped object of the bundle came along."""
    entries = [
        ClusterScopedEntry(ref.group_kind, ref.name, reason)
        for ref, reason in layout.cluster_scoped.items()
    ]
    return tuple(sorted(entries, key=lambda e: (e.kind, e.name)))


def _secrets_info(policy: SecretsPolicy, files: list[FileEntry]) -> SecretsInfo:
    encryption = policy.encryption.to_dict() if policy.encryption is not None else None
    return SecretsInfo(policy.mode, secret_objects(files), encryption)


def _skip_counts(layout: ExportLayout, snapshot: Snapshot) -> tuple[SkipCount, ...]:
    derived = [SkipCount(kind, reason, n) for (kind, reason), n in layout.skipped.items()]
    return tuple(sorted([*derived, *snapshot.not_read], key=lambda s: (s.kind, s.reason)))


def _sorted_unique(warnings: list[ManifestWarning]) -> tuple[ManifestWarning, ...]:
    return tuple(sorted(set(warnings), key=lambda w: (w.code, w.message)))
