"""What a registry's failures mean to a user: one line naming the reference, and a hint
saying what to do. Never a header, token or password: only statuses, OCI error codes,
hosts and the path of the Docker config file credentials were looked for in."""

from __future__ import annotations

import requests

from kbundle.core.errors import RemoteError
from kbundle.remote.credentials import DockerConfig
from kbundle.remote.errors import NotFound, Unauthorized
from kbundle.remote.refs import OciRef

__all__ = ["LOGIN_HINT", "describe_failure", "describe_transport_error"]

LOGIN_HINT = (
    "log in with `docker login {host}` or `oras login {host}` (they write "
    "~/.docker/config.json), set $DOCKER_CONFIG to the folder of another config.json, or "
    "name one with --registry-config FILE"
)


def describe_failure(
    ref: OciRef,
    status: int,
    code: str | None,
    *,
    action: str,
    subject: str,
    config: DockerConfig,
    has_credentials: bool,
    plain_http: bool,
) -> RemoteError:
    """The error for a registry's answer ``status`` (``code``: its OCI error code)."""
    host = ref.registry
    if status == 401:
        if has_credentials:
            return Unauthorized(
                f"{ref}: the registry refused the credentials for {host} read from "
                f"{config.describe()}",
                hint=LOGIN_HINT.format(host=host),
            )
        return Unauthorized(
            f"{ref}: the registry needs credentials; none for {host} in {config.describe()}",
            hint=LOGIN_HINT.format(host=host),
        )
    if status == 403:
        return Unauthorized(
            f"{ref}: access denied: the credentials for {host} from {config.describe()} may "
            f"not {action} {ref.repository}",
            hint="ask the registry's owner for access, or log in as another user",
        )
    if status == 404:
        if code == "NAME_UNKNOWN":
            return NotFound(
                f"{ref}: no repository {ref.repository} in {host}",
                hint="check the repository name, or push the bundle first",
            )
        if subject == "manifest":
            named = f"digest {ref.digest}" if ref.digest else f"tag {ref.tag or 'latest'!r}"
            return NotFound(
                f"{ref}: no {named} in {host}/{ref.repository}",
                hint=f"list the tags with `oras repo tags {host}/{ref.repository}`, or push "
                "the bundle first",
            )
        return NotFound(
            f"{ref}: {subject} is missing from the registry", hint="push the bundle again"
        )
    detail = f" {code}" if code else ""
    hint = None
    if status == 400 and plain_http:
        hint = "if the registry serves HTTPS, drop --plain-http"
    elif status >= 500:
        hint = "the registry failed; try again later"
    return RemoteError(
        f"{ref}: the registry answered {status}{detail} when asked to {action} {subject}",
        hint=hint,
    )


def describe_transport_error(
    ref: OciRef, error: requests.exceptions.RequestException, plain_http: bool
) -> RemoteError:
    """The error for a request that got no answer: TLS, connection, timeout."""
    scheme = "http" if plain_http else "https"
    text = str(error)
    if isinstance(error, requests.exceptions.SSLError):
        if any(s in text.lower() for s in ("wrong version number", "record layer failure")):
            return RemoteError(
                f"{ref}: {ref.registry} does not speak HTTPS",
                hint="if it serves plain HTTP, pass --plain-http",
            )
        reason = "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in text else "TLS"
        return RemoteError(
            f"{ref}: TLS error with {ref.registry} ({reason})",
            hint="trust the registry's CA with REQUESTS_CA_BUNDLE=FILE",
        )
    if isinstance(error, requests.exceptions.Timeout):
        return RemoteError(
            f"{ref}: {ref.registry} did not answer in time",
            hint="check the registry's address and health, then try again",
        )
    if isinstance(error, requests.exceptions.ConnectionError):
        reason = _connection_reason(text)
        return RemoteError(
            f"{ref}: cannot reach the registry at {scheme}://{ref.registry} ({reason})",
            hint="check the address and that the registry is running",
        )
    return RemoteError(f"{ref}: the request to {ref.registry} failed ({type(error).__name__})")


def _connection_reason(text: str) -> str:
    lowered = text.lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("temporary failure in name resolution", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("connection reset", "connection reset"),
        ("remotedisconnected", "the registry closed the connection"),
        ("connection aborted", "connection aborted"),
    ):
        if needle in lowered:
            return reason
    return "connection failed"
