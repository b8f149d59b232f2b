"""One real local control plane: etcd + kube-apiserver + kube-controller-manager on loopback.

Everything a cluster owns lives under one folder (data, PKI, kubeconfig, logs, a state file
with its ports), so a cluster can be stopped and started again by a later command and its
objects survive: etcd keeps them on disk.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from testbed.binaries import Binaries
from testbed.pki import PkiFiles, create_pki, read_tokens
from testbed.processes import ManagedProcess, ProcessStartError

COMPONENTS = ("etcd", "apiserver", "controller-manager")
# Seconds between SIGTERM and SIGKILL. The apiserver and controller-manager are stateless
# and a 1.20 apiserver lingers ~60s draining watches; etcd gets time to close its files.
STOP_GRACE = {"etcd": 15.0, "apiserver": 2.0, "controller-manager": 2.0}
# Controllers that need nodes or a cloud: without them the rest run cleanly with no nodes.
DISABLED_CONTROLLERS = (
    "nodeipam",
    "nodelifecycle",
    "cloud-node-lifecycle",
    "route",
    "service",
    "attachdetach",
)


@dataclass(frozen=True)
class ClusterState:
    """What must stay the same across restarts: name, service range and ports."""

    name: str
    service_cidr: str
    etcd_client_port: int
    etcd_peer_port: int
    apiserver_port: int

    @property
    def context(self) -> str:
        return f"kbundle-{self.name}"


class ClusterNotReady(RuntimeError):
    """A component did not become ready in time; the message carries its log tail."""


class LocalCluster:
    """A local control plane rooted at one folder; see the module docstring."""

    STATE_FILE = "cluster.json"

    def __init__(self, root: Path, binaries: Binaries, state: ClusterState) -> None:
        self.root = root
        self.binaries = binaries
        self.state = state
        self.pki = PkiFiles.under(root / "pki")
        self._processes = {
            name: ManagedProcess(
                name=name,
                args=self._command(name),
                log_path=root / "logs" / f"{name}.log",
                pid_path=root / "run" / f"{name}.pid",
            )
            for name in COMPONENTS
        }

    # -- creation -----------------------------------------------------------------------

    @classmethod
    def provision(
        cls, root: Path, binaries: Binaries, name: str, service_cidr: str = "10.96.0.0/16"
    ) -> LocalCluster:
        """Create the folder, PKI, tokens and kubeconfig of a new cluster (starts nothing)."""
        if (root / cls.STATE_FILE).exists():
            raise FileExistsError(f"{root} already holds a cluster; load it or wipe it first")
        ports = _free_ports(3)
        state = ClusterState(name, service_cidr, ports[0], ports[1], ports[2])
        for sub in ("etcd", "logs", "run"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "etcd").chmod(0o700)
        create_pki(root / "pki", name, service_cidr)
        cluster = cls(root, binaries, state)
        cluster._write_kubeconfigs()
        (root / cls.STATE_FILE).write_text(json.dumps(asdict(state), indent=2) + "\n")
        return cluster

    @classmethod
    def load(cls, root: Path, binaries: Binaries) -> LocalCluster:
        """Re-attach to a cluster provisioned earlier (running or not)."""
        state = ClusterState(**json.loads((root / cls.STATE_FILE).read_text()))
        return cls(root, binaries, state)

    # -- identity -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def context(self) -> str:
        return self.state.context

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.state.apiserver_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def ca_cert(self) -> Path:
        return self.pki.ca_cert

    def admin_token(self) -> str:
        return read_tokens(self.pki).admin

    def kubeconfig_entries(self) -> dict[str, Any]:
        """The cluster, user and context entries of this cluster's admin kubeconfig."""
        return _kubeconfig(
            self.state.context,
            self.server,
            self.pki.ca_cert,
            f"{self.state.context}-admin",
            self.admin_token(),
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, *, tie_to_parent: bool = False, timeout: float = 120.0) -> None:
        """Start whatever is not running, in order, and wait until the cluster is usable."""
        start_clusters([self], tie_to_parent=tie_to_parent, timeout=timeout)

    def stop(self) -> None:
        """Stop all components, controller-manager first; data stays on disk."""
        for name in reversed(COMPONENTS):
            self._processes[name].stop(STOP_GRACE[name])

    def stop_component(self, component: str) -> None:
        self._process(component).stop(STOP_GRACE[component])

    def start_component(
        self,
        component: str,
        *,
        extra_args: Sequence[str] = (),
        tie_to_parent: bool = False,
        timeout: float = 120.0,
    ) -> None:
        """Start one component and wait for it alone to be ready.

        ``extra_args`` are appended to the component's usual flags for this start only (a
        fault test's temporary setting, e.g. ``--max-requests-inflight=1``): any later start
        without them runs the usual command line again. A running component is left alone,
        so asking for extra flags on one is refused (use ``restart_component``).
        """
        process = self._process(component)
        if process.is_running():
            if extra_args:
                raise RuntimeError(
                    f"cluster {self.name}: {component} is running; restart it to change its flags"
                )
        else:
            self._launch(component, extra_args, tie_to_parent=tie_to_parent)
        _wait_until(self, component, timeout)

    def restart_component(
        self,
        component: str,
        *,
        extra_args: Sequence[str] = (),
        tie_to_parent: bool = False,
        timeout: float = 120.0,
    ) -> None:
        """Stop and start one component; ``extra_args`` as for ``start_component``."""
        self.stop_component(component)
        self.start_component(
            component, extra_args=extra_args, tie_to_parent=tie_to_parent, timeout=timeout
        )

    def status(self) -> dict[str, str]:
        """Per component: ``ready``, ``running`` (not answering yet) or ``stopped``."""
        report = {}
        for name in COMPONENTS:
            if not self._processes[name].is_running():
                report[name] = "stopped"
            else:
                report[name] = "ready" if self._component_ready(name) else "running"
        return report

    def logs(self, component: str) -> Path:
        return self._process(component).log_path

    # -- internals ----------------------------------------------------------------------

    def _process(self, component: str) -> ManagedProcess:
        if component not in self._processes:
            raise ValueError(f"unknown component {component!r}; one of {', '.join(COMPONENTS)}")
        return self._processes[component]

    def _launch(
        self, component: str, extra_args: Sequence[str] = (), *, tie_to_parent: bool
    ) -> None:
        """Launch ``component`` with its usual flags plus ``extra_args`` (this start only)."""
        process = self._processes[component]
        process.args = [*self._command(component), *extra_args]
        process.start(tie_to_parent=tie_to_parent)

    def _command(self, component: str) -> list[str]:
        state, pki, root = self.state, self.pki, self.root
        legacy = self.binaries.version < (1, 24, 0)  # insecure ports still exist before 1.24
        if component == "etcd":
            peer = f"http://127.0.0.1:{state.etcd_peer_port}"
            client = f"http://127.0.0.1:{state.etcd_client_port}"
            return [
                str(self.binaries.etcd),
                "--name=default",
                f"--data-dir={root / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--log-level=warn",
            ]
        if component == "apiserver":
            return [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{state.etcd_client_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={state.apiserver_port}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-account-key-file={pki.service_account_public}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--token-auth-file={pki.tokens_csv}",
                "--authorization-mode=RBAC",
                f"--service-cluster-ip-range={state.service_cidr}",
                # The kubernetes Service cannot point at a loopback address.
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                *(["--insecure-port=0"] if legacy else []),
            ]
        return [
            str(self.binaries.kube_controller_manager),
            f"--kubeconfig={root / 'controller-manager.kubeconfig'}",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--leader-elect=false",
            "--controllers=*," + ",".join(f"-{c}" for c in DISABLED_CONTROLLERS),
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--concurrent-gc-syncs=5",
            *(["--port=0"] if legacy else []),
        ]

    def _lost_port_race(self, component: str) -> bool:
        """Free ports are found by binding and releasing them, so another process can take
        one first. If that is why ``component`` died, move it (and whatever talks to it) to
        fresh ports and say so; etcd only before it holds data (it records its peer URL)."""
        process = self._processes[component]
        if "address already in use" not in process.log_tail(40):
            return False
        etcd_fresh = not any((self.root / "etcd").iterdir())
        if component == "etcd" and not etcd_fresh:
            return False
        if component not in ("etcd", "apiserver"):
            return False
        client, peer, apiserver = _free_ports(3)
        if component == "etcd":
            self.state = replace(self.state, etcd_client_port=client, etcd_peer_port=peer)
        else:
            self.state = replace(self.state, apiserver_port=apiserver)
        (self.root / self.STATE_FILE).write_text(json.dumps(asdict(self.state), indent=2) + "\n")
        self._write_kubeconfigs()
        for name in COMPONENTS:
            self._processes[name].args = self._command(name)
        return True

    def _write_kubeconfigs(self) -> None:
        tokens = read_tokens(self.pki)
        write_private_yaml(self.kubeconfig, self.kubeconfig_entries())
        write_private_yaml(
            self.root / "controller-manager.kubeconfig",
            _kubeconfig(
                self.state.context,
                self.server,
                self.pki.ca_cert,
                "kube-controller-manager",
                tokens.controller_manager,
            ),
        )

    def _component_ready(self, component: str) -> bool:
        if component == "etcd":
            url = f"http://127.0.0.1:{self.state.etcd_client_port}/health"
            body = _http_get(url)
            return body is not None and '"health":"true"' in body.replace(" ", "")
        if component == "apiserver":
            return _http_get(f"{self.server}/readyz", self) == "ok"
        # The controller-manager proves itself by its work: a default ServiceAccount and the
        # root CA ConfigMap in the default namespace. (A restarted controller-manager finds
        # them already there, so it is also required to be running.)
        if not self._processes["controller-manager"].is_running():
            return False
        account = _http_get(
            f"{self.server}/api/v1/namespaces/default/serviceaccounts/default", self
        )
        root_ca = _http_get(
            f"{self.server}/api/v1/namespaces/default/configmaps/kube-root-ca.crt", self
        )
        return account is not None and root_ca is not None

    def _not_ready_message(self, component: str) -> str:
        process = self._processes[component]
        exit_code = process.exited_with()
        state = f"exited with {exit_code}" if exit_code is not None else "not ready"
        return (
            f"cluster {self.name}: {component} {state}; last lines of {process.log_path}:\n"
            f"{process.log_tail()}"
        )


def start_clusters(
    clusters: Iterable[LocalCluster], *, tie_to_parent: bool = False, timeout: float = 120.0
) -> None:
    """Start several clusters in lock-step, one component at a time across all of them.

    Processes are launched from the calling thread (``PR_SET_PDEATHSIG`` follows the thread
    that forked), while readiness of all clusters is awaited together to save wall time.
    """
    clusters = list(clusters)
    for component in COMPONENTS:
        for cluster in clusters:
            if not cluster._processes[component].is_running():
                cluster._launch(component, tie_to_parent=tie_to_parent)
        for cluster in clusters:
            for attempt in range(PORT_ATTEMPTS):
                try:
                    _wait_until(cluster, component, timeout)
                    break
                except ProcessStartError:
                    if attempt + 1 == PORT_ATTEMPTS or not cluster._lost_port_race(component):
                        raise
                cluster._launch(component, tie_to_parent=tie_to_parent)


PORT_ATTEMPTS = 3


def _wait_until(cluster: LocalCluster, component: str, timeout: float) -> None:
    """Poll until ``component`` is ready; fail fast if its process already exited."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while not cluster._component_ready(component):
        if cluster._processes[component].exited_with() is not None:
            raise ProcessStartError(cluster._not_ready_message(component))
        if time.monotonic() > deadline:
            raise ClusterNotReady(cluster._not_ready_message(component))
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def _http_get(url: str, cluster: LocalCluster | None = None) -> str | None:
    """Body of a 200 answer, or None for anything else (refused, 5xx, 404, TLS errors)."""
    request = urllib.request.Request(url)
    context = None
    if cluster is not None:
        request.add_header("Authorization", f"Bearer {cluster.admin_token()}")
        context = ssl.create_default_context(cafile=str(cluster.ca_cert))
    try:
        with urllib.request.urlopen(request, timeout=3, context=context) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _kubeconfig(context: str, server: str, ca_cert: Path, user: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
        "preferences": {},
    }


def merge_kubeconfigs(configs: Iterable[dict[str, Any]], current: str) -> dict[str, Any]:
    """One kubeconfig holding the contexts of several clusters."""
    merged: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
        "preferences": {},
    }
    for config in configs:
        for key in ("clusters", "users", "contexts"):
            merged[key].extend(config[key])
    merged["current-context"] = current
    return merged


def write_private_yaml(path: Path, document: dict[str, Any]) -> None:
    """Write a YAML file readable by its owner only (kubeconfigs carry tokens)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(document, handle, sort_keys=False)
