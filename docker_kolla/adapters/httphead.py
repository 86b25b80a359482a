"""The head of an HTTP/1.1 answer: its status line, its header fields, and the framing they give the body.

``http.client`` hands each answer's header lines to the email package (a feed
parser, policy objects, a message whose every lookup walks a list): about 0.1 ms
of CPU per answer, a quarter of what one registry request costs the client, and
a re-lock or a promote sends thousands. :class:`Answer` is ``http.client``'s
response with that one step replaced: the lines go into a dict by lower-case
name in one pass. Reading the body (lengths, chunks, closing) stays
``http.client``'s, driven by the attributes :meth:`Answer.begin` sets from
RFC 9112 section 6.3.

Limits are ``http.client``'s: a line over 64 KiB or more than 100 fields is an
error, never a read without end.
"""

from __future__ import annotations

import http.client
from typing import IO, Iterable, Iterator, overload

MAX_LINE = 65536
MAX_FIELDS = 100
_ENDS = (b"\r\n", b"\n", b"")  # the empty line after the fields; b"": the peer closed mid-head


class Headers:
    """Header fields by case-insensitive name; a repeated field answers with its first value
    (as ``http.client``'s message did)."""

    __slots__ = ("_by_name",)

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._by_name: dict[str, tuple[str, str]] = {}
        for name, value in fields:
            self._by_name.setdefault(name.lower(), (name, value))

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        field = self._by_name.get(name.lower())
        return default if field is None else field[1]

    def __getitem__(self, name: str) -> str:
        field = self._by_name.get(name.lower())
        if field is None:
            raise KeyError(name)
        return field[1]

    def __setitem__(self, name: str, value: str) -> None:
        self._by_name[name.lower()] = (name, value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def items(self) -> list[tuple[str, str]]:
        return list(self._by_name.values())

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"


def read_status(fp: IO[bytes]) -> tuple[int, int, str]:
    """(version: 10 or 11, status, reason) from the status line; ``RemoteDisconnected`` when the
    peer closed before answering (a kept-alive connection it dropped: worth a fresh one)."""
    line = fp.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("status line")
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    text = line.decode("iso-8859-1").rstrip("\r\n")
    version, _, rest = text.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/") or len(code) != 3 or not (code.isascii() and code.isdigit()):
        raise http.client.BadStatusLine(text)
    if version in ("HTTP/1.0", "HTTP/0.9"):
        return 10, int(code), reason.strip()
    if version.startswith("HTTP/1."):
        return 11, int(code), reason.strip()
    raise http.client.UnknownProtocol(version)


def read_fields(fp: IO[bytes]) -> Headers:
    """The header fields up to the empty line. An obsolete folded line continues the field
    before it (joined with a space); a line without a colon is skipped."""
    fields: list[list[str]] = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in _ENDS:
            return Headers((name, value) for name, value in fields)
        if len(fields) >= MAX_FIELDS:
            raise http.client.HTTPException(f"got more than {MAX_FIELDS} headers")
        text = line.decode("iso-8859-1")
        if text[0] in " \t":
            if fields:
                fields[-1][1] = f"{fields[-1][1]} {text.strip()}".strip()
            continue
        name, colon, value = text.partition(":")
        if colon and name.strip():
            fields.append([name.strip(), value.strip()])


def _tokens(value: str | None) -> set[str]:
    return {token.strip().lower() for token in (value or "").split(",")}


class Answer(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` whose head is read by :func:`read_status` and :func:`read_fields`."""

    def begin(self) -> None:
        if self.headers is not None:  # already read
            return
        while True:  # interim answers (100 Continue, 103 Early Hints): their fields are dropped
            version, status, reason = read_status(self.fp)
            if not 100 <= status < 200:
                break
            read_fields(self.fp)
        self.version, self.code, self.status, self.reason = version, status, status, reason
        self.headers = self.msg = read_fields(self.fp)  # type: ignore[assignment]
        # RFC 9112 6.3: chunked when it is the last transfer coding; else Content-Length; else until close
        self.chunked = (self.headers.get("Transfer-Encoding") or "").rsplit(",", 1)[-1].strip().lower() == "chunked"
        self.chunk_left = None
        connection = _tokens(self.headers.get("Connection"))
        if version == 11:
            self.will_close = "close" in connection
        else:
            self.will_close = "keep-alive" not in connection and "Keep-Alive" not in self.headers
        length = (self.headers.get("Content-Length") or "").strip()
        self.length = int(length) if not self.chunked and length.isascii() and length.isdigit() else None
        if status in (204, 304) or self._method == "HEAD":
            self.length = 0
        if self.length is None and not self.chunked:
            self.will_close = True  # the body ends when the server closes
