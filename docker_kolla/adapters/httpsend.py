"""The sending half of an HTTP/1.1 exchange: a request's head written in one piece.

``http.client`` builds a request line by line (``putrequest``, then a ``putheader``
per field, each checked and encoded on its own, then a join) and sends the head
and the body with a system call each: about 0.1 ms of CPU per request, a third of
what a registry request costs the client. :class:`OnePiece` is a mixin for an
``http.client.HTTPConnection`` that writes the head with one format and sends a
small body in the same ``sendall``; reading the answer stays ``http.client``'s
(with ``adapters.httphead``'s head reader).

What ``http.client`` checks is still checked, so nothing a server or a URL
supplies can split a request: the method and the target have no control
character or space, a field name is a token, a value has no bare CR or LF. The
framing is ``http.client``'s: ``Content-Length`` for bytes (0 for a POST, PUT or
PATCH without a body), the caller's ``Content-Length`` for a reader or an
iterable, else chunked; ``Accept-Encoding: identity`` unless the caller says
otherwise; ``Host`` from the connection, without the scheme's default port.
"""

from __future__ import annotations

import http.client
import re
from types import MappingProxyType
from typing import Any, Iterable, Iterator, Mapping

# a body up to this size goes out with the head in one sendall (a manifest, a token form)
WITH_HEAD = 64 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]").search
_NAME = re.compile(r"[^:\s][^:\r\n]*").fullmatch
_BAD_VALUE = re.compile(r"\n(?![ \t])|\r(?![ \t\n])").search
_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


def host_field(host: str, port: int, default_port: int) -> str:
    """The ``Host`` field for a connection: IPv6 in brackets (without a zone), the port unless default."""
    name = host if host.isascii() else host.encode("idna").decode("ascii")
    if ":" in name:
        name = f"[{name.partition('%')[0]}]"
    return name if port == default_port else f"{name}:{port}"


def request_head(method: str, target: str, host: str, headers: Mapping[str, Any], body: Any) -> tuple[bytes, bool]:
    """(the head's bytes, whether the body goes chunked). ``InvalidURL`` / ``ValueError`` for what
    would split the request, as ``http.client`` raises them."""
    if _CONTROL_OR_SPACE(method):
        raise ValueError(f"method can't contain control characters. {method!r}")
    if _CONTROL_OR_SPACE(target) or not target.isascii():  # http.client sends the request line as ASCII
        raise http.client.InvalidURL(f"URL can't contain control characters or non-ASCII. {target!r}")
    lines = [f"{method} {target} HTTP/1.1"]
    named = set()
    for name, value in headers.items():
        value = str(value)
        if not _NAME(name):
            raise ValueError(f"Invalid header name {name!r}")
        if _BAD_VALUE(value):
            raise ValueError(f"Invalid header value {value!r}")
        named.add(name.lower())
        lines.append(f"{name}: {value}")
    if "host" not in named:
        lines.insert(1, f"Host: {host}")
    if "accept-encoding" not in named:
        lines.append("Accept-Encoding: identity")
    chunked = False
    if "content-length" not in named and "transfer-encoding" not in named:
        if body is None:
            if method in _BODY_METHODS:
                lines.append("Content-Length: 0")
        elif isinstance(body, (bytes, bytearray)):
            lines.append(f"Content-Length: {len(body)}")
        else:
            chunked = True
            lines.append("Transfer-Encoding: chunked")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1"), chunked


def _read(body: Any, size: int) -> Iterator[Any]:
    while block := body.read(size):
        yield block


def _blocks(body: Any, size: int) -> Iterable[bytes]:
    """A reader's blocks of ``size`` (or an iterable's own), text encoded as http.client does."""
    for block in _read(body, size) if hasattr(body, "read") else body:
        yield block.encode("iso-8859-1") if isinstance(block, str) else block


class OnePiece:
    """``request`` and ``getresponse`` for an ``http.client.HTTPConnection`` subclass (put this
    class first among the bases). One request at a time, each answer read before the next."""

    blocksize: int
    sock: Any
    host: str
    port: int
    response_class: Any
    _pending: str | None = None  # the method of the request whose answer is due
    _host_field: str | None = None

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Mapping[str, Any] = _NO_FIELDS,
        *,
        encode_chunked: bool = False,
    ) -> None:
        """Send a request (``encode_chunked`` is not needed: a body without a length goes chunked)."""
        del encode_chunked
        if self._pending is not None:
            raise http.client.CannotSendRequest("an answer is still due on this connection")
        if isinstance(body, str):
            body = body.encode("iso-8859-1")
        if self._host_field is None:
            default = 443 if getattr(self, "context", None) is not None else 80
            self._host_field = host_field(self.host, self.port, default)
        head, chunked = request_head(method, url, self._host_field, headers, body)
        if self.sock is None:
            self.connect()  # type: ignore[attr-defined]
        self._pending = method
        if body is None:
            self.sock.sendall(head)
        elif isinstance(body, (bytes, bytearray)):
            if len(body) <= WITH_HEAD:
                self.sock.sendall(head + bytes(body))
            else:
                self.sock.sendall(head)
                self.sock.sendall(body)
        else:
            self.sock.sendall(head)
            for block in _blocks(body, self.blocksize):
                if chunked:
                    if block:
                        self.sock.sendall(b"%X\r\n%b\r\n" % (len(block), block))
                else:
                    self.sock.sendall(block)
            if chunked:
                self.sock.sendall(b"0\r\n\r\n")

    def getresponse(self) -> http.client.HTTPResponse:
        method, self._pending = self._pending, None
        if method is None:
            raise http.client.ResponseNotReady("no request was sent")
        response = self.response_class(self.sock, method=method)
        try:
            response.begin()
        except ConnectionError:
            self.close()  # type: ignore[attr-defined]
            raise
        except BaseException:
            response.close()
            raise
        if response.will_close:
            self.close()  # type: ignore[attr-defined]  # the answer keeps its own file
        return response

    def close(self) -> None:
        self._pending = None
        super().close()  # type: ignore[misc]
