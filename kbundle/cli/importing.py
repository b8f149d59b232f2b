"""``kbundle import`` and ``kbundle clone``: bundles into clusters."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kbundle.apply.options import ApplyOptions
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.cli.command import IMPORT_INTERRUPTED, command
from kbundle.cli.console import with_progress
from kbundle.cli.options import (
    APPLY,
    CLUSTER,
    PASSPHRASE,
    REMOTE,
    SELECTION,
    TRANSFORMS,
    TRUST,
    BundleArgument,
    PreflightFlag,
    ReportFile,
)
from kbundle.cli.streams import bundle_source
from kbundle.core.errors import ExitCode, UsageError
from kbundle.preflight.mode import PreflightMode
from kbundle.remote.refs import RemoteOptions
from kbundle.select.selection import Selection
from kbundle.transforms.spec import TransformSpec
from kbundle.verbs.common import ClusterTarget

if TYPE_CHECKING:
    from kbundle.preflight.model import PreflightReport
    from kbundle.verbs.importing import ImportResult


def _check_report_path(path: Path | None) -> None:
    if path is not None and not path.parent.is_dir():
        raise UsageError(f"--report {path}: folder {path.parent} does not exist")


def _heard(report: PreflightReport) -> None:
    from kbundle.cli.report import print_preflight  # noqa: PLC0415 - start-up time

    print_preflight(report, before_import=True)


def _finish(result: ImportResult, report_file: Path | None) -> ExitCode:
    from kbundle.cli.report import print_import  # noqa: PLC0415 - start-up time

    if report_file is not None:
        result.report.write_json(report_file)
    print_import(result.report, result.context)
    return result.exit_code


@command(interrupted=IMPORT_INTERRUPTED)
def import_(
    *,
    bundle: BundleArgument,
    cluster: Annotated[ClusterTarget, CLUSTER],
    selection: Annotated[Selection, SELECTION],
    transforms: Annotated[Sequence[TransformSpec], TRANSFORMS],
    apply: Annotated[ApplyOptions, APPLY],
    report_file: ReportFile = None,
    require_signature: Annotated[tuple[Path, ...], TRUST],
    passphrase: Annotated[PassphraseSource, PASSPHRASE],
    preflight: PreflightFlag = PreflightMode.WARN,
    remote: Annotated[RemoteOptions, REMOTE],
) -> ExitCode:
    """Verify a bundle, then replay it into a cluster: level by level, idempotently.
    Nothing is sent to the cluster unless the whole bundle verifies (and, if asked, its
    signature, and the passphrase of its encrypted Secrets). The selection flags take part
    of the bundle (namespaces as the bundle names them, before --map-namespace), with what
    it depends on.

    Example: kbundle import shop.kbundle -n shop --map-namespace shop=shop-restored
    """
    from kbundle.verbs.importing import ImportOptions, import_bundle  # noqa: PLC0415

    _check_report_path(report_file)
    options = ImportOptions(
        bundle=bundle_source(bundle, remote),
        cluster=cluster,
        transforms=transforms,
        apply=apply,
        require_signature=require_signature,
        passphrase=passphrase,
        selection=selection,
        preflight=preflight,
    )
    result = with_progress(
        lambda progress: import_bundle(options, progress=progress, on_preflight=_heard),
        "applying",
    )
    return _finish(result, report_file)


@command(interrupted=IMPORT_INTERRUPTED)
def clone(
    *,
    from_context: Annotated[str, typer.Option("--from-context", help="Context to read from.")],
    to_context: Annotated[str, typer.Option("--to-context", help="Context to write to.")],
    kubeconfig: Annotated[
        str | None,
        typer.Option(
            "--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config)."
        ),
    ] = None,
    to_kubeconfig: Annotated[
        str | None,
        typer.Option(
            "--to-kubeconfig", help="Kubeconfig of the destination (default: --kubeconfig)."
        ),
    ] = None,
    selection: Annotated[Selection, SELECTION],
    transforms: Annotated[Sequence[TransformSpec], TRANSFORMS],
    apply: Annotated[ApplyOptions, APPLY],
    report_file: ReportFile = None,
    preflight: PreflightFlag = PreflightMode.WARN,
) -> ExitCode:
    """Export from one context straight into another, with no bundle file in between (the
    stream is still verified before anything is applied).

    Example: kbundle clone --from-context prod --to-context staging -n shop
    """
    from kbundle.cli.report import print_export  # noqa: PLC0415 - start-up time
    from kbundle.verbs.clone import CloneOptions  # noqa: PLC0415
    from kbundle.verbs.clone import clone as run  # noqa: PLC0415

    _check_report_path(report_file)
    options = CloneOptions(
        source=ClusterTarget(kubeconfig, from_context),
        destination=ClusterTarget(to_kubeconfig or kubeconfig, to_context),
        selection=selection,
        transforms=transforms,
        apply=apply,
        preflight=preflight,
    )
    result = with_progress(
        lambda progress: run(
            options,
            progress=progress,
            on_exported=lambda manifest: print_export(
                manifest, f"context {to_context} (streamed)", None
            ),
            on_preflight=_heard,
        ),
        "applying",
    )
    return _finish(result.imported, report_file)
