"""Command line for the local test clusters: ``python -m testbed up|down|status|...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kbundle.cluster import open_cluster
from kbundle.core.errors import KbundleError
from testbed.binaries import BinariesNotFound, locate
from testbed.clusters import (
    ROLES,
    bring_up,
    existing_clusters_from_env,
    provisioned,
    tear_down,
)
from testbed.debian_build import BuildError
from testbed.demo import run_demo
from testbed.local_cluster import COMPONENTS, ClusterNotReady, LocalCluster
from testbed.paths import clusters_root
from testbed.processes import ProcessStartError
from testbed.registry import ensure_installed as ensure_registry_installed

app = typer.Typer(
    help="Real local Kubernetes control planes (etcd + kube-apiserver + kube-controller-manager)"
    " for kbundle's tests and demo.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
DEFAULT_ROOT = clusters_root()

RootOption = Annotated[
    Path,
    typer.Option("--root", envvar="KBUNDLE_TESTENV_ROOT", help="Folder holding the clusters."),
]


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


@app.command()
def build() -> None:
    """Find or build the control-plane binaries (builds from Debian's source, ~6 min, once).

    Example: python -m testbed build
    """
    try:
        binaries = locate(build_if_missing=True)
    except (BinariesNotFound, BuildError) as error:
        _fail(str(error))
        return
    out.print(f"Kubernetes v{binaries.version_text} ({binaries.origin}): {binaries.folder}")


@app.command()
def prepare() -> None:
    """Make sure the tests can get clusters: check the existing ones, or find/build binaries;
    and install the OCI registry (Debian's docker-registry) the registry tests start.

    Example: python -m testbed prepare
    """
    try:
        out.print(f"OCI registry: {ensure_registry_installed()}")
    except (BuildError, ProcessStartError) as error:
        _fail(str(error))
        return
    try:
        existing = existing_clusters_from_env()
    except ValueError as error:
        _fail(str(error))
        return
    if existing is None:
        build()
        return
    for role, cluster in existing.items():
        try:
            version = open_cluster(str(cluster.kubeconfig), cluster.context).server_version()
        except KbundleError as error:
            _fail(f"{role} cluster ({cluster.kubeconfig}, {cluster.context}): {error}")
            return
        out.print(f"{role}: existing cluster {cluster.context}, Kubernetes {version}")


@app.command()
def demo(
    root: Annotated[Path | None, typer.Option(help="Folder for the demo's clusters.")] = None,
) -> None:
    """Run the main job end to end on two local clusters (what `make demo` runs).

    Example: python -m testbed demo
    """
    try:
        run_demo(root)
    except (
        KbundleError,
        BinariesNotFound,
        BuildError,
        ClusterNotReady,
        ProcessStartError,
    ) as error:
        _fail(str(error))


@app.command()
def up(
    roles: Annotated[list[str] | None, typer.Argument(help="Clusters to start.")] = None,
    root: RootOption = DEFAULT_ROOT,
) -> None:
    """Start the local clusters (provisioning them the first time); data survives restarts.

    Example: python -m testbed up source destination
    """
    try:
        clusters = bring_up(root, tuple(roles or ROLES))
    except (BinariesNotFound, BuildError, ClusterNotReady, ProcessStartError) as error:
        _fail(str(error))
        return
    for cluster in clusters.values():
        out.print(
            f"{cluster.context}: {cluster.server} (service CIDR {cluster.state.service_cidr})"
        )
    out.print(f"kubeconfig with every context: {root / 'kubeconfig'}")


@app.command()
def down(
    names: Annotated[
        list[str] | None, typer.Argument(help="Clusters to stop (default: all).")
    ] = None,
    root: RootOption = DEFAULT_ROOT,
    wipe: Annotated[bool, typer.Option(help="Also delete the clusters' data.")] = False,
) -> None:
    """Stop local clusters; their data stays unless --wipe.

    Example: python -m testbed down source
    """
    try:
        stopped = tear_down(root, tuple(names or ()), wipe=wipe)
    except BinariesNotFound as error:
        _fail(str(error))
        return
    out.print(f"stopped: {', '.join(stopped) or 'nothing'}" + (" (wiped)" if wipe else ""))


@app.command()
def status(root: RootOption = DEFAULT_ROOT) -> None:
    """Show each local cluster's components.

    Example: python -m testbed status
    """
    try:
        clusters = provisioned(root, locate(build_if_missing=False))
    except BinariesNotFound as error:
        _fail(str(error))
        return
    if not clusters:
        out.print(f"no clusters under {root}")
        return
    table = Table("cluster", "server", *COMPONENTS)
    for cluster in clusters.values():
        state = cluster.status()
        table.add_row(cluster.context, cluster.server, *(state[c] for c in COMPONENTS))
    out.print(table)


@app.command()
def stop(
    name: Annotated[str, typer.Argument(help="Cluster name, e.g. source.")],
    component: Annotated[str, typer.Argument(help=f"One of: {', '.join(COMPONENTS)}.")],
    root: RootOption = DEFAULT_ROOT,
) -> None:
    """Stop one component of one cluster (to rehearse faults by hand).

    Example: python -m testbed stop destination apiserver
    """
    _cluster(root, name).stop_component(component)


@app.command()
def start(
    name: Annotated[str, typer.Argument(help="Cluster name, e.g. source.")],
    component: Annotated[str, typer.Argument(help=f"One of: {', '.join(COMPONENTS)}.")],
    root: RootOption = DEFAULT_ROOT,
) -> None:
    """Start one component of one cluster and wait until it is ready.

    Example: python -m testbed start destination apiserver
    """
    _cluster(root, name).start_component(component)


@app.command()
def kubeconfig(root: RootOption = DEFAULT_ROOT) -> None:
    """Print the path of the kubeconfig holding every local cluster's context.

    Example: kubectl --kubeconfig "$(python -m testbed kubeconfig)" get ns
    """
    path = root / "kubeconfig"
    if not path.is_file():
        _fail(f"no clusters under {root}; run `python -m testbed up` first")
    print(path)


def _cluster(root: Path, name: str) -> LocalCluster:
    clusters = provisioned(root, locate(build_if_missing=False))
    if name not in clusters:
        _fail(f"no cluster {name!r} under {root} (have: {', '.join(clusters) or 'none'})")
    return clusters[name]


if __name__ == "__main__":
    app()
