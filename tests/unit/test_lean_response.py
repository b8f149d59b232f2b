"""LeanResponse reads an answer exactly as http.client's own HTTPResponse does: the same
status, headers (order and repeats), body and keep-alive decision, for plain apiserver
answers (its fast path) and for header blocks only the e-mail parser reads right."""

from __future__ import annotations

import http.client
import io

import pytest

from kbundle.cluster import responses
from kbundle.cluster.responses import LeanResponse


class _Wire:
    """A socket that has received ``data``: all HTTPResponse asks of one."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        assert mode == "rb"
        return io.BufferedReader(io.BytesIO(self._data))


def _read(
    cls: type[http.client.HTTPResponse], data: bytes, method: str = "GET"
) -> dict[str, object]:
    response = cls(_Wire(data), method=method)  # type: ignore[arg-type]
    response.begin()
    return {
        "status": response.status,
        "reason": response.reason,
        "version": response.version,
        "headers": response.getheaders(),
        "will_close": response.will_close,
        "length": response.length,
        "chunked": response.chunked,
        "body": response.read(),
    }


APISERVER = (
    b"HTTP/1.1 200 OK\r\n"
    b"Audit-Id: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\r\n"
    b"Cache-Control: no-cache, private\r\n"
    b"Content-Type: application/json\r\n"
    b"X-Kubernetes-Pf-Flowschema-Uid: 11111111-2222-3333-4444-555555555555\r\n"
    b"Date: Mon, 30 Nov 2026 04:40:00 GMT\r\n"
    b"Content-Length: 13\r\n"
    b"\r\n"
    b'{"kind":"Pod"}'
)

ANSWERS = {
    "apiserver answer": APISERVER,
    "chunked": b'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n'
    b"3\r\n:1}\r\n0\r\n\r\n",
    "connection close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
    "no length": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}",
    "HTTP/1.0": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    "HTTP/1.0 keep-alive": b"HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    "no content": b"HTTP/1.1 204 No Content\r\nAudit-Id: x\r\n\r\n",
    "repeated header": b'HTTP/1.1 429 Too Many Requests\r\nWarning: 299 - "one"\r\n'
    b'Retry-After: 1\r\nWarning: 299 - "two"\r\nContent-Length: 0\r\n\r\n',
    "interim 100": b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n" + APISERVER,
    "empty value and trailing spaces": b"HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Pad: a b  \r\n"
    b"Content-Length: 0\r\n\r\n",
    "bare line feeds": b"HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 2\n\n{}",
    "folded header": b"HTTP/1.1 200 OK\r\nX-Long: first\r\n  second\r\nContent-Length: 2\r\n\r\n{}",
    "line without a colon": b"HTTP/1.1 200 OK\r\nnot a header\r\nContent-Length: 2\r\n\r\n{}",
    "space before the colon": b"HTTP/1.1 200 OK\r\nX-Odd : value\r\nContent-Length: 2\r\n\r\n{}",
    "bare carriage return": b"HTTP/1.1 200 OK\r\nX-Cr: a\rb\r\nContent-Length: 2\r\n\r\n{}",
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
}


@pytest.mark.parametrize("data", ANSWERS.values(), ids=ANSWERS.keys())
def test_answer_read_as_the_standard_library_reads_it(data: bytes) -> None:
    assert _read(LeanResponse, data) == _read(http.client.HTTPResponse, data)


def test_head_answer_has_no_body_whatever_its_length() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    lean = _read(LeanResponse, data, method="HEAD")
    assert lean == _read(http.client.HTTPResponse, data, method="HEAD")
    assert lean["length"] == 0 and lean["body"] == b""


def test_plain_header_block_never_reaches_the_email_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(lines: list[bytes]) -> http.client.HTTPMessage:
        raise AssertionError("the e-mail parser was asked")

    monkeypatch.setattr(responses, "_parsed", refuse)
    assert _read(LeanResponse, APISERVER)["status"] == 200


def test_unknown_protocol_refused_like_the_standard_library() -> None:
    data = b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"
    with pytest.raises(http.client.UnknownProtocol):
        _read(LeanResponse, data)


def test_closed_connection_is_remote_disconnected() -> None:
    """An empty read where the status line should be: the stale keep-alive connection that
    connections.py sends again on a fresh one."""
    with pytest.raises(http.client.RemoteDisconnected):
        _read(LeanResponse, b"")


def test_too_many_headers_refused() -> None:
    data = b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * (responses.MAX_HEADERS + 1) + b"\r\n"
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        _read(LeanResponse, data)
