"""A TCP forwarder on loopback that counts the bytes going each way, to prove how much a
client downloaded ("inspect fetched only the small layer") from a real server.

A forwarder rather than the server's access log: it counts every byte on the wire, headers
included, and a byte is counted before it is passed on, so once the client holds an answer
the count already includes it (no waiting for a log line to be flushed).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class CountingForwarder:
    """Listens on 127.0.0.1, forwards each connection to ``target_port`` on 127.0.0.1."""

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._lock = threading.Lock()
        self._served = 0  # server -> client
        self._received = 0  # client -> server
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: what a client names instead of the server's own address."""
        return f"127.0.0.1:{self.port}"

    @property
    def served(self) -> int:
        """Bytes the server sent to clients so far (headers included)."""
        with self._lock:
            return self._served

    @property
    def received(self) -> int:
        """Bytes clients sent to the server so far."""
        with self._lock:
            return self._received

    def reset(self) -> None:
        with self._lock:
            self._served = self._received = 0

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while block := source.recv(256 * 1024):
                with self._lock:
                    if from_server:
                        self._served += len(block)
                    else:
                        self._received += len(block)
                sink.sendall(block)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with self._lock:
                    self._open.discard(sock)
                sock.close()

    def __enter__(self) -> CountingForwarder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
