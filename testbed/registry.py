"""A real OCI registry on loopback for the tests: Debian's ``docker-registry`` package (the
CNCF distribution registry, 2.8), plain HTTP, with no auth, basic auth (htpasswd, bcrypt) or
bearer tokens (from ``testbed.token_auth``'s issuer).

Like the clusters, it is a real server, never a mock: media types, digests, upload sessions
and auth challenges are what the registry decides. One folder per registry holds its config,
its storage (tests tamper with blobs there), its log and its pid file; a registry started for
a pytest session dies with it (``PR_SET_PDEATHSIG``, see ``testbed.processes``).
"""

from __future__ import annotations

import base64
import fcntl
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import yaml

from testbed.debian_build import ensure_system_packages
from testbed.paths import cache_root
from testbed.processes import ManagedProcess, ProcessStartError
from testbed.token_auth import TokenIssuer

PACKAGE = "docker-registry"
BINARY = Path("/usr/bin/docker-registry")
READY_TIMEOUT = 30.0
PORT_ATTEMPTS = 3


class RegistryNotReady(RuntimeError):
    """The registry did not answer ``/v2/`` in time; the message carries its log tail."""


def ensure_installed() -> Path:
    """The registry binary, installing Debian's package first if needed (root or sudo)."""
    if not BINARY.is_file():
        root = cache_root()
        root.mkdir(parents=True, exist_ok=True)
        with (root / ".apt.lock").open("w") as lock:  # one apt-get at a time per machine
            fcntl.flock(lock, fcntl.LOCK_EX)
            ensure_system_packages((PACKAGE,), step="install the OCI registry")
    if not BINARY.is_file():
        raise ProcessStartError(f"{PACKAGE} is installed but {BINARY} is missing")
    return BINARY


@dataclass(frozen=True)
class Credentials:
    """A registry user, and a Docker config folder (``$DOCKER_CONFIG``) that logs it in."""

    user: str
    password: str
    docker_config: Path  # a folder holding config.json


@dataclass
class LocalRegistry:
    """One distribution registry on 127.0.0.1, in its own folder."""

    root: Path
    port: int
    credentials: Credentials | None = None
    token_issuer: TokenIssuer | None = None  # bearer tokens instead of basic auth
    _process: ManagedProcess = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._process = ManagedProcess(
            name="registry",
            args=[str(BINARY), "serve", str(self.config_path)],
            log_path=self.root / "registry.log",
            pid_path=self.root / "registry.pid",
        )

    @classmethod
    def provision(
        cls, root: Path, *, with_auth: bool = False, with_token_auth: bool = False
    ) -> LocalRegistry:
        """Write the config for a new registry in ``root`` (not started): no auth, basic
        auth (an htpasswd file), or bearer tokens from a ``TokenIssuer`` on loopback."""
        root.mkdir(parents=True, exist_ok=True)
        registry = cls(root, _free_port())
        password = secrets.token_urlsafe(18)
        if with_auth:
            registry.credentials = registry._write_htpasswd("kbundle", password)
        elif with_token_auth:
            registry.token_issuer = TokenIssuer(root / "token-issuer", "kbundle", password)
            registry.credentials = Credentials("kbundle", password, root / "docker-config")
            registry._write_docker_config(registry.credentials)
        registry._write_config()
        return registry

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, as an ``oci://`` reference names it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def config_path(self) -> Path:
        return self.root / "config.yml"

    @property
    def storage(self) -> Path:
        """The filesystem driver's root: tests change blobs here behind the registry's back."""
        return self.root / "storage"

    @property
    def log_path(self) -> Path:
        return self._process.log_path

    def blob_path(self, digest: str) -> Path:
        """Where the registry keeps the bytes of blob ``sha256:...`` (distribution's layout)."""
        algorithm, _, hex_digest = digest.partition(":")
        return (
            self.storage
            / "docker/registry/v2/blobs"
            / algorithm
            / hex_digest[:2]
            / hex_digest
            / "data"
        )

    def start(self, *, tie_to_parent: bool = True, timeout: float = READY_TIMEOUT) -> None:
        """Start the registry and wait until ``/v2/`` answers (200, or 401 with auth). A
        free port is found by binding and releasing it, so another process may take it
        first: then the registry moves to a fresh port and starts again."""
        ensure_installed()
        for attempt in range(PORT_ATTEMPTS):
            try:
                self._start_once(tie_to_parent, timeout)
                return
            except ProcessStartError:
                lost_race = "address already in use" in self._process.log_tail(40)
                if not lost_race or attempt + 1 == PORT_ATTEMPTS:
                    raise
                self.port = _free_port()
                self._write_config()
                if self.credentials is not None:
                    self._write_docker_config(self.credentials)

    def _start_once(self, tie_to_parent: bool, timeout: float) -> None:
        self._process.start(tie_to_parent=tie_to_parent)
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self._process.exited_with() is not None:
                self._process.stop()
                raise ProcessStartError(
                    f"docker-registry exited while starting:\n{self._process.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RegistryNotReady(
                    f"docker-registry on {self.host} did not answer /v2/ within {timeout:.0f}s:"
                    f"\n{self._process.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        self._process.stop(timeout=5.0)
        if self.token_issuer is not None:
            self.token_issuer.stop()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/v2/", timeout=2) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError as error:
            return error.code == 401 and self.credentials is not None
        except OSError:
            return False

    def _write_config(self) -> None:
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text"},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                # an interrupted upload must stay visible to the tests, not be purged
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if self.token_issuer is not None:
            config["auth"] = {"token": self.token_issuer.registry_auth()}
        elif self.credentials is not None:
            config["auth"] = {
                "htpasswd": {"realm": "kbundle-test", "path": str(self.root / "htpasswd")}
            }
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def _write_htpasswd(self, user: str, password: str) -> Credentials:
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
        (self.root / "htpasswd").write_text(f"{user}:{hashed}\n")
        credentials = Credentials(user, password, self.root / "docker-config")
        self._write_docker_config(credentials)
        return credentials

    def _write_docker_config(self, credentials: Credentials) -> None:
        """What ``docker login 127.0.0.1:PORT`` would write."""
        credentials.docker_config.mkdir(exist_ok=True)
        token = base64.b64encode(f"{credentials.user}:{credentials.password}".encode()).decode()
        path = credentials.docker_config / "config.json"
        path.write_text(json.dumps({"auths": {self.host: {"auth": token}}}, indent=2) + "\n")
        path.chmod(0o600)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
