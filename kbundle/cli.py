"""The ``kbundle`` command line (also ``kubectl bundle``): parse flags, call the library, render.

This is the only module that prints results or chooses exit codes. Library errors are
``KbundleError``s; they become one ``error:`` line on stderr and a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, BinaryIO, TypeVar

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kbundle import __version__, report
from kbundle.apply.engine import ImportOptions
from kbundle.apply.outcome import ImportReport
from kbundle.bundle.reader import read_manifest
from kbundle.bundle.signing import (
    key_id,
    load_private_key,
    load_public_key,
    signature_document,
    write_key_pair,
)
from kbundle.bundle.writer import Signer
from kbundle.clean import CleanOptions
from kbundle.cluster import Cluster, open_cluster
from kbundle.errors import BundleFormatError, KbundleError, UsageError
from kbundle.export import ExportRequest, SecretsPolicy, creation_time, export_bundle
from kbundle.model import SECRETS_EXCLUDED, Manifest
from kbundle.offline import render_bundle, sign_bundle, transform_bundle
from kbundle.replay import import_bundle
from kbundle.scratch import scratch_folder
from kbundle.select.flags import SelectionFlags, resolve_selection
from kbundle.transforms.base import Transform
from kbundle.transforms.pipeline import TransformFlags, build_transforms
from kbundle.trust import PassphraseSource, open_secrets, require_signature
from kbundle.verify import VerifiedBundle, parse_manifest, verify_bundle

app = typer.Typer(
    name="kbundle",
    help="Move Kubernetes objects between clusters that never see each other, through one "
    "verifiable bundle file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)
T = TypeVar("T")
MAX_WARNINGS_SHOWN = 10
MAX_FAILURES_SHOWN = 20


def _print_version(value: bool) -> None:
    if value:
        print(f"kbundle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """kbundle: export a cluster to one file, carry it anywhere, import it elsewhere.

    Example: kbundle export -n shop -o shop.kbundle
    """


NOTHING_WRITTEN = "interrupted: nothing was written"
IMPORT_INTERRUPTED = (
    "interrupted: objects applied so far stay (and requests already sent may still land); "
    "re-run the same command to finish"
)


@contextmanager
def _user_errors(interrupted: str = NOTHING_WRITTEN) -> Iterator[None]:
    """Turn kbundle's errors into one line on stderr and an exit code."""
    try:
        yield
    except KbundleError as error:
        hint = f" ({error.hint})" if error.hint else ""
        err.print(f"error: {error.message}{hint}", markup=False)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        err.print(interrupted, markup=False)
        raise typer.Exit(130) from None


def _with_progress(
    run: Callable[[Callable[[int, int, str], None] | None], T], description: str
) -> T:
    """Run ``run`` with a progress bar on a terminal, silently otherwise."""
    if not err.is_terminal:
        return run(None)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None, what="")

        def advance(done: int, total: int, what: str) -> None:
            progress.update(task, completed=done, total=total, what=what)

        return run(advance)


# -- flags shared by several commands --------------------------------------------------------

