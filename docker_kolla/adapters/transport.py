"""A small HTTP/1.1 client for registry traffic, on the standard library's ``http.client``.

Registry traffic is many small exchanges (a HEAD per image on a re-lock, a
mount or a HEAD per blob on a promote), so the client's own cost per request
is what a run pays. requests spends about 1.4 ms of CPU on each one (session
merging, hooks, cookie jars, urllib3's retry and header objects) and 75 ms to
import; ``http.client`` spends about 0.24 ms and is imported anyway, and less
with the request's head written by ``adapters.httpsend`` and the answer's read
by ``adapters.httphead``. What registry traffic
needs on top of it is here and nothing else:

- a pool of kept-alive connections per (scheme, host, port), checked for a
  server-side close before reuse;
- a connect timeout and a per-read timeout, and connections an
  ``adapters.deadline.Exchange`` can cut (:class:`Connection`);
- TLS with the SSL context ``adapters.tls.Trust`` picks per host;
- redirects of GET and HEAD (blob downloads go to object storage), with the
  ``Authorization`` header dropped when the host changes;
- bodies: bytes, a form (dict), a sized reader or an iterable (sent chunked);
- :class:`Response`: status, headers, ``content``/``json()``, streamed reads.

Every failure to get an answer is a :class:`TransportError` whose ``kind`` says
what happened; ``adapters.http`` decides from it what is worth another try.
No ``Accept-Encoding`` but identity is ever sent, so bytes are hashed as stored.
There is no proxy support, as there was none before (the environment's proxy
variables were never read for registry traffic).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import select
import socket
import ssl
import threading
from typing import Any, Callable, Iterator
from urllib.parse import urlencode, urljoin, urlsplit

from docker_kolla.adapters.httphead import Answer, Headers
from docker_kolla.adapters.httpsend import OnePiece

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
# Block size for request bodies read from a file-like object (1 MiB: few syscalls).
SEND_BLOCK = 1024 * 1024
# A streamed answer closed before its end is drained (and its connection kept) up to this.
DRAIN_LIMIT = 64 * 1024
DEFAULT_TIMEOUTS = (10.0, 120.0)


class TransportError(Exception):
    """No complete answer. ``kind``: ``resolve``, ``connect``, ``tls``, ``timeout``, ``dropped`` or ``redirects``."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _failure(exc: BaseException) -> TransportError:
    """An exception raised after the connection was up, as a TransportError."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return TransportError("timeout", "timed out")
    return TransportError("dropped", "connection dropped")


def _address(host: str) -> str | bytes:
    """``host`` for getaddrinfo: ASCII as bytes, which Python passes on as they are (a str is
    encoded with the "idna" codec first, whose import costs every first connect ~4 ms)."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host


