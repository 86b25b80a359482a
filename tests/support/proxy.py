"""A small threaded reverse proxy in front of a registry, for counting and faults.

It forwards everything (bodies streamed back in chunks), can add latency, counts
requests by (method, kind) and response bytes, and injects faults on matching
requests: an error status (500, 429 with Retry-After, ...), a connection reset,
a truncated body, a corrupted body with the original headers, or a slow drip:
one byte at a time (``drip_interval`` apart) through the status line, the
headers or the body, like a stalled link that never quite stops.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
CHUNK = 64 * 1024
ACTIONS = ("status", "reset", "truncate", "corrupt", "drip")
DRIP_PHASES = ("status", "headers", "body")


def classify(path: str) -> str:
    """manifest / blob / upload / tags / referrers / other, from a /v2/ URL path."""
    path = urlsplit(path).path
    if re.search(r"^/v2/.+/referrers/", path):
        return "referrers"
    if re.search(r"^/v2/.+/blobs/uploads/", path):
        return "upload"
    if re.search(r"^/v2/.+/blobs/", path):
        return "blob"
    if re.search(r"^/v2/.+/manifests/", path):
        return "manifest"
    if re.search(r"^/v2/.+/tags/list$", path):
        return "tags"
    return "other"


@dataclass
class Fault:
    """One fault rule; ``times=None`` applies to every matching request."""

    action: str
    match: str = ""
    method: str | None = None
    kind: str | None = None
    times: int | None = None
    status: int = 500
    retry_after: str | None = None
    phase: str = "body"  # for "drip": where the bytes slow down
    hits: int = 0

    def matches(self, method: str, path: str, kind: str) -> bool:
        return (
            (self.times is None or self.hits < self.times)
            and self.match in path
            and (self.method is None or self.method == method)
            and (self.kind is None or self.kind == kind)
        )


class Proxy:
    """Reverse proxy on 127.0.0.1:<free port> forwarding to ``upstream`` ("host:port" or URL)."""

    def __init__(self, upstream: str, *, latency_ms: float = 0, auth: tuple[str, str] | None = None) -> None:
        target = urlsplit(upstream if "://" in upstream else f"http://{upstream}")
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.latency_ms = latency_ms
        self.auth = auth  # the upstream registry's credentials, for fixtures that pass them on
        self.faults: list[Fault] = []
        self.extra_headers: dict[str, str] = {}  # added to every response (e.g. Hub's RateLimit headers)
        self.header_rewrites: list[tuple[str, str]] = []  # (old, new) replaced in response header values
        self.drip_interval = 0.3  # seconds between two bytes of a "drip" fault
        self.log: list[tuple[str, str, int]] = []  # (method, path, status sent)
        self._counts: Counter = Counter()
        self._bytes = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"

    # -- counters --------------------------------------------------------------------------
    def counts(self) -> dict[tuple[str, str], int]:
        """Requests seen so far, keyed by (method, kind)."""
        with self._lock:
            return dict(self._counts)

    def count(self, method: str | None = None, kind: str | None = None) -> int:
        return sum(
            n for (m, k), n in self.counts().items() if (method is None or m == method) and (kind is None or k == kind)
        )

    @property
    def bytes_sent(self) -> int:
        """Response body bytes sent to clients."""
        with self._lock:
            return self._bytes

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self._bytes = 0
            self.log.clear()

    # -- faults ------------------------------------------------------------------------------
    def set_fault(
        self,
        action: str,
        *,
        match: str = "",
        method: str | None = None,
        kind: str | None = None,
        times: int | None = None,
        status: int = 500,
        retry_after: str | int | None = None,
        phase: str = "body",
    ) -> Fault:
        """Add a fault: ``status`` (answer ``status``), ``reset``, ``truncate``, ``corrupt`` or
        ``drip`` (``phase``: the status line, the headers or the body, one byte at a time).

        It applies to requests whose URL path contains ``match`` (and method/kind if
        given), for the next ``times`` of them or for all when ``times`` is None.
        """
        if action not in ACTIONS:
            raise ValueError(f"fault action must be one of {ACTIONS}")
        if phase not in DRIP_PHASES:
            raise ValueError(f"drip phase must be one of {DRIP_PHASES}")
        fault = Fault(
            action, match, method, kind, times, status, None if retry_after is None else str(retry_after), phase
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take(self, method: str, path: str, kind: str) -> Fault | None:
        with self._lock:
            self._counts[(method, kind)] += 1
            fault = next((f for f in self.faults if f.matches(method, path, kind)), None)
            if fault:
                fault.hits += 1
            return fault

    def _sent(self, method: str, path: str, status: int, nbytes: int) -> None:
        with self._lock:
            self._bytes += nbytes
            self.log.append((method, path, status))

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict, bytes] | None:
        """A reply the proxy gives itself instead of forwarding (subclasses); None forwards."""
        return None

    def added_headers(self, method: str, path: str, body: bytes, status: int) -> dict[str, str]:
        """Headers added to a forwarded answer (subclasses)."""
        return {}

    def delay(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Proxy:
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=f"proxy-{self.port}", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        upstream: http.client.HTTPConnection | None = None  # this client connection's own, kept alive

        def log_message(self, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _relay(self) -> None:
            body, kind = self._body(), classify(self.path)
            fault = proxy._take(self.command, self.path, kind)
            proxy.delay()
            if fault and fault.action == "status":
                return self._error(fault)
            if fault and fault.action == "reset":
                return self._reset()
            own = proxy.answer(self.command, self.path, body)
            if own is not None:
                return self._own(*own)
            resp, keep = self._forward(body), False
            try:
                self._respond(resp, fault, body)
                resp.read()  # what is left (a HEAD's empty body): the connection can carry the next request
                keep = not resp.will_close and fault is None
            finally:
                if not keep:
                    self._drop_upstream()

        def _forward(self, body: bytes, retry: bool = True) -> http.client.HTTPResponse:
            """The upstream's answer to this request, over this client connection's own kept-alive
            upstream connection (as a client's connection would reach the registry itself); a
            connection the registry closed while idle is replaced once."""
            reused = self.upstream is not None
            if not reused:
                self.upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
            conn = self.upstream
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for key, value in self.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        conn.putheader(key, value)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                return conn.getresponse()
            except BaseException as exc:
                self._drop_upstream()
                stale = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError))
                if retry and reused and stale:
                    return self._forward(body, retry=False)
                raise

        def _drop_upstream(self) -> None:
            if self.upstream is not None:
                self.upstream.close()
                self.upstream = None

        def finish(self) -> None:
            self._drop_upstream()
            super().finish()

        def _headers_of(self, resp: http.client.HTTPResponse) -> list[tuple[str, str]]:
            out = []
            for key, value in resp.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    for old, new in proxy.header_rewrites:
                        value = value.replace(old, new)
                    out.append((key, value))
            return out + list(proxy.extra_headers.items())

        def _drip(self, resp: http.client.HTTPResponse, phase: str) -> None:
            """Answer with upstream's response, sending ``phase`` and all after it one byte at a time."""
            body = resp.read() if self.command != "HEAD" else b""
            length = resp.getheader("Content-Length") or str(len(body))
            status = f"HTTP/1.1 {resp.status} {resp.reason}\r\n".encode()
            lines = "".join(f"{k}: {v}\r\n" for k, v in self._headers_of(resp))
            head = f"{lines}Content-Length: {length}\r\n\r\n".encode()
            fast = {"status": b"", "headers": status, "body": status + head}[phase]
            slow = (status + head + body)[len(fast) :]
            self.wfile.write(fast)
            for i in range(len(slow)):
                self.wfile.write(slow[i : i + 1])
                time.sleep(proxy.drip_interval)
            proxy._sent(self.command, self.path, resp.status, len(body))

        def _own(self, status: int, headers: dict, data: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            proxy._sent(self.command, self.path, status, 0 if self.command == "HEAD" else len(data))

        def _respond(self, resp: http.client.HTTPResponse, fault: Fault | None, sent_body: bytes = b"") -> None:
            proxy.delay()
            if fault and fault.action == "drip":
                return self._drip(resp, fault.phase)
            length = resp.getheader("Content-Length")
            has_body = self.command != "HEAD" and resp.status not in (204, 304)
            chunked = has_body and length is None
            self.send_response(resp.status, resp.reason)
            for key, value in self._headers_of(resp):
                self.send_header(key, value)
            for key, value in proxy.added_headers(self.command, self.path, sent_body, resp.status).items():
                self.send_header(key, value)
            if length is not None:
                self.send_header("Content-Length", length)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            limit = int(length) // 2 if (fault and fault.action == "truncate" and length) else None
            sent, corrupted = 0, False
            while has_body:
                data = resp.read(CHUNK)
                if not data:
                    break
                if fault and fault.action == "corrupt" and not corrupted:
                    data, corrupted = bytes([data[0] ^ 0xFF]) + data[1:], True
                if limit is not None and sent + len(data) > limit:
                    data = data[: limit - sent]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
                if fault and fault.action == "truncate" and (limit is None or sent >= limit):
                    proxy._sent(self.command, self.path, resp.status, sent)
                    return self._reset()
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            proxy._sent(self.command, self.path, resp.status, sent)

        def _error(self, fault: Fault) -> None:
            code = {429: "TOOMANYREQUESTS"}.get(fault.status, "UNAVAILABLE")
            data = json.dumps({"errors": [{"code": code, "message": f"injected {fault.status}"}]}).encode()
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if fault.retry_after is not None:
                self.send_header("Retry-After", fault.retry_after)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            proxy._sent(self.command, self.path, fault.status, 0 if self.command == "HEAD" else len(data))

        def _reset(self) -> None:
            """Close with RST (SO_LINGER 0) so the client sees a connection reset."""
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (OSError, ValueError):  # our own resets, or a client that went away
                self.close_connection = True

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _relay  # noqa: N815

    return Handler