Kubeconfig = Annotated[
    str | None,
    typer.Option("--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config)."),
]
Context = Annotated[
    str | None, typer.Option("--context", help="Kubeconfig context (default: the current one).")
]
Namespaces = Annotated[
    list[str] | None,
    typer.Option(
        "-n", "--namespace", help="Namespace to export (repeatable; default: the context's)."
    ),
]
AllNamespaces = Annotated[
    bool, typer.Option("-A", "--all-namespaces", help="Export every namespace.")
]
Selector = Annotated[
    str | None,
    typer.Option("-l", "--selector", help="Label selector, e.g. 'app=shop,tier!=cache'."),
]
IncludeKinds = Annotated[
    list[str] | None,
    typer.Option(
        "--include-kinds",
        help="Only these kinds (kubectl names, comma-separated, repeatable), "
        "dependencies included.",
    ),
]
ExcludeKinds = Annotated[
    list[str] | None,
    typer.Option("--exclude-kinds", help="Never these kinds, e.g. secrets,events."),
]
Objects = Annotated[
    list[str] | None,
    typer.Option(
        "--object", help="KIND/NAME: that object and everything it depends on (repeatable)."
    ),
]
ClusterResources = Annotated[
    str,
    typer.Option(
        "--include-cluster-resources",
        help="auto: cluster-scoped objects the selection depends "
        "on; true: all of them; false: none.",
    ),
]
IncludeOwned = Annotated[
    bool,
    typer.Option(
        "--include-owned",
        help="Keep objects an exported controller recreates (ReplicaSets, Pods...).",
    ),
]
KeepStatus = Annotated[bool, typer.Option("--keep-status", help="Keep the status of objects.")]
KeepLastApplied = Annotated[
    bool,
    typer.Option(
        "--keep-last-applied", help="Keep kubectl's last-applied-configuration annotation."
    ),
]
CompressionLevel = Annotated[
    int, typer.Option("--compression-level", min=1, max=22, help="zstd level.")
]
MapNamespace = Annotated[
    list[str] | None,
    typer.Option(
        "--map-namespace",
        help="OLD=NEW: namespace OLD becomes NEW, with every reference to it (repeatable).",
    ),
]
MapIp = Annotated[
    list[str] | None,
    typer.Option(
        "--map-ip",
        help="SRC_CIDR=DST_CIDR: move addresses to the same offset in DST (clusterIPs, "
        "externalIPs, loadBalancerIP, hand-written endpoints; repeatable).",
    ),
]
MapIpInData = Annotated[
    bool,
    typer.Option("--map-ip-in-data", help="Also map addresses in ConfigMap data and env values."),
]
MapRegistry = Annotated[
    list[str] | None,
    typer.Option(
        "--map-registry",
        help="OLD=NEW: pull images from a mirror, keeping tags and digests (repeatable).",
    ),
]
MapStorageClass = Annotated[
    list[str] | None,
    typer.Option(
        "--map-storage-class",
        help="OLD=NEW: storage class of claims, claim templates and volumes (repeatable).",
    ),
]
SetLabel = Annotated[
    list[str] | None, typer.Option("--set-label", help="KEY=VALUE on every object (repeatable).")
]
RemoveLabel = Annotated[list[str] | None, typer.Option("--remove-label", help="KEY (repeatable).")]
SetAnnotation = Annotated[
    list[str] | None,
    typer.Option("--set-annotation", help="KEY=VALUE on every object (repeatable)."),
]
RemoveAnnotation = Annotated[
    list[str] | None, typer.Option("--remove-annotation", help="KEY (repeatable).")
]
RemoveField = Annotated[
    list[str] | None,
    typer.Option(
        "--remove-field",
        help="PATH to remove from every object, e.g. spec.replicas or "
        "'metadata.annotations[\"example.com/x\"]' (repeatable).",
    ),
]
RulesFile = Annotated[
    Path | None,
    typer.Option(
        "--transforms", help="Rules file (YAML): conditions and actions, applied in order."
    ),
]
Plugins = Annotated[
    list[str] | None,
    typer.Option(
        "--transform",
        help="Plugin: an installed entry point name (group kbundle.transforms) "
        "or package.module:callable (repeatable, in order).",
    ),
]


class ExistingMode(StrEnum):
    update = "update"
    skip = "skip"
    recreate = "recreate"


class DryRunMode(StrEnum):
    none = "none"
    client = "client"
    server = "server"


