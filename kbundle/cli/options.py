"""Every flag kbundle takes, defined once, in groups that commands share.

Flags are parsed here and nowhere else: strings such as ``OLD=NEW`` become the typed values
the library takes (``ClusterTarget``, ``Selection``, ``TransformSpec``s, ``ApplyOptions``,
``PassphraseSource``...). Only light modules are imported: the enums and option types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

import typer

from kbundle.apply.options import ApplyOptions, DryRunMode, ExistingMode
from kbundle.bundle.passphrase import PassphraseSource
from kbundle.cli.groups import Flag, OptionGroup
from kbundle.core.errors import UsageError
from kbundle.preflight.mode import PreflightMode
from kbundle.remote.refs import RemoteOptions
from kbundle.select.selection import Selection
from kbundle.transforms.spec import PLUGIN, RULES, TransformSpec
from kbundle.verbs.common import ClusterTarget

# -- single flags ----------------------------------------------------------------------------

BundleArgument = Annotated[str, typer.Argument(help="Bundle file ('-' for stdin).")]
Verbose = Annotated[
    int,
    typer.Option(
        "-v",
        "--verbose",
        count=True,
        help="Log to stderr what kbundle does: -v requests that were retried and why, waits "
        "and levels; -vv every request with its timing. Never a Secret value.",
    ),
]
ReportFile = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="Write one JSON record per object to this file (JSON Lines when it ends in .jsonl).",
    ),
]
PreflightFlag = Annotated[
    PreflightMode,
    typer.Option(
        "--preflight",
        help="Check the destination first: warn prints what it lacks and goes on; strict "
        "stops before the first write while a blocker stands; off skips the checks.",
    ),
]
SignWith = Annotated[
    Path | None,
    typer.Option("--sign", help="Sign the bundle with this Ed25519 private key (kbundle keygen)."),
]

# -- the cluster -----------------------------------------------------------------------------


def _cluster(values: Mapping[str, Any]) -> ClusterTarget:
    return ClusterTarget(kubeconfig=values["kubeconfig"], context=values["context"])


CLUSTER = OptionGroup(
    (
        Flag(
            "kubeconfig",
            Annotated[
                str | None,
                typer.Option(
                    "--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config)."
                ),
            ],
        ),
        Flag(
            "context",
            Annotated[
                str | None,
                typer.Option("--context", help="Kubeconfig context (default: the current one)."),
            ],
        ),
    ),
    _cluster,
)

# -- what to take: from a cluster (export), or from a bundle (import, render) ---------------


def _selection(values: Mapping[str, Any]) -> Selection:
    """What to take; export adds what to keep of each object (--keep-*)."""
    return Selection(
        namespaces=tuple(values["namespace"] or ()),
        all_namespaces=values["all_namespaces"],
        selector=values["selector"],
        include_kinds=tuple(values["include_kinds"] or ()),
        exclude_kinds=tuple(values["exclude_kinds"] or ()),
        objects=tuple(values["objects"] or ()),
        include_cluster_resources=values["include_cluster_resources"],
        include_owned=values["include_owned"],
    )


SELECTION = OptionGroup(
    (
        Flag(
            "namespace",
            Annotated[
                list[str] | None,
                typer.Option(
                    "-n",
                    "--namespace",
                    help="Namespace to take (repeatable). Export: default the context's; "
                    "import, render: as the bundle names it, before --map-namespace; default "
                    "all.",
                ),
            ],
        ),
        Flag(
            "all_namespaces",
            Annotated[bool, typer.Option("-A", "--all-namespaces", help="Take every namespace.")],
            False,
        ),
        Flag(
            "selector",
            Annotated[
                str | None,
                typer.Option(
                    "-l", "--selector", help="Label selector, e.g. 'app=shop,tier!=cache'."
                ),
            ],
        ),
        Flag(
            "include_kinds",
            Annotated[
                list[str] | None,
                typer.Option(
                    "--include-kinds",
                    help="Only these kinds (kubectl names, comma-separated, repeatable), "
                    "dependencies included.",
                ),
            ],
        ),
        Flag(
            "exclude_kinds",
            Annotated[
                list[str] | None,
                typer.Option("--exclude-kinds", help="Never these kinds, e.g. secrets,events."),
            ],
        ),
        Flag(
            "objects",
            Annotated[
                list[str] | None,
                typer.Option(
                    "--object",
                    help="KIND/NAME: that object and everything it depends on (repeatable).",
                ),
            ],
        ),
        Flag(
            "include_cluster_resources",
            Annotated[
                str,
                typer.Option(
                    "--include-cluster-resources",
                    help="auto: cluster-scoped objects the selection depends "
                    "on; true: all of them; false: none.",
                ),
            ],
            "auto",
        ),
        Flag(
            "include_owned",
            Annotated[
                bool,
                typer.Option(
                    "--include-owned",
                    help="Export only: keep objects an exported controller recreates "
                    "(ReplicaSets, Pods...).",
                ),
            ],
            False,
        ),
    ),
    _selection,
)

# -- transforms ------------------------------------------------------------------------------


def _pairs(values: list[str] | None, flag: str, shape: str = "OLD=NEW") -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or ():
        key, equals, mapped = value.partition("=")
        if not equals or not key:
            raise UsageError(f"{flag} {value}: expected {shape}")
        if key in pairs:
            raise UsageError(f"{flag} {value}: {key!r} is given twice")
        pairs[key] = mapped
    return pairs


SpecsOf = Callable[[Mapping[str, Any]], list[TransformSpec]]  # all the group's values -> specs


@dataclass(frozen=True)
class TransformFlag:
    """One transform flag, and the transforms it asks for (none when not given). Flags run
    in the order of TRANSFORM_FLAGS (docs/transforms.md): mappings first, so that rules
    and plugins see objects as they will land."""

    flag: Flag
    specs: SpecsOf


def _mapping(name: str, parameter: str, flag: str) -> SpecsOf:
    def specs(values: Mapping[str, Any]) -> list[TransformSpec]:
        if not values[parameter]:
            return []
        extra = {"inData": values["map_ip_in_data"]} if name == "map-ip" else {}
        return [TransformSpec(name, {"mapping": _pairs(values[parameter], flag), **extra})]

    return specs


def _assignments(name: str, parameter: str, flag: str, arg: str) -> SpecsOf:
    def specs(values: Mapping[str, Any]) -> list[TransformSpec]:
        if not values[parameter]:
            return []
        return [TransformSpec(name, {arg: _pairs(values[parameter], flag, "KEY=VALUE")})]

    return specs


def _listed(name: str, parameter: str, arg: str) -> SpecsOf:
    def specs(values: Mapping[str, Any]) -> list[TransformSpec]:
        return [TransformSpec(name, {arg: list(values[parameter])})] if values[parameter] else []

    return specs


def _rules_file(values: Mapping[str, Any]) -> list[TransformSpec]:
    path = values["rules_file"]
    return [] if path is None else [TransformSpec(RULES, {"file": str(path)})]


def _plugins(values: Mapping[str, Any]) -> list[TransformSpec]:
    return [TransformSpec(PLUGIN, {"name": name}) for name in values["plugins"] or ()]


def _none(values: Mapping[str, Any]) -> list[TransformSpec]:
    return []


def _option(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help)


Repeated = list[str] | None
TRANSFORM_FLAGS: tuple[TransformFlag, ...] = (
    TransformFlag(
        Flag(
            "map_namespace",
            Annotated[
                Repeated,
                _option(
                    "--map-namespace",
                    help="OLD=NEW: namespace OLD becomes NEW, with every reference to it "
                    "(repeatable).",
                ),
            ],
        ),
        _mapping("map-namespace", "map_namespace", "--map-namespace"),
    ),
    TransformFlag(
        Flag(
            "map_ip",
            Annotated[
                Repeated,
                _option(
                    "--map-ip",
                    help="SRC_CIDR=DST_CIDR: move addresses to the same offset in DST "
                    "(clusterIPs, externalIPs, loadBalancerIP, hand-written endpoints; "
                    "repeatable).",
                ),
            ],
        ),
        _mapping("map-ip", "map_ip", "--map-ip"),
    ),
    TransformFlag(
        Flag(
            "map_ip_in_data",
            Annotated[
                bool,
                _option(
                    "--map-ip-in-data",
                    help="Also map addresses in ConfigMap data and env values.",
                ),
            ],
            False,
        ),
        _none,  # a modifier of --map-ip
    ),
    TransformFlag(
        Flag(
            "map_registry",
            Annotated[
                Repeated,
                _option(
                    "--map-registry",
                    help="OLD=NEW: pull images from a mirror, keeping tags and digests "
                    "(repeatable).",
                ),
            ],
        ),
        _mapping("map-registry", "map_registry", "--map-registry"),
    ),
    TransformFlag(
        Flag(
            "map_storage_class",
            Annotated[
                Repeated,
                _option(
                    "--map-storage-class",
                    help="OLD=NEW: storage class of claims, claim templates and volumes "
                    "(repeatable).",
                ),
            ],
        ),
        _mapping("map-storage-class", "map_storage_class", "--map-storage-class"),
    ),
    TransformFlag(
        Flag(
            "set_label",
            Annotated[
                Repeated, _option("--set-label", help="KEY=VALUE on every object (repeatable).")
            ],
        ),
        _assignments("set-labels", "set_label", "--set-label", "labels"),
    ),
    TransformFlag(
        Flag(
            "remove_label", Annotated[Repeated, _option("--remove-label", help="KEY (repeatable).")]
        ),
        _listed("remove-labels", "remove_label", "keys"),
    ),
    TransformFlag(
        Flag(
            "set_annotation",
            Annotated[
                Repeated,
                _option("--set-annotation", help="KEY=VALUE on every object (repeatable)."),
            ],
        ),
        _assignments("set-annotations", "set_annotation", "--set-annotation", "annotations"),
    ),
    TransformFlag(
        Flag(
            "remove_annotation",
            Annotated[Repeated, _option("--remove-annotation", help="KEY (repeatable).")],
        ),
        _listed("remove-annotations", "remove_annotation", "keys"),
    ),
    TransformFlag(
        Flag(
            "remove_field",
            Annotated[
                Repeated,
                _option(
                    "--remove-field",
                    help="PATH to remove from every object, e.g. spec.replicas or "
                    "'metadata.annotations[\"example.com/x\"]' (repeatable).",
                ),
            ],
        ),
        _listed("remove-fields", "remove_field", "paths"),
    ),
    TransformFlag(
        Flag(
            "rules_file",
            Annotated[
                Path | None,
                _option(
                    "--transforms",
                    help="Rules file (YAML): conditions and actions, applied in order.",
                ),
            ],
        ),
        _rules_file,
    ),
    TransformFlag(
        Flag(
            "plugins",
            Annotated[
                Repeated,
                _option(
                    "--transform",
                    help="Plugin: an installed entry point name (group kbundle.transforms) "
                    "or package.module:callable (repeatable, in order).",
                ),
            ],
        ),
        _plugins,
    ),
)


def _transform_specs(values: Mapping[str, Any]) -> tuple[TransformSpec, ...]:
    """The transforms the flags ask for, in order (specs: built and validated by the verb,
    before anything is read)."""
    if values["map_ip_in_data"] and not values["map_ip"]:
        raise UsageError("--map-ip-in-data needs at least one --map-ip")
    return tuple(spec for entry in TRANSFORM_FLAGS for spec in entry.specs(values))


TRANSFORMS = OptionGroup(tuple(entry.flag for entry in TRANSFORM_FLAGS), _transform_specs)

# -- how to apply ----------------------------------------------------------------------------


def _apply(values: Mapping[str, Any]) -> ApplyOptions:
    return ApplyOptions(
        existing=values["existing"],
        force_conflicts=values["force_conflicts"],
        dry_run=values["dry_run"],
        parallel=values["parallel"],
        wait_timeout=values["wait_timeout"],
        retry_timeout=values["retry_timeout"],
    )


APPLY = OptionGroup(
    (
        Flag(
            "existing",
            Annotated[
                ExistingMode,
                typer.Option(
                    "--existing",
                    help="Objects that already exist: update (server-side apply), skip, or "
                    "recreate when an update is refused as immutable.",
                ),
            ],
            ExistingMode.UPDATE,
        ),
        Flag(
            "force_conflicts",
            Annotated[
                bool,
                typer.Option(
                    "--force-conflicts", help="Take over fields other field managers own."
                ),
            ],
            False,
        ),
        Flag(
            "dry_run",
            Annotated[
                DryRunMode,
                typer.Option(
                    "--dry-run",
                    help="client: print the plan; server: let the apiserver validate without "
                    "changing anything.",
                ),
            ],
            DryRunMode.NONE,
        ),
        Flag(
            "parallel",
            Annotated[
                int,
                typer.Option(
                    "--parallel", min=1, max=128, help="Objects applied at once within a level."
                ),
            ],
            16,
        ),
        Flag(
            "wait_timeout",
            Annotated[
                float,
                typer.Option(
                    "--wait-timeout",
                    min=1,
                    help="Seconds to wait for CRDs, namespaces and deletions.",
                ),
            ],
            60.0,
        ),
        Flag(
            "retry_timeout",
            Annotated[
                float,
                typer.Option(
                    "--retry-timeout",
                    min=1,
                    help="Seconds the destination may stay unreachable before the "
                    "import stops (re-run the same command to finish).",
                ),
            ],
            120.0,
        ),
    ),
    _apply,
)

# -- trust: signatures and passphrases -------------------------------------------------------


def _trusted_keys(values: Mapping[str, Any]) -> tuple[Path, ...]:
    return tuple(values["require_signature"] or ())


TRUST = OptionGroup(
    (
        Flag(
            "require_signature",
            Annotated[
                list[Path] | None,
                typer.Option(
                    "--require-signature",
                    help="Refuse the bundle unless it is signed by this public key (PEM or "
                    "OpenSSH; repeatable: any of them).",
                ),
            ],
        ),
    ),
    _trusted_keys,
)


def _passphrase(values: Mapping[str, Any]) -> PassphraseSource:
    return PassphraseSource(values["passphrase_file"], values["passphrase_env"])


PASSPHRASE = OptionGroup(
    (
        Flag(
            "passphrase_file",
            Annotated[
                Path | None,
                typer.Option(
                    "--passphrase-file",
                    help="File holding the passphrase of encrypted Secrets (default: "
                    "$KBUNDLE_PASSPHRASE).",
                ),
            ],
        ),
        Flag(
            "passphrase_env",
            Annotated[
                str | None,
                typer.Option(
                    "--passphrase-env",
                    help="Name of the environment variable holding the passphrase (never the "
                    "value).",
                ),
            ],
        ),
    ),
    _passphrase,
)

# -- bundles elsewhere -----------------------------------------------------------------------


def _remote(values: Mapping[str, Any]) -> RemoteOptions:
    return RemoteOptions(
        plain_http=values["plain_http"],
        registry_config=values["registry_config"],
        storage_options=MappingProxyType(
            _pairs(values["storage_option"], "--storage-option", "KEY=VALUE")
        ),
    )


REMOTE = OptionGroup(
    (
        Flag(
            "plain_http",
            Annotated[
                bool,
                typer.Option(
                    "--plain-http",
                    help="Reach OCI registries over plain HTTP (credentials go to loopback "
                    "hosts only).",
                ),
            ],
            False,
        ),
        Flag(
            "registry_config",
            Annotated[
                Path | None,
                typer.Option(
                    "--registry-config",
                    help="Docker config file with registry credentials (default: "
                    "$DOCKER_CONFIG/config.json, ~/.docker/config.json).",
                ),
            ],
        ),
        Flag(
            "storage_option",
            Annotated[
                list[str] | None,
                typer.Option(
                    "--storage-option",
                    help="KEY=VALUE for the object storage backend (s3://, gs://, az://), "
                    "e.g. endpoint_url=http://127.0.0.1:9000 (repeatable).",
                ),
            ],
        ),
    ),
    _remote,
)