class Connection(OnePiece, http.client.HTTPConnection):
    """One kept-alive connection, plain or TLS, with separate connect and read timeouts.

    ``spare`` is a duplicate of the socket's descriptor taken before TLS wraps it:
    ``shutdown(2)`` on it wakes a read blocked in the connection whatever wraps
    the socket (``deadline.Exchange`` uses :meth:`cut`). ``owner`` is the exchange
    the connection belongs to right now (managed by ``adapters.deadline``).
    """

    owner: Any = None
    response_class = Answer  # the answer's head read without the email package (adapters.httphead)
    # requests: the head written in one piece (adapters.httpsend)

    def __init__(self, host: str, port: int | None, context: ssl.SSLContext | None) -> None:
        super().__init__(host, port, blocksize=SEND_BLOCK)
        self.context = context
        self.spare: socket.socket | None = None
        self.timeouts = DEFAULT_TIMEOUTS
        self.claim: Callable[[Connection], None] | None = None

    def connect(self) -> None:
        connect_timeout, read_timeout = self.timeouts
        try:
            sock = socket.create_connection((_address(self.host), self.port), connect_timeout)  # type: ignore[arg-type]
        except socket.gaierror:
            raise TransportError("resolve", "host name does not resolve") from None
        except TimeoutError:
            raise TransportError("timeout", "timed out") from None
        except OSError as exc:
            raise TransportError("connect", (exc.strerror or "cannot connect").lower()) from None
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._drop_spare()
        self.spare = sock.dup()
        if self.claim is not None:
            self.claim(self)
        sock.settimeout(read_timeout)
        if self.context is not None:
            try:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
            except TimeoutError:
                sock.close()
                raise TransportError("timeout", "timed out") from None
            except (ssl.SSLError, ssl.CertificateError, OSError):
                sock.close()
                raise TransportError("tls", "TLS handshake failed") from None
        self.sock = sock

    def set_timeouts(self, timeouts: tuple[float, float]) -> None:
        if self.sock is not None and (self.sock.gettimeout() != timeouts[1]):
            self.sock.settimeout(timeouts[1])  # a system call: only when it changes
        self.timeouts = timeouts

    def dropped(self) -> bool:
        """An idle connection the server closed (or wrote to): not worth a request."""
        if self.sock is None:
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def cut(self) -> None:
        """Wake whoever reads this connection: shut its socket down."""
        if self.spare is not None:
            with contextlib.suppress(OSError):
                self.spare.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        super().close()
        self._drop_spare()

    def _drop_spare(self) -> None:
        spare, self.spare = self.spare, None
        if spare is not None:
            spare.close()