Existing = Annotated[
    ExistingMode,
    typer.Option(
        "--existing",
        help="Objects that already exist: update (server-side apply), skip, or "
        "recreate when an update is refused as immutable.",
    ),
]
ForceConflicts = Annotated[
    bool, typer.Option("--force-conflicts", help="Take over fields other field managers own.")
]
DryRun = Annotated[
    DryRunMode,
    typer.Option(
        "--dry-run",
        help="client: print the plan; server: let the apiserver validate without "
        "changing anything.",
    ),
]
Parallel = Annotated[
    int, typer.Option("--parallel", min=1, max=128, help="Objects applied at once within a level.")
]
WaitTimeout = Annotated[
    float,
    typer.Option(
        "--wait-timeout", min=1, help="Seconds to wait for CRDs, namespaces and deletions."
    ),
]
RetryTimeout = Annotated[
    float,
    typer.Option(
        "--retry-timeout",
        min=1,
        help="Seconds the destination may stay unreachable before the "
        "import stops (re-run the same command to finish).",
    ),
]
ReportFile = Annotated[
    Path | None, typer.Option("--report", help="Write one JSON record per object to this file.")
]
BundleArgument = Annotated[str, typer.Argument(help="Bundle file ('-' for stdin).")]
RequireSignature = Annotated[
    list[Path] | None,
    typer.Option(
        "--require-signature",
        help="Refuse the bundle unless it is signed by this public key (PEM or OpenSSH; "
        "repeatable: any of them).",
    ),
]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="File holding the passphrase of encrypted Secrets (default: $KBUNDLE_PASSPHRASE).",
    ),
]
PassphraseEnv = Annotated[
    str | None,
    typer.Option(
        "--passphrase-env",
        help="Name of the environment variable holding the passphrase (never the value).",
    ),
]
SignWith = Annotated[
    Path | None,
    typer.Option("--sign", help="Sign the bundle with this Ed25519 private key (kbundle keygen)."),
]


class SecretsMode(StrEnum):
    include = "include"
    exclude = "exclude"
    encrypt = "encrypt"


def _selection_flags(
    namespace: list[str] | None,
    all_namespaces: bool,
    selector: str | None,
    include_kinds: list[str] | None,
    exclude_kinds: list[str] | None,
    objects: list[str] | None,
    include_cluster_resources: str,
    include_owned: bool,
    keep_status: bool,
    keep_last_applied: bool,
) -> SelectionFlags:
    return SelectionFlags(
        namespaces=tuple(namespace or ()),
        all_namespaces=all_namespaces,
        selector=selector,
        include_kinds=tuple(include_kinds or ()),
        exclude_kinds=tuple(exclude_kinds or ()),
        objects=tuple(objects or ()),
        include_cluster_resources=include_cluster_resources,
        include_owned=include_owned,
        keep_status=keep_status,
        keep_last_applied=keep_last_applied,
    )


def _export_request(
    cluster: Cluster, flags: SelectionFlags, compression_level: int
) -> ExportRequest:
    request, info = resolve_selection(
        flags, cluster.discovery(), cluster.target.namespace, cluster.target.context
    )
    return ExportRequest(
        selection=request,
        info=info,
        clean=CleanOptions(
            keep_status=flags.keep_status, keep_last_applied=flags.keep_last_applied
        ),
        created_at=creation_time(),
        compression_level=compression_level,
    )


def _import_options(
    existing: ExistingMode,
    force_conflicts: bool,
    dry_run: DryRunMode,
    parallel: int,
    wait_timeout: float,
    retry_timeout: float,
) -> ImportOptions:
    return ImportOptions(
        existing=str(existing),
        force_conflicts=force_conflicts,
        dry_run=None if dry_run is DryRunMode.none else str(dry_run),
        parallel=parallel,
        wait_timeout=wait_timeout,
        retry_timeout=retry_timeout,
    )


def _transforms(
    map_namespace: list[str] | None,
    map_ip: list[str] | None,
    map_ip_in_data: bool,
    map_registry: list[str] | None,
    map_storage_class: list[str] | None,
    set_label: list[str] | None,
    remove_label: list[str] | None,
    set_annotation: list[str] | None,
    remove_annotation: list[str] | None,
    remove_field: list[str] | None,
    rules_file: Path | None,
    plugins: list[str] | None,
) -> list[Transform]:
    """Build and validate every transform before anything is read or sent."""
    return build_transforms(
        TransformFlags(
            map_namespace=tuple(map_namespace or ()),
            map_ip=tuple(map_ip or ()),
            map_ip_in_data=map_ip_in_data,
            map_registry=tuple(map_registry or ()),
            map_storage_class=tuple(map_storage_class or ()),
            set_label=tuple(set_label or ()),
            remove_label=tuple(remove_label or ()),
            set_annotation=tuple(set_annotation or ()),
            remove_annotation=tuple(remove_annotation or ()),
            remove_field=tuple(remove_field or ()),
            rules_file=rules_file,
            plugins=tuple(plugins or ()),
        )
    )


