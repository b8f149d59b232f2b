"""HTTP requests to one apiserver, with errors translated once into kbundle's own.

Built on the official client's configuration (kubeconfig, auth, TLS, proxies, token
refresh) but asks for plain JSON: the generated model classes are slow for thousands of
objects and lose unknown fields of custom resources. How bytes travel is connections.py.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from kbundle.cluster.connections import Answer, ConnectionFailed, connections_for
from kbundle.core.errors import ClusterError
from kbundle.core.version import __version__

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

JSON = "application/json"
APPLY_PATCH = "application/apply-patch+yaml"
DEFAULT_TIMEOUT = 120.0  # seconds, for connecting and for each read
# A 429 means the apiserver turned the request away before doing anything (max-inflight, or
# priority and fairness), so sending it again is always safe. As client-go does, each request
# waits as told (Retry-After, capped) and tries again a few times before its caller sees the
# 429: discovery and export have no retry policy of their own, and a throttling apiserver
# would otherwise make them fail, or silently lose API groups.
THROTTLED_ATTEMPTS = 5
THROTTLED_WAIT_CAP = 5.0  # seconds
AUTH_REFRESH = 10.0  # seconds between two reads of refreshable credentials

log = logging.getLogger(__name__)


class ApiError(ClusterError):
    """The apiserver answered with an error status."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        method: str,
        path: str,
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{method} {path}: {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.server_message = message
        self.retry_after = retry_after
        self.details = dict(details or {})


class Unreachable(ClusterError):
    """No answer from the apiserver (refused, reset, timed out)."""


@dataclass(frozen=True)
class Target:
    """Where requests go, for messages and manifests (never credentials)."""

    context: str
    server: str
    namespace: str = "default"  # the context's namespace, kubectl's default for -n


Listener = Callable[[str, int, float], None]  # method, status, seconds


class Transport:
    """Thread-safe JSON requests against one apiserver."""

    def __init__(self, api_client: ApiClient, target: Target) -> None:
        self._api = api_client
        self.target = target
        configuration = api_client.configuration
        self._connections = connections_for(configuration, api_client.rest_client.pool_manager)
        self._refreshing = configuration.refresh_api_key_hook is not None
        self._auth_lock = threading.Lock()
        self._auth = self._auth_headers()
        self._auth_read_at = time.monotonic()
        self._listeners: tuple[Listener, ...] = ()

    def listen(self, listener: Listener) -> None:
        """``listener(method, status, seconds)`` hears every answer (an import's pace)."""
        self._listeners = (*self._listeners, listener)

    def unlisten(self, listener: Listener) -> None:
        self._listeners = tuple(known for known in self._listeners if known is not listener)

    def _auth_headers(self) -> dict[str, str]:
        return {
            setting["key"]: setting["value"]
            for setting in self._api.configuration.auth_settings().values()
            if setting["in"] == "header" and setting["value"]
        }

    def _current_auth(self, *, refresh: bool = False) -> dict[str, str]:
        """Bearer token headers. A kubeconfig with a token gets a refresh hook from the
        client, which reloads the whole configuration when asked: per request, that was a
        tenth of an import's client time. They are asked again every ``AUTH_REFRESH``
        seconds, and at once when the server answers 401 (an expired token), as kubectl
        does with credentials that expire."""
        if self._refreshing and (refresh or time.monotonic() - self._auth_read_at > AUTH_REFRESH):
            with self._auth_lock:
                self._auth = self._auth_headers()
                self._auth_read_at = time.monotonic()
        return self._auth

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        content_type: str = JSON,
        accept: str = JSON,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Any:
        """Send one request; return the decoded JSON answer or raise ApiError/Unreachable."""
        data = self.request_bytes(
            method,
            path,
            query=query,
            body=body,
            content_type=content_type,
            accept=accept,
            timeout=timeout,
        )
        return json.loads(data) if data else None

    def request_bytes(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        content_type: str = JSON,
        accept: str = JSON,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> bytes:
        """``request``, the answer left as the server's bytes: for a caller that reads few of
        many answers (decoding each answer of a 50,000-object import cost a second of CPU)."""
        target = quote(path, safe="/:@")
        if query:
            target += "?" + urlencode({k: _query_value(v) for k, v in query.items()})
        headers = {"Accept": accept, "User-Agent": f"kbundle/{__version__}"}
        payload = None
        if body is not None:
            headers["Content-Type"] = content_type
            payload = json.dumps(body, separators=(",", ":")).encode()
        headers.update(self._current_auth())
        attempt = 1
        refreshed = False
        while True:
            started = time.perf_counter()
            answer = self._send(method, target, payload, headers, timeout)
            took = time.perf_counter() - started
            for listener in self._listeners:
                listener(method, answer.status, took)
            if log.isEnabledFor(logging.DEBUG):  # paths and statuses only, never a body
                log.debug("%s %s -> %d in %.1f ms", method, target, answer.status, took * 1000)
            if answer.status == 401 and self._refreshing and not refreshed:
                headers.update(self._current_auth(refresh=True))
                refreshed = True
                continue  # once, with credentials read again
            wait = throttled_wait(answer.status, answer.headers, attempt)
            if wait is None:
                break
            log.info(
                "%s %s: 429 from the apiserver, sending again in %.1fs (attempt %d of %d)",
                method,
                path,
                wait,
                attempt + 1,
                THROTTLED_ATTEMPTS,
            )
            time.sleep(wait * (1 + 0.25 * random.random()))  # jitter: workers spread out
            attempt += 1
        if 200 <= answer.status < 300:
            return answer.data
        raise _api_error(
            method=method,
            path=path,
            status=answer.status,
            reason=answer.reason,
            data=answer.data,
            headers=answer.headers,
        )

    def _send(
        self,
        method: str,
        target: str,
        payload: bytes | None,
        headers: dict[str, str],
        timeout: float,
    ) -> Answer:
        try:
            return self._connections.send(method, target, payload, headers, timeout)
        except ConnectionFailed as error:
            where = f"{self.target.server} ({self.target.context})"
            if error.tls:
                raise Unreachable(
                    f"{where}: TLS failed: {_first_line(str(error))}",
                    hint="check the kubeconfig's server and certificate authority",
                ) from error
            raise Unreachable(
                f"{where} did not answer: {_first_line(str(error))}",
                hint="is the cluster running and reachable from here?",
            ) from error


def throttled_wait(status: int, headers: Mapping[str, str], attempt: int) -> float | None:
    """Seconds to wait before sending a request again after answer number ``attempt``, or
    None when that answer is final (not a 429, or the last attempt)."""
    if status != 429 or attempt >= THROTTLED_ATTEMPTS:
        return None
    told = _retry_after(headers)
    return min(told if told is not None and told >= 0 else 1.0, THROTTLED_WAIT_CAP)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "unknown error"


def _api_error(
    *,
    method: str,
    path: str,
    status: int,
    reason: str | None,
    data: bytes,
    headers: Mapping[str, str],
) -> ApiError:
    message, status_reason = "", reason or ""
    details: dict[str, Any] = {}
    try:
        document = json.loads(data)
        if isinstance(document, dict):
            message = str(document.get("message", ""))
            details = document.get("details") or {}
            status_reason = str(document.get("reason") or status_reason)
    except ValueError:
        message = data.decode(errors="replace").strip()[:300]
    retry_after = _retry_after(headers)
    return ApiError(
        status,
        status_reason,
        message or status_reason,
        method=method,
        path=path,
        retry_after=retry_after,
        details=details,
    )
