"""One conversation with an OCI registry about one repository, through oras (the ORAS
project's Python client): its session, URLs, blob calls and auth backends.

kbundle adds around oras what a bundle needs: credentials from the one Docker config file
users already have (``credentials``); Basic challenges as well as oras' bearer-token flow,
with the token asked again when a push needs a wider scope; no credential ever sent over
plain HTTP to a host that is not loopback; bodies streamed from disk and rewound for a
retried request; a timeout on every request and no blind retries (oras' own ``do_request``
retries any failure five times with sleeps of up to 83 s); and every failure mapped to one
line naming the reference and saying what to do. Headers, tokens and passwords are never
logged or put in a message.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import oras.auth  # type: ignore[import-untyped]
import oras.auth.utils  # type: ignore[import-untyped]
import oras.container  # type: ignore[import-untyped]
import oras.provider  # type: ignore[import-untyped]
import oras.utils  # type: ignore[import-untyped]
import requests

from kbundle.core.errors import RemoteError, UsageError
from kbundle.core.model import ProgressCallback
from kbundle.remote.artifact import (
    MAX_OCI_MANIFEST_BYTES,
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST,
    Descriptor,
    digest_of,
)
from kbundle.remote.blobs import CHUNK, UploadStream
from kbundle.remote.credentials import DockerConfig, load_docker_config
from kbundle.remote.errors import DigestMismatch
from kbundle.remote.refs import OciRef, RemoteOptions
from kbundle.remote.registry_errors import describe_failure, describe_transport_error

log = logging.getLogger(__name__)
# oras logs through "oras.logger"; without a handler of its own, Python's last resort would
# print its errors on every command's stderr. With -v they still reach kbundle's handler.
logging.getLogger("oras").addHandler(logging.NullHandler())

TIMEOUT = (15.0, 120.0)  # seconds: to connect, and between two reads
ACCEPT = ", ".join(
    (
        MEDIA_TYPE_OCI_MANIFEST,
        MEDIA_TYPE_OCI_INDEX,  # asked for only to say "this is an index, not a bundle"
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


def is_loopback_host(host: str) -> bool:
    """``127.0.0.1``, ``localhost``, ``[::1]`` (with or without a port)."""
    return OciRef(host, "x").loopback


def plain_http_refusal(ref: OciRef, options: RemoteOptions, has_credentials: bool) -> None:
    """Credentials never travel over plain HTTP to another machine: refused before any
    request (a UsageError: the flags ask for something kbundle will not do)."""
    if options.plain_http and has_credentials and not ref.loopback:
        raise UsageError(
            f"{ref}: refusing to send registry credentials over plain HTTP to {ref.registry}, "
            "which is not a loopback address (anyone on the way could read them)",
            hint="drop --plain-http and use the registry's HTTPS address, or use a registry "
            "that needs no credentials",
        )


class _ChallengeAuth(oras.auth.TokenAuth):  # type: ignore[misc]
    """oras' token auth (bearer tokens from the registry's realm, with Basic credentials or
    anonymously), plus registries that challenge for Basic auth themselves (the
    distribution registry with htpasswd): oras' token backend would try to fetch a token
    from the Basic realm's name. After a Basic challenge the credentials go with every
    request, so a streamed body is not sent twice."""

    def __init__(self) -> None:
        super().__init__()
        self._basic_challenged = False
        self._tls_verify = True  # oras' get_auth_backend sets it; kbundle always verifies

    @property
    def has_credentials(self) -> bool:
        return bool(getattr(self, "_basic_auth", None))

    def get_auth_header(self) -> dict[str, str]:
        if self._basic_challenged and self.has_credentials:
            return {"Authorization": f"Basic {self._basic_auth}"}
        return dict(super().get_auth_header())

    def authenticate_request(
        self, original: requests.Response, headers: dict[str, str], refresh: bool = False
    ) -> tuple[dict[str, str], bool]:
        challenge = original.headers.get("Www-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            if not self.has_credentials or self._basic_challenged:
                return headers, False  # none to give, or they were just refused
            self._basic_challenged = True
            return {**headers, **self.get_auth_header()}, True
        if scheme != "bearer":
            return headers, False
        realm = oras.auth.utils.parse_auth_header(challenge).realm or ""
        if self.has_credentials and realm.startswith("http://"):
            host = urlsplit(realm).netloc
            if not is_loopback_host(host):
                raise UsageError(
                    f"the registry sends credentials to {host} over plain HTTP to get a token; "
                    "refusing to send them"
                )
        # A token already held but refused is the wrong scope (pull, now pushing): ask for
        # a new one for this challenge's scope (oras would resend the old one).
        refresh = refresh or (original.status_code == 401 and self.token is not None)
        new_headers, changed = super().authenticate_request(original, dict(headers), refresh)
        return dict(new_headers), bool(changed)


class _OrasClient(oras.provider.Registry):  # type: ignore[misc]
    """oras' registry client with kbundle's request loop (see the module docstring)."""

    def __init__(self, ref: OciRef, plain_http: bool) -> None:
        super().__init__(hostname=ref.registry, insecure=plain_http)
        auth = _ChallengeAuth()
        auth.session, auth.prefix = self.session, self.prefix
        self.auth = auth
        # no ~/.netrc: credentials come from the Docker config only
        self.session.auth = lambda request: request

    def do_request(  # noqa: PLR0917 - oras' own signature, called positionally by oras
        self,
        url: str,
        method: str = "GET",
        data: Any = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        """One request; once more with credentials if the registry challenges for them
        (and, as oras does, once more with a fresh token after a 403). Credentials go to
        the registry's own host only, never to a host an upload location names."""
        sent = dict(headers or {})
        if urlsplit(url).netloc != self.hostname:
            return self._send(
                method=method, url=url, data=data, headers=sent, json=json, stream=stream
            )
        sent.update(self.auth.get_auth_header())
        response = self._send(
            method=method, url=url, data=data, headers=sent, json=json, stream=stream
        )
        for attempt in range(2):
            if response.status_code not in (401, 403):
                return response
            sent, changed = self.auth.authenticate_request(response, sent, refresh=attempt > 0)
            if not changed:
                return response
            response.close()
            if hasattr(data, "rewind"):
                data.rewind()
            response = self._send(
                method=method, url=url, data=data, headers=sent, json=json, stream=stream
            )
            if response.status_code != 403:
                return response
        return response

    def _send(
        self,
        *,
        method: str,
        url: str,
        data: Any,
        headers: dict[str, str],
        json: Any,
        stream: bool,
    ) -> requests.Response:
        if "Authorization" in headers and url.startswith("http://"):
            host = urlsplit(url).netloc
            if not is_loopback_host(host):
                raise UsageError(f"refusing to send registry credentials over plain HTTP to {host}")
        log.debug("%s %s", method, url)
        response: requests.Response = self.session.request(
            method,
            url,
            data=data,
            json=json,
            headers=headers,
            stream=stream,
            timeout=TIMEOUT,
            allow_redirects=True,
        )
        return response