def _check_report_path(path: Path | None) -> None:
    if path is not None and not path.parent.is_dir():
        raise UsageError(f"--report {path}: folder {path.parent} does not exist")


# -- export ----------------------------------------------------------------------------------


@app.command()
def export(
    output: Annotated[
        str, typer.Option("-o", "--output", help="Bundle file to write ('-' for stdout).")
    ],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespaces = None,
    all_namespaces: AllNamespaces = False,
    selector: Selector = None,
    include_kinds: IncludeKinds = None,
    exclude_kinds: ExcludeKinds = None,
    objects: Objects = None,
    include_cluster_resources: ClusterResources = "auto",
    include_owned: IncludeOwned = False,
    keep_status: KeepStatus = False,
    keep_last_applied: KeepLastApplied = False,
    compression_level: CompressionLevel = 10,
    secrets: Annotated[
        SecretsMode,
        typer.Option(
            "--secrets",
            help="include: Secrets as they are (the file is mode 0600); exclude: never read "
            "them; encrypt: seal their data with a passphrase (--passphrase-file/-env).",
        ),
    ] = SecretsMode.include,
    passphrase_file: PassphraseFile = None,
    passphrase_env: PassphraseEnv = None,
    sign: SignWith = None,
) -> None:
    """Export objects from a cluster into one verifiable bundle file.

    Example: kbundle export -n shop -o shop.kbundle --secrets encrypt --passphrase-file pass.txt
    """
    with _user_errors():
        policy = _secrets_policy(secrets, PassphraseSource(passphrase_file, passphrase_env))
        signer = _signer(sign)
        flags = _selection_flags(
            namespace,
            all_namespaces,
            selector,
            include_kinds,
            exclude_kinds,
            objects,
            include_cluster_resources,
            include_owned,
            keep_status,
            keep_last_applied,
        )
        target = _output_target(output)
        cluster = open_cluster(kubeconfig, context)
        request = _export_request(cluster, flags, compression_level)
        request = dataclasses.replace(request, secrets=policy, signer=signer)
        manifest = _with_progress(
            lambda progress: export_bundle(cluster, request, target, progress=progress),
            "reading",
        )
        size = Path(output).stat().st_size if output != "-" else None
        _report_export(manifest, "stdout" if output == "-" else output, size)


def _secrets_policy(mode: SecretsMode, passphrase: PassphraseSource) -> SecretsPolicy:
    if mode is SecretsMode.encrypt:
        return SecretsPolicy.encrypted(passphrase.read(for_writing=True))
    if passphrase.file is not None or passphrase.env is not None:
        raise UsageError("--passphrase-file/--passphrase-env need --secrets encrypt")
    return SecretsPolicy(SECRETS_EXCLUDED) if mode is SecretsMode.exclude else SecretsPolicy()


def _output_target(output: str) -> Path | BinaryIO:
    if output != "-":
        path = Path(output)
        if path.is_dir():
            raise UsageError(f"-o {output}: is a folder; name the bundle file")
        if not path.parent.is_dir():
            raise UsageError(f"-o {output}: folder {path.parent} does not exist")
        return path
    if sys.stdout.isatty():
        raise UsageError(
            "refusing to write a binary bundle to a terminal", hint="redirect stdout or use -o FILE"
        )
    return sys.stdout.buffer


