"""Credentials that can expire (a kubeconfig token, an exec plugin's) are read again every
few seconds, not for each request, and at once when the server answers 401; a server on
loopback checks the token each request carries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

import pytest
from kubernetes.client import ApiClient, Configuration

from kbundle.cluster import ApiError
from kbundle.cluster import transport as transport_module
from kbundle.cluster.transport import Target, Transport
from tests.loopback_http import JsonHandler, serving


class TokenChecking(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.valid = "Bearer first"
        self.seen: list[str] = []


class _Handler(JsonHandler):
    server: TokenChecking

    def do_GET(self) -> None:
        token = self.headers.get("authorization", "")
        self.server.seen.append(token)
        if token == self.server.valid:
            self.answer(200, b'{"ok": true}')
        else:
            self.answer(401, b'{"message": "Unauthorized"}')


class Credentials:
    """A refresh hook as the client sets one: each call may give a new token."""

    def __init__(self) -> None:
        self.token = "Bearer first"
        self.calls = 0

    def __call__(self, configuration: Configuration) -> None:
        self.calls += 1
        configuration.api_key["authorization"] = self.token


@contextmanager
def checking_tokens() -> Iterator[tuple[Transport, TokenChecking, Credentials]]:
    server = TokenChecking()
    credentials = Credentials()
    with serving(server) as url:
        configuration = Configuration()
        configuration.host = url
        configuration.api_key = {"authorization": credentials.token}
        setattr(configuration, "refresh_api_key_hook", credentials)  # noqa: B010 (typed None)
        yield (
            Transport(ApiClient(configuration), Target("t", configuration.host)),
            server,
            credentials,
        )


def test_refreshable_credentials_are_not_reloaded_for_every_request() -> None:
    with checking_tokens() as (transport, server, credentials):
        for _ in range(20):
            assert transport.request("GET", "/api") == {"ok": True}
    assert credentials.calls == 1  # when the transport was made
    assert len(server.seen) == 20


def test_an_expired_token_is_read_again_and_the_request_sent_once_more() -> None:
    with checking_tokens() as (transport, server, credentials):
        transport.request("GET", "/api")
        server.valid = credentials.token = "Bearer second"  # the old one expired
        assert transport.request("GET", "/api") == {"ok": True}
    assert server.seen == ["Bearer first", "Bearer first", "Bearer second"]


def test_credentials_the_server_still_refuses_give_the_401() -> None:
    with checking_tokens() as (transport, server, _):
        server.valid = "Bearer nobody-has-this"
        with pytest.raises(ApiError) as refused:
            transport.request("GET", "/api")
    assert refused.value.status == 401
    assert len(server.seen) == 2  # once more with credentials read again, not forever


def test_credentials_are_read_again_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    with checking_tokens() as (transport, server, credentials):
        transport.request("GET", "/api")
        credentials.token = server.valid = "Bearer rotated"
        monkeypatch.setattr(transport_module, "AUTH_REFRESH", 0.0)
        transport.request("GET", "/api")
    assert server.seen == ["Bearer first", "Bearer rotated"]