class RegistrySession:
    """One repository of one registry, for one command."""

    def __init__(self, ref: OciRef, options: RemoteOptions) -> None:
        self.ref = ref
        self.options = options
        self.config: DockerConfig = load_docker_config(options)
        self._client = _OrasClient(ref, options.plain_http)
        self._client.auth._auth_config = self.config.for_oras()  # read by oras' load_configs
        self.container = _container(ref)
        with self._transport("read credentials"):
            self._client.auth.load_configs(self.container)  # runs credential helpers, if any
        plain_http_refusal(ref, options, self._client.auth.has_credentials)

    @property
    def _scheme(self) -> str:
        return str(self._client.prefix)

    def _url(self, path: str) -> str:
        return f"{self._scheme}://{path}"

    # -- manifests ------------------------------------------------------------------------

    def get_manifest(self) -> tuple[bytes, str]:
        """The manifest ``ref`` names, its bytes and their digest; a pinned digest is
        checked against the bytes received (a registry could lie in its headers)."""
        url = self._url(self.container.manifest_url(self.ref.reference))
        with self._transport("read the manifest"):
            response = self._client.do_request(url, "GET", headers={"Accept": ACCEPT}, stream=True)
            with response:
                self._check(response, "read", subject="manifest")
                raw = _read_limited(response, MAX_OCI_MANIFEST_BYTES)
        if raw is None:
            raise RemoteError(f"{self.ref}: the manifest is larger than 4 MiB: not a bundle")
        digest = digest_of(raw)
        if self.ref.digest and digest != self.ref.digest:
            raise DigestMismatch(
                f"{self.ref}: the registry answered a manifest with digest {digest}, not the "
                "pinned one: refusing it"
            )
        return raw, digest

    def resolve(self) -> str:
        """The digest the reference points to now (a HEAD when the registry says it)."""
        url = self._url(self.container.manifest_url(self.ref.reference))
        with self._transport("resolve the tag"):
            response = self._client.do_request(url, "HEAD", headers={"Accept": ACCEPT})
            with response:
                self._check(response, "read", subject="manifest")
                header = response.headers.get("Docker-Content-Digest")
        if self.ref.digest:
            return self.ref.digest
        return header if header else self.get_manifest()[1]

    def put_manifest(self, raw: bytes, tag: str) -> str:
        """Upload the manifest under ``tag``, last of all; the digest the registry took."""
        digest = digest_of(raw)
        url = self._url(self.container.manifest_url(tag))
        with self._transport("write the manifest"):
            response = self._client.do_request(
                url, "PUT", data=raw, headers={"Content-Type": MEDIA_TYPE_OCI_MANIFEST}
            )
            with response:
                self._check(response, "write", subject="manifest")
                stored = response.headers.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise RemoteError(
                f"{self.ref}: the registry stored the manifest as {stored}, not {digest}: it "
                "changed the bytes; refusing to rely on it"
            )
        log.info("tagged %s as %s (%d bytes)", digest, tag, len(raw))
        return digest

    # -- blobs ----------------------------------------------------------------------------

    def has_blob(self, blob: Descriptor) -> bool:
        with self._transport("look for a blob"):
            response = self._client.get_blob(self.container, blob.digest, head=True)
            with response:
                if response.status_code == 404:
                    return False
                self._check(response, "read", subject=_blob_name(blob))
                return True

    @contextlib.contextmanager
    def blob_chunks(self, blob: Descriptor) -> Iterator[Iterator[bytes]]:
        """The blob's bytes as they arrive (the caller checks them against ``blob``)."""
        with self._transport("download a blob"):
            response = self._client.get_blob(self.container, blob.digest, stream=True)
            with response:
                self._check(response, "read", subject=_blob_name(blob))
                yield response.iter_content(CHUNK)

    def upload_blob(
        self, blob: Descriptor, source: Path | bytes, progress: ProgressCallback | None = None
    ) -> None:
        """Upload one blob unless the registry has it: a POST for an upload session, then
        one PUT streaming the content with its digest (the registry refuses to commit bytes
        that do not match it, so a cut-off upload never becomes a blob)."""
        what = _blob_name(blob)
        if self.has_blob(blob):
            log.info("%s (%s) already in the registry", what, blob.digest)
            if progress is not None:
                progress(blob.size, blob.size, blob.label)
            return
        started = time.monotonic()
        with self._transport("upload a blob"):
            start = self._client.do_request(
                self._url(self.container.upload_blob_url()),
                "POST",
                headers={"Content-Length": "0"},
            )
            with start:
                self._check(start, "write", subject=what)
                location = self._client._get_location(start, self.container)
            if not location:
                raise RemoteError(f"{self.ref}: the registry gave no upload location")
            url = oras.utils.append_url_params(location, {"digest": blob.digest})
            headers = {"Content-Type": "application/octet-stream"}
            with contextlib.ExitStack() as stack:
                if isinstance(source, bytes):
                    body: Any = source
                else:
                    handle = stack.enter_context(source.open("rb"))
                    body = UploadStream(handle, blob.size, blob.label, progress)
                response = self._client.do_request(url, "PUT", data=body, headers=headers)
            with response:
                self._check(response, "write", subject=what)
                stored = response.headers.get("Docker-Content-Digest")
        if stored and stored != blob.digest:
            raise RemoteError(f"{self.ref}: the registry stored {what} as {stored}")
        if progress is not None and isinstance(source, bytes):
            progress(blob.size, blob.size, blob.label)
        log.info(
            "uploaded %s (%s, %d bytes) in %.2fs",
            what,
            blob.digest,
            blob.size,
            time.monotonic() - started,
        )

    # -- errors ---------------------------------------------------------------------------

    def _check(self, response: requests.Response, action: str, *, subject: str) -> None:
        """Raise the one-line error a failed answer means; return on 2xx."""
        if response.status_code < 300:
            return
        raise describe_failure(
            self.ref,
            response.status_code,
            _error_code(response),
            action=action,
            subject=subject,
            config=self.config,
            has_credentials=self._client.auth.has_credentials,
            plain_http=self.options.plain_http,
        )

    @contextlib.contextmanager
    def _transport(self, action: str) -> Iterator[None]:
        try:
            yield
        except requests.exceptions.RequestException as error:
            raise describe_transport_error(self.ref, error, self.options.plain_http) from None


def _error_code(response: requests.Response) -> str | None:
    """The first OCI error code of a failed answer (``MANIFEST_UNKNOWN``...), if any."""
    try:
        errors = response.json().get("errors") or []
        code = errors[0].get("code") if errors and isinstance(errors[0], dict) else None
    except (ValueError, AttributeError, requests.exceptions.RequestException):
        return None
    return str(code) if isinstance(code, str) else None


def _read_limited(response: requests.Response, limit: int) -> bytes | None:
    parts, size = [], 0
    for block in response.iter_content(64 * 1024):
        size += len(block)
        if size > limit:
            return None
        parts.append(block)
    return b"".join(parts)


def _blob_name(blob: Descriptor) -> str:
    return f"blob {blob.label}"


def _container(ref: OciRef) -> Any:
    """oras' URL builder for ``ref``, set field by field: its own parser would take a
    repository's first component with a dot for a registry host."""
    container = oras.container.Container("kbundle", registry=ref.registry)
    namespace, _, repository = ref.repository.rpartition("/")
    container.registry = ref.registry
    container.namespace = namespace or None
    container.repository = repository
    container.tag = ref.tag or "latest"
    container.digest = ref.digest
    return container