def _report_export(manifest: Manifest, where: str, size: int | None) -> None:
    err.print(report.export_summary(manifest, where, size), markup=False)
    for warning in manifest.warnings[:MAX_WARNINGS_SHOWN]:
        err.print(f"warning: {warning.message}", markup=False)
    if len(manifest.warnings) > MAX_WARNINGS_SHOWN:
        err.print(
            f"... and {len(manifest.warnings) - MAX_WARNINGS_SHOWN} more warnings "
            f"(kbundle inspect {where})",
            markup=False,
        )


# -- verify and inspect ----------------------------------------------------------------------


def _bundle_source(bundle: str) -> Path | BinaryIO:
    if bundle == "-":
        return sys.stdin.buffer
    path = Path(bundle)
    if not path.is_file():
        raise UsageError(f"{bundle}: no such bundle file")
    return path


@contextmanager
def _naming(bundle: str) -> Iterator[None]:
    """Errors about a bundle's content name the bundle first, then the member."""
    try:
        yield
    except BundleFormatError as error:
        shown = "stdin" if bundle == "-" else bundle
        raise type(error)(f"{shown}: {error.message}", hint=error.hint) from None


def _verified(
    bundle: str,
    work: Path,
    trusted: list[Path] | None = None,
    passphrase: PassphraseSource | None = None,
) -> VerifiedBundle:
    """Verify, check the signature if asked, and open encrypted Secrets if a passphrase
    source is given: all offline, all before any request."""
    with _naming(bundle):
        verified = verify_bundle(_bundle_source(bundle), work)
        require_signature(verified, trusted or [])
        return verified if passphrase is None else open_secrets(verified, passphrase)


def _signer(key: Path | None) -> Signer | None:
    return None if key is None else _signer_of(load_private_key(key))


def _signer_of(private: Ed25519PrivateKey) -> Signer:
    return lambda manifest: signature_document(manifest, private)


@app.command()
def verify(bundle: BundleArgument, require_signature: RequireSignature = None) -> None:
    """Check a bundle completely, offline: structure, schema, version, every checksum and
    every object, and with --require-signature who signed it. Exit 0 only if all of it holds.

    Example: kbundle verify shop.kbundle --require-signature team.pub
    """
    with _user_errors(), scratch_folder("kbundle-verify-") as work:
        verified = _verified(bundle, work, require_signature)
        print(report.verified_summary(bundle, verified.manifest))
        print(report.signature_line(verified.signature, trusted=bool(require_signature)))
        print(report.secrets_line(verified.manifest))


class InspectFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def inspect(
    bundle: BundleArgument,
    output: Annotated[
        InspectFormat, typer.Option("--output", "-o", help="text or json.")
    ] = InspectFormat.text,
) -> None:
    """Show what a bundle holds: levels, kinds, counts, what was left out, warnings.
    Reads only the manifest; use `kbundle verify` to check the content.

    Example: kbundle inspect shop.kbundle --output json
    """
    with _user_errors(), _naming(bundle):
        manifest = parse_manifest(read_manifest(_bundle_source(bundle)))
        if output is InspectFormat.json:
            print(json.dumps(manifest.to_dict(), indent=2))
            return
        for line in report.manifest_header(manifest):
            out.print(line, markup=False)
        for table in report.manifest_tables(manifest):
            out.print(table)
        for warning in manifest.warnings:
            out.print(f"warning [{warning.code}]: {warning.message}", markup=False)


# -- import and clone ------------------------------------------------------------------------