class Response:
    """An answer: ``status_code``, ``headers`` (case-insensitive), ``url`` (after redirects).

    Unless the request asked for ``stream``, the body is read before the response is
    returned and the connection is back in the pool; a streamed response holds its
    connection until it is read to the end or closed (``with resp:``).
    """

    def __init__(self, session: Session | None, key: tuple, conn: Connection | None, raw: Any, url: str) -> None:
        self._session = session
        self._key = key
        self._conn = conn
        self._raw = raw
        self.url = url
        self.status_code: int = raw.status if raw is not None else 0
        self.reason: str = raw.reason if raw is not None else ""
        self.headers: Headers = raw.headers if raw is not None else Headers()
        self._content: bytes | None = None

    # -- body -----------------------------------------------------------------

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = b"".join(self.iter_content(SEND_BLOCK))
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def iter_content(self, size: int = 64 * 1024) -> Iterator[bytes]:
        """The body in chunks of up to ``size`` bytes; TransportError if it breaks off."""
        if self._content is not None:
            for start in range(0, len(self._content), size):
                yield self._content[start : start + size]
            return
        raw = self._raw
        if raw is None or self._conn is None:
            return  # nothing to read, or the body was closed before it was read
        expected = None if raw.chunked else raw.length  # None: the body ends when the server closes
        got = 0
        try:
            while True:
                chunk = raw.read(size) if expected is not None else raw.read1(size)
                if not chunk:
                    break
                got += len(chunk)
                yield chunk
        except (http.client.HTTPException, OSError, ValueError) as exc:
            self._discard()
            raise _failure(exc) from None
        if expected is not None and got < expected:  # a close (or a cut) before Content-Length bytes
            self._discard()
            raise TransportError("dropped", "connection closed before the end of the body")
        self.close()

    @property
    def raw(self) -> Response:
        return self

    def stream(self, size: int, decode_content: bool = False) -> Iterator[bytes]:
        """The body as stored (nothing is ever decoded: identity only is asked for)."""
        del decode_content
        return self.iter_content(size)

    @property
    def links(self) -> dict:
        """The ``Link`` header by relation: ``{"next": {"url": ...}}`` (RFC 8288, as registries send it)."""
        out: dict = {}
        for part in (self.headers.get("Link") or "").split(","):
            target, _, params = part.partition(";")
            target = target.strip()
            if not (target.startswith("<") and target.endswith(">")):
                continue
            for param in params.split(";"):
                name, _, value = param.strip().partition("=")
                if name.strip().lower() == "rel":
                    for rel in value.strip().strip('"').split():
                        out.setdefault(rel, {"url": target[1:-1], "rel": rel})
        return out

    # -- connection -----------------------------------------------------------

    def close(self) -> None:
        """Give the connection back to the pool when the body was read (or is short), else close it."""
        conn, raw = self._conn, self._raw
        if conn is None or raw is None:
            return
        self._conn = None
        try:
            if not raw.isclosed() and raw.length is not None and raw.length <= DRAIN_LIMIT and not raw.chunked:
                raw.read()
        except (http.client.HTTPException, OSError, ValueError):
            conn.close()
            return
        if raw.isclosed() and not raw.will_close and self._session is not None:
            self._session._release(self._key, conn)
        else:
            raw.close()
            conn.close()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Session:
    """Pooled connections to every host a run talks to; safe to share between threads.

    Args:
        pool_size: idle connections kept per host (more are opened when more
            threads ask at once; the extra ones are closed when returned).
        context_for: ``host[:port]`` -> the SSL context for an HTTPS host.
    """

    def __init__(self, pool_size: int, context_for: Callable[[str], ssl.SSLContext]) -> None:
        self.headers: dict[str, str] = {}
        self.pool_size = pool_size
        self.claim: Callable[[Connection], None] | None = None  # set by adapters.deadline users
        self._context_for = context_for
        self._idle: dict[tuple, list[Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict | None = None,
        data: Any = None,
        params: dict | None = None,
        auth: tuple[str, str] | None = None,
        stream: bool = False,
        timeout: tuple[float, float] = DEFAULT_TIMEOUTS,
        allow_redirects: bool = True,
    ) -> Response:
        """Send one request (following redirects of GET and HEAD); TransportError without an answer."""
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        sent = {**self.headers, **(headers or {})}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            sent["Authorization"] = f"Basic {token}"
        body = data
        if isinstance(data, dict):
            body = urlencode(data).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(data, str):
            body = data.encode()
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._send(method, url, sent, body, timeout)
            location = resp.headers.get("Location")
            if not (allow_redirects and resp.status_code in REDIRECTS and method in ("GET", "HEAD") and location):
                if not stream:
                    try:
                        resp._content = b"".join(resp.iter_content(SEND_BLOCK))
                    finally:
                        resp.close()
                return resp
            resp.close()
            target = urljoin(url, location)
            if urlsplit(target).netloc != urlsplit(url).netloc:
                sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
            url = target
        raise TransportError("redirects", f"more than {MAX_REDIRECTS} redirects")

    def _send(self, method: str, url: str, headers: dict, body: Any, timeout: tuple[float, float]) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError("connect", f"cannot send to a {parts.scheme or 'relative'} URL")
        key = (parts.scheme, parts.hostname, parts.port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        replayable = body is None or isinstance(body, bytes)
        while True:
            conn, reused = self._acquire(key, parts.netloc)
            conn.set_timeouts(timeout)
            if self.claim is not None:
                self.claim(conn)
            try:
                conn.request(method, target, body=body, headers=headers)
                raw = conn.getresponse()
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                stale = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if reused and stale and replayable:
                    continue  # the server closed a kept-alive connection under us: a fresh one
                raise _failure(exc) from None
            except BaseException:  # TransportError from connect(), or the body's own iterator failing
                conn.close()  # half a request went out: this connection is done
                raise
            return Response(self, key, conn, raw, url)

    def _acquire(self, key: tuple, netloc: str) -> tuple[Connection, bool]:
        while True:
            with self._lock:  # held for the pop only: the check below is a system call
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None:
                break
            if not conn.dropped():
                return conn, True
            conn.close()
        scheme, host, port = key
        context = self._context_for(netloc.rpartition("@")[2]) if scheme == "https" else None
        conn = Connection(host, port or (443 if scheme == "https" else 80), context)
        conn.claim = self.claim
        return conn, False

    def _release(self, key: tuple, conn: Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if not self._closed and len(idle) < self.pool_size:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection (connections in use close when their answers do)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
