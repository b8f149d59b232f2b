"""The source/destination pair used by the tests and the demo, local or existing.

Existing clusters named by ``KBUNDLE_TEST_SOURCE_KUBECONFIG`` and
``KBUNDLE_TEST_DESTINATION_KUBECONFIG`` win: nothing is started and fault injection is
unavailable. Otherwise two local control planes are provisioned with different service
ranges (override with ``KBUNDLE_TEST_<ROLE>_SERVICE_CIDR``), so that an import that forgot
to clear or map a clusterIP is refused by the destination as it would be in real life.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml

from testbed.binaries import Binaries, locate
from testbed.local_cluster import (
    LocalCluster,
    merge_kubeconfigs,
    start_clusters,
    write_private_yaml,
)

ROLES = ("source", "destination")
DEFAULT_SERVICE_CIDRS = {"source": "10.96.0.0/16", "destination": "10.112.0.0/16"}


class FaultInjectionUnavailable(RuntimeError):
    """Stopping components needs local clusters; existing clusters are never touched."""


class ClusterUnderTest(Protocol):
    """What tests and the demo need of a cluster, whoever runs it."""

    @property
    def name(self) -> str: ...
    @property
    def kubeconfig(self) -> Path: ...
    @property
    def context(self) -> str: ...
    @property
    def can_inject_faults(self) -> bool: ...
    @property
    def service_cidr(self) -> str | None: ...
    def stop_component(self, component: str) -> None: ...
    def start_component(self, component: str, extra_args: Sequence[str] = ()) -> None:
        """Start a stopped component; ``extra_args`` are added to its flags this time only."""
        ...

    def restart_component(self, component: str, extra_args: Sequence[str] = ()) -> None:
        """Stop and start a component; ``extra_args`` as for ``start_component``."""
        ...


@dataclass(frozen=True)
class ExistingCluster:
    """A cluster someone else runs (kind, minikube...): used, never started or stopped."""

    name: str
    kubeconfig: Path
    context: str
    can_inject_faults: bool = False
    service_cidr: str | None = None

    def stop_component(self, component: str) -> None:
        raise FaultInjectionUnavailable(
            f"cannot stop {component} of existing cluster {self.name}: fault tests need the "
            "local clusters (unset KBUNDLE_TEST_*_KUBECONFIG)"
        )

    def start_component(self, component: str, extra_args: Sequence[str] = ()) -> None:
        self.stop_component(component)

    def restart_component(self, component: str, extra_args: Sequence[str] = ()) -> None:
        self.stop_component(component)


@dataclass
class OwnedLocalCluster:
    """A LocalCluster seen through the ClusterUnderTest protocol, tied to its starter."""

    cluster: LocalCluster
    tie_to_parent: bool
    can_inject_faults: bool = True

    @property
    def name(self) -> str:
        return self.cluster.name

    @property
    def kubeconfig(self) -> Path:
        return self.cluster.kubeconfig

    @property
    def context(self) -> str:
        return self.cluster.context

    @property
    def service_cidr(self) -> str | None:
        return self.cluster.state.service_cidr

    def stop_component(self, component: str) -> None:
        self.cluster.stop_component(component)

    def start_component(self, component: str, extra_args: Sequence[str] = ()) -> None:
        self.cluster.start_component(
            component, extra_args=extra_args, tie_to_parent=self.tie_to_parent
        )

    def restart_component(self, component: str, extra_args: Sequence[str] = ()) -> None:
        self.cluster.restart_component(
            component, extra_args=extra_args, tie_to_parent=self.tie_to_parent
        )


def service_cidr(role: str) -> str:
    return os.environ.get(f"KBUNDLE_TEST_{role.upper()}_SERVICE_CIDR", DEFAULT_SERVICE_CIDRS[role])


def existing_clusters_from_env() -> dict[str, ExistingCluster] | None:
    """The clusters named by the environment, or None when none are named."""
    named = {role: os.environ.get(f"KBUNDLE_TEST_{role.upper()}_KUBECONFIG") for role in ROLES}
    if not any(named.values()):
        return None
    missing = [role for role, path in named.items() if not path]
    if missing:
        raise ValueError(
            "set both KBUNDLE_TEST_SOURCE_KUBECONFIG and KBUNDLE_TEST_DESTINATION_KUBECONFIG "
            f"(missing: {', '.join(missing)})"
        )
    found = {}
    for role, path in named.items():
        kubeconfig = Path(str(path)).expanduser()
        if not kubeconfig.is_file():
            raise ValueError(f"KBUNDLE_TEST_{role.upper()}_KUBECONFIG: no file {kubeconfig}")
        context = os.environ.get(f"KBUNDLE_TEST_{role.upper()}_CONTEXT") or _current_context(
            kubeconfig
        )
        found[role] = ExistingCluster(role, kubeconfig, context)
    return found


def _current_context(kubeconfig: Path) -> str:
    document = yaml.safe_load(kubeconfig.read_text()) or {}
    context = document.get("current-context")
    if not context:
        raise ValueError(f"{kubeconfig} has no current-context; set KBUNDLE_TEST_<ROLE>_CONTEXT")
    return str(context)


def bring_up(
    root: Path,
    roles: tuple[str, ...] = ROLES,
    *,
    tie_to_parent: bool = False,
    binaries: Binaries | None = None,
) -> dict[str, LocalCluster]:
    """Provision (first time) and start local clusters under ``root``; write a merged kubeconfig.

    Re-running is safe: running clusters are left alone, stopped ones start with their data.
    """
    binaries = binaries or locate(build_if_missing=True)
    clusters = {}
    for role in roles:
        folder = root / role
        if (folder / LocalCluster.STATE_FILE).exists():
            clusters[role] = LocalCluster.load(folder, binaries)
        else:
            clusters[role] = LocalCluster.provision(folder, binaries, role, service_cidr(role))
    start_clusters(clusters.values(), tie_to_parent=tie_to_parent)
    write_merged_kubeconfig(root, binaries)
    return clusters


def provisioned(root: Path, binaries: Binaries) -> dict[str, LocalCluster]:
    """Clusters already provisioned under ``root``, by name."""
    if not root.is_dir():
        return {}
    return {
        folder.name: LocalCluster.load(folder, binaries)
        for folder in sorted(root.iterdir())
        if (folder / LocalCluster.STATE_FILE).is_file()
    }


def write_merged_kubeconfig(root: Path, binaries: Binaries) -> Path:
    """``root/kubeconfig`` with one context per provisioned cluster (current: the first)."""
    clusters = list(provisioned(root, binaries).values())
    ordered = sorted(clusters, key=lambda c: ROLES.index(c.name) if c.name in ROLES else 99)
    merged = merge_kubeconfigs((c.kubeconfig_entries() for c in ordered), ordered[0].context)
    path = root / "kubeconfig"
    write_private_yaml(path, merged)
    return path


def tear_down(root: Path, names: tuple[str, ...] = (), *, wipe: bool = False) -> list[str]:
    """Stop the named clusters (all if none named); ``wipe`` also deletes their data."""
    binaries = locate(build_if_missing=False)
    stopped = []
    for name, cluster in provisioned(root, binaries).items():
        if names and name not in names:
            continue
        cluster.stop()
        if wipe:
            shutil.rmtree(cluster.root)
        stopped.append(name)
    if wipe:
        if provisioned(root, binaries):
            write_merged_kubeconfig(root, binaries)
        else:
            (root / "kubeconfig").unlink(missing_ok=True)
    return stopped