@app.command("import")
def import_(
    bundle: BundleArgument,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    map_namespace: MapNamespace = None,
    map_ip: MapIp = None,
    map_ip_in_data: MapIpInData = False,
    map_registry: MapRegistry = None,
    map_storage_class: MapStorageClass = None,
    set_label: SetLabel = None,
    remove_label: RemoveLabel = None,
    set_annotation: SetAnnotation = None,
    remove_annotation: RemoveAnnotation = None,
    remove_field: RemoveField = None,
    rules_file: RulesFile = None,
    plugins: Plugins = None,
    existing: Existing = ExistingMode.update,
    force_conflicts: ForceConflicts = False,
    dry_run: DryRun = DryRunMode.none,
    parallel: Parallel = 16,
    wait_timeout: WaitTimeout = 60.0,
    retry_timeout: RetryTimeout = 120.0,
    report_file: ReportFile = None,
    require_signature: RequireSignature = None,
    passphrase_file: PassphraseFile = None,
    passphrase_env: PassphraseEnv = None,
) -> None:
    """Verify a bundle, then replay it into a cluster: level by level, idempotently.
    Nothing is sent to the cluster unless the whole bundle verifies (and, if asked, its
    signature, and the passphrase of its encrypted Secrets).

    Example: kbundle import shop.kbundle --map-namespace shop=shop-restored
    """
    with _user_errors(IMPORT_INTERRUPTED), scratch_folder("kbundle-import-") as work:
        transforms = _transforms(
            map_namespace,
            map_ip,
            map_ip_in_data,
            map_registry,
            map_storage_class,
            set_label,
            remove_label,
            set_annotation,
            remove_annotation,
            remove_field,
            rules_file,
            plugins,
        )
        _check_report_path(report_file)
        options = _import_options(
            existing, force_conflicts, dry_run, parallel, wait_timeout, retry_timeout
        )
        verified = _verified(  # before any request
            bundle,
            work,
            require_signature,
            PassphraseSource(passphrase_file, passphrase_env),
        )
        cluster = open_cluster(kubeconfig, context, pool_size=parallel + 4)
        _replay(cluster, verified, transforms, options, report_file)


def _replay(
    cluster: Cluster,
    verified: VerifiedBundle,
    transforms: list[Transform],
    options: ImportOptions,
    report_file: Path | None,
) -> None:
    result = _with_progress(
        lambda progress: import_bundle(cluster, verified, transforms, options, progress=progress),
        "applying",
    )
    if report_file is not None:
        result.write_json(report_file)
    _print_import_report(result, cluster.target.context)
    if not result.ok:
        raise typer.Exit(1)


def _print_import_report(result: ImportReport, context: str) -> None:
    if result.dry_run == "client":
        for line in report.plan_lines(result):
            out.print(line, markup=False)
    out.print(report.import_table(result, context))
    for outcome in result.failed[:MAX_FAILURES_SHOWN]:
        err.print(f"failed: {outcome.ref}: {outcome.message}", markup=False)
    if len(result.failed) > MAX_FAILURES_SHOWN:
        err.print(
            f"... and {len(result.failed) - MAX_FAILURES_SHOWN} more failures "
            "(--report FILE.json lists every object)",
            markup=False,
        )
    if result.aborted:
        err.print(f"error: {result.aborted}", markup=False)


