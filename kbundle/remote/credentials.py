"""Registry credentials, read the way registry users already keep them: one Docker config
file, as ``docker login`` and ``oras login`` write it. Which file: ``--registry-config FILE``,
else ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (one file, never merged,
as Docker and oras do). No I/O but reading that file; the values are never logged.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.remote.refs import RemoteOptions

__all__ = ["DockerConfig", "config_path", "load_docker_config"]


def config_path(options: RemoteOptions, environ: dict[str, str] | None = None) -> Path:
    """The one Docker config file credentials are read from."""
    if options.registry_config is not None:
        return options.registry_config
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]).expanduser() / "config.json"
    return Path.home() / ".docker" / "config.json"


@dataclass(frozen=True)
class DockerConfig:
    """The credential parts of a Docker config file, registry keys reduced to host[:port]
    (``https://host/v1/`` -> ``host``), in the shape oras' auth backends read."""

    path: Path
    auths: dict[str, dict[str, Any]] = field(default_factory=dict)
    creds_store: str | None = None
    cred_helpers: dict[str, str] = field(default_factory=dict)

    def for_oras(self) -> dict[str, Any]:
        return {
            "auths": {host: dict(entry) for host, entry in self.auths.items()},
            "credsStore": self.creds_store,
            "credHelpers": dict(self.cred_helpers),
        }

    def describe(self) -> str:
        """Where credentials were looked for, for messages (a path, never a value)."""
        return f"{self.path}" + ("" if self.path.is_file() else " (absent)")


def load_docker_config(
    options: RemoteOptions, environ: dict[str, str] | None = None
) -> DockerConfig:
    """Read the config file; absent is fine (anonymous access) unless named with
    ``--registry-config``. A malformed file is a UsageError naming it, not its content."""
    path = config_path(options, environ)
    if not path.is_file():
        if options.registry_config is not None:
            raise UsageError(f"--registry-config {path}: no such file")
        return DockerConfig(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not a JSON document"
        raise UsageError(f"{path}: cannot read the registry credentials ({reason})") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: not a Docker config file (expected a JSON object)")
    auths: dict[str, dict[str, Any]] = {}
    for key, entry in (doc.get("auths") or {}).items():
        if isinstance(entry, dict):
            host = normalize_host(str(key))
            if host not in auths or key == host:  # an exact key wins over a URL form
                auths[host] = _with_auth(entry)
    helpers = {
        normalize_host(str(k)): str(v)
        for k, v in (doc.get("credHelpers") or {}).items()
        if isinstance(v, str)
    }
    store = doc.get("credsStore")
    return DockerConfig(path, auths, store if isinstance(store, str) else None, helpers)


def normalize_host(key: str) -> str:
    """``https://ghcr.io/v1/`` -> ``ghcr.io``; ``127.0.0.1:5000`` stays as it is."""
    text = key.strip()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    return text.split("/", 1)[0]


def _with_auth(entry: dict[str, Any]) -> dict[str, Any]:
    """oras reads ``auth`` (base64 user:password); some tools write the two fields apart."""
    if entry.get("auth") or not (entry.get("username") and entry.get("password")):
        return dict(entry)
    token = base64.b64encode(f"{entry['username']}:{entry['password']}".encode()).decode()
    return {**entry, "auth": token}
