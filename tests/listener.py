"""A stand-in apiserver that only counts connection attempts, and a kubeconfig aimed at it.

Tests that must prove "nothing reached the cluster" point kbundle at a ``ConnectionCounter``
through ``write_counting_kubeconfig`` and assert ``counter.connections == 0`` afterwards.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from types import TracebackType

import yaml


class ConnectionCounter:
    """A TCP listener standing in for an apiserver: counts every connection attempt."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self._count = 0
        self._waiting_probes: set[tuple[str, int]] = set()  # connecting, not yet accepted
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def connections(self) -> int:
        """Connections accepted so far (a connection still queued may not be counted yet:
        ``settled`` waits for those)."""
        with self._changed:
            return self._count

    def settled(self, timeout: float = 10.0) -> int:
        """Every connection made before this call, once the listener has accepted them all.

        A probe connection queues behind any earlier one, so when the probe is accepted,
        each connection before it has been counted. Probes are not counted.
        """
        with socket.socket() as probe:
            probe.settimeout(timeout)
            probe.bind(("127.0.0.1", 0))
            address = probe.getsockname()[:2]
            with self._changed:
                self._waiting_probes.add(address)
            probe.connect(("127.0.0.1", self.port))
            with self._changed:
                if not self._changed.wait_for(lambda: address not in self._waiting_probes, timeout):
                    raise TimeoutError("the listener did not accept the probe connection")
        return self.connections

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            with self._changed:
                if peer[:2] in self._waiting_probes:
                    self._waiting_probes.remove(peer[:2])
                else:
                    self._count += 1
                self._changed.notify_all()
            conn.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> ConnectionCounter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def write_counting_kubeconfig(path: Path, port: int) -> Path:
    """Write a kubeconfig whose only context, ``counted``, talks to 127.0.0.1:``port``."""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "counted",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": f"https://127.0.0.1:{port}",
                            "insecure-skip-tls-verify": True,
                        },
                    }
                ],
                "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
                "contexts": [{"name": "counted", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    return path
