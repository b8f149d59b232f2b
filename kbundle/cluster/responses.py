"""Reading an HTTP answer's status and headers without the e-mail parser.

``http.client`` hands every header block to ``email.parser``, a general RFC 5322 machine.
An apiserver answers with a handful of plain ``Name: value`` lines, and on a 50,000-object
import that parser was a sixth of the client's CPU (py-spy): CPU the apiserver, on the same
cores, did not get. ``LeanResponse`` splits plain lines itself and gives any block it does
not recognise (a folded line, a line without a name) to the standard parser, so what it
returns is what ``http.client`` would have returned.
"""

from __future__ import annotations

import email.parser
import http.client
import re
from typing import BinaryIO

# http.client's own bounds on a header block
MAX_LINE = 65536
MAX_HEADERS = 100

# A plain header line: a token name, a colon, a value, one line end. Anything else (a
# folded line, a bare carriage return, no line end at all) goes to the standard parser.
_PLAIN = re.compile(r"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n")
_END = (b"\r\n", b"\n", b"")


def read_headers(fp: BinaryIO) -> http.client.HTTPMessage:
    """The header block at ``fp``'s position, up to and including its empty line."""
    lines: list[bytes] = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in _END:
            break
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
    message = http.client.HTTPMessage()
    for line in lines:
        plain = _PLAIN.fullmatch(line.decode("iso-8859-1"))
        if plain is None:
            return _parsed(lines)
        message[plain[1]] = plain[2]
    return message


def _parsed(lines: list[bytes]) -> http.client.HTTPMessage:
    text = b"".join(lines).decode("iso-8859-1") + "\r\n"
    message = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
    assert isinstance(message, http.client.HTTPMessage)
    return message


class LeanResponse(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` with ``read_headers`` for its header block; the rest
    (status line, body framing, keep-alive) decided as the standard library decides it."""

    def begin(self) -> None:
        if self.headers is not None:
            return  # already read
        version, status, reason = self._read_status()
        while status == http.client.CONTINUE:  # an interim answer; the real one follows
            read_headers(self.fp)
            version, status, reason = self._read_status()
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = read_headers(self.fp)
        encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None if self.chunked else _length(self.headers.get("content-length"))
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or status < 200:
            self.length = 0
        if self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body ends where the connection does


def _length(value: str | None) -> int | None:
    if not value:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


class LeanHTTPConnection(http.client.HTTPConnection):
    response_class = LeanResponse


class LeanHTTPSConnection(http.client.HTTPSConnection):
    response_class = LeanResponse