@app.command()
def clone(
    from_context: Annotated[str, typer.Option("--from-context", help="Context to read from.")],
    to_context: Annotated[str, typer.Option("--to-context", help="Context to write to.")],
    kubeconfig: Kubeconfig = None,
    to_kubeconfig: Annotated[
        str | None,
        typer.Option(
            "--to-kubeconfig", help="Kubeconfig of the destination (default: --kubeconfig)."
        ),
    ] = None,
    namespace: Namespaces = None,
    all_namespaces: AllNamespaces = False,
    selector: Selector = None,
    include_kinds: IncludeKinds = None,
    exclude_kinds: ExcludeKinds = None,
    objects: Objects = None,
    include_cluster_resources: ClusterResources = "auto",
    include_owned: IncludeOwned = False,
    map_namespace: MapNamespace = None,
    map_ip: MapIp = None,
    map_ip_in_data: MapIpInData = False,
    map_registry: MapRegistry = None,
    map_storage_class: MapStorageClass = None,
    set_label: SetLabel = None,
    remove_label: RemoveLabel = None,
    set_annotation: SetAnnotation = None,
    remove_annotation: RemoveAnnotation = None,
    remove_field: RemoveField = None,
    rules_file: RulesFile = None,
    plugins: Plugins = None,
    existing: Existing = ExistingMode.update,
    force_conflicts: ForceConflicts = False,
    dry_run: DryRun = DryRunMode.none,
    parallel: Parallel = 16,
    wait_timeout: WaitTimeout = 60.0,
    retry_timeout: RetryTimeout = 120.0,
    report_file: ReportFile = None,
) -> None:
    """Export from one context straight into another, with no bundle file in between (the
    stream is still verified before anything is applied).

    Example: kbundle clone --from-context prod --to-context staging -n shop
    """
    with _user_errors(IMPORT_INTERRUPTED), scratch_folder("kbundle-clone-") as work:
        flags = _selection_flags(
            namespace,
            all_namespaces,
            selector,
            include_kinds,
            exclude_kinds,
            objects,
            include_cluster_resources,
            include_owned,
            False,
            False,
        )
        transforms = _transforms(
            map_namespace,
            map_ip,
            map_ip_in_data,
            map_registry,
            map_storage_class,
            set_label,
            remove_label,
            set_annotation,
            remove_annotation,
            remove_field,
            rules_file,
            plugins,
        )
        _check_report_path(report_file)
        options = _import_options(
            existing, force_conflicts, dry_run, parallel, wait_timeout, retry_timeout
        )
        source = open_cluster(kubeconfig, from_context)
        destination = open_cluster(to_kubeconfig or kubeconfig, to_context, pool_size=parallel + 4)
        request = _export_request(source, flags, compression_level=3)
        verified = _stream_export(source, request, work)
        _report_export(verified.manifest, f"context {to_context} (streamed)", None)
        _replay(destination, verified, transforms, options, report_file)


def _stream_export(source: Cluster, request: ExportRequest, work: Path) -> VerifiedBundle:
    """Export into a pipe that verification reads from; the export's own error wins."""
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        with os.fdopen(write_end, "wb") as stream:
            try:
                export_bundle(source, request, stream)
            except BaseException as error:
                failure.append(error)

    producer = threading.Thread(target=produce, name="kbundle-export", daemon=True)
    producer.start()
    try:
        with os.fdopen(read_end, "rb") as stream:
            verified = verify_bundle(stream, work)
    except KbundleError:
        producer.join()
        if failure:
            raise failure[0] from None
        raise
    producer.join()
    if failure:
        raise failure[0]
    return verified


# -- offline: transform and render ---------------------------------------------------------


@app.command()
def transform(
    bundle: BundleArgument,
    output: Annotated[
        str, typer.Option("-o", "--output", help="New bundle file ('-' for stdout).")
    ],
    map_namespace: MapNamespace = None,
    map_ip: MapIp = None,
    map_ip_in_data: MapIpInData = False,
    map_registry: MapRegistry = None,
    map_storage_class: MapStorageClass = None,
    set_label: SetLabel = None,
    remove_label: RemoveLabel = None,
    set_annotation: SetAnnotation = None,
    remove_annotation: RemoveAnnotation = None,
    remove_field: RemoveField = None,
    rules_file: RulesFile = None,
    plugins: Plugins = None,
    require_signature: RequireSignature = None,
    sign: SignWith = None,
) -> None:
    """Rewrite a bundle into a new bundle, offline: new checksums, and the manifest records
    which transforms ran. Encrypted Secrets stay sealed; the new bundle is signed only
    with --sign.

    Example: kbundle transform shop.kbundle -o staging.kbundle --map-registry docker.io=mirror.local
    """
    with _user_errors(), scratch_folder("kbundle-transform-") as work:
        transforms = _transforms(
            map_namespace,
            map_ip,
            map_ip_in_data,
            map_registry,
            map_storage_class,
            set_label,
            remove_label,
            set_annotation,
            remove_annotation,
            remove_field,
            rules_file,
            plugins,
        )
        signer = _signer(sign)
        target = _output_target(output)
        verified = _verified(bundle, work / "in", require_signature)
        _, result = transform_bundle(
            verified, transforms, target, creation_time(), work, signer=signer
        )
        size = Path(output).stat().st_size if output != "-" else None
        where = "stdout" if output == "-" else output
        err.print(
            f"wrote {result.objects} objects to {where}"
            + (f" ({report.human_size(size)})" if size is not None else "")
            + f" after {len(transforms)} transforms, {len(result.rewrites)} rewrites",
            markup=False,
        )


@app.command()
def render(
    bundle: BundleArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write (new or empty).")],
    map_namespace: MapNamespace = None,
    map_ip: MapIp = None,
    map_ip_in_data: MapIpInData = False,
    map_registry: MapRegistry = None,
    map_storage_class: MapStorageClass = None,
    set_label: SetLabel = None,
    remove_label: RemoveLabel = None,
    set_annotation: SetAnnotation = None,
    remove_annotation: RemoveAnnotation = None,
    remove_field: RemoveField = None,
    rules_file: RulesFile = None,
    plugins: Plugins = None,
    require_signature: RequireSignature = None,
    passphrase_file: PassphraseFile = None,
    passphrase_env: PassphraseEnv = None,
) -> None:
    """Write a bundle as plain YAML, one file per level (00-crds.yaml, 01-namespaces.yaml...),
    for GitOps or kubectl apply. clusterIPs are cleared and ownerReferences removed, as
    nothing could rebuild them there. Secrets go to their own NN-level.secrets.yaml files,
    mode 0600.

    Example: kbundle render shop.kbundle -o shop-yaml/ --map-namespace shop=shop-prod
    """
    with _user_errors(), scratch_folder("kbundle-render-") as work:
        transforms = _transforms(
            map_namespace,
            map_ip,
            map_ip_in_data,
            map_registry,
            map_storage_class,
            set_label,
            remove_label,
            set_annotation,
            remove_annotation,
            remove_field,
            rules_file,
            plugins,
        )
        verified = _verified(
            bundle,
            work,
            require_signature,
            PassphraseSource(passphrase_file, passphrase_env),
        )
        result = render_bundle(verified, transforms, output)
        err.print(
            f"wrote {result.objects} objects in {len(result.files)} files to {output}", markup=False
        )
        for ref in result.dropped_owner_references[:MAX_WARNINGS_SHOWN]:
            err.print(
                f"warning: ownerReferences of {ref} removed (owners get new UIDs "
                "wherever this is applied)",
                markup=False,
            )


# -- signatures ------------------------------------------------------------------------------


@app.command()
def keygen(
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="Private key file to create (the public key: FILE.pub)."
        ),
    ],
) -> None:
    """Create an Ed25519 key pair for signing bundles: FILE (private, mode 0600) and
    FILE.pub (public, to hand to whoever imports).

    Example: kbundle keygen -o team.key
    """
    with _user_errors():
        public = write_key_pair(output)
        err.print(
            f"wrote {output} (private, keep it safe) and {public} (public); "
            f"key id {key_id(load_public_key(public))}",
            markup=False,
        )


@app.command()
def sign(
    bundle: Annotated[str, typer.Argument(help="Bundle file to sign.")],
    key: Annotated[Path, typer.Option("--key", help="Ed25519 private key (kbundle keygen).")],
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Write the signed bundle here (default: in place)."),
    ] = None,
) -> None:
    """Sign a bundle: the signature covers the manifest, which holds the digest of every
    object file. The bundle is verified first; nothing else in it changes.

    Example: kbundle sign shop.kbundle --key team.key
    """
    with _user_errors(), scratch_folder("kbundle-sign-") as work:
        private = load_private_key(key)
        target = _output_target(output or bundle)
        verified = _verified(bundle, work)
        sign_bundle(verified, _signer_of(private), target)
        replaced = " (replacing its previous signature)" if verified.signature else ""
        err.print(
            f"signed {output or bundle} with key {key_id(private.public_key())}{replaced}",
            markup=False,
        )


def main() -> None:
    """Console-script entry point for both ``kbundle`` and ``kubectl-bundle``."""
    app()
