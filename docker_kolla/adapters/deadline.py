"""One overall deadline per HTTP exchange, on top of requests' per-read timeout.

requests bounds each socket read, so a server that sends one byte a second never
trips its timeout: not in the status line, the headers, a manifest body, a blob
body or a token answer. An :class:`Exchange` gives a whole exchange (connect,
TLS, request, status line, headers, body) one deadline. The pool's connection
classes (:class:`DeadlineAdapter`) tell the exchange running in their thread
which connection it uses; when the deadline passes, one watchdog thread shuts
that connection's socket down, which wakes the blocked read at once. The caller
then sees ``exchange.expired`` (a flag, never the text of an exception) and
raises a typed error.

Each connection keeps a duplicate of its socket's descriptor from the moment it
is opened: the TLS handshake detaches the plain socket, and ``shutdown(2)`` on
the duplicate reaches the connection whatever object wraps it by then.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any, Iterator

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()
_lock = threading.Lock()


class Exchange:
    """One request and its answer, due ``seconds`` from now."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.due = time.monotonic() + seconds
        self.expired = False
        self.finished = False
        self._connections: list = []

    @contextlib.contextmanager
    def running(self) -> Iterator[Exchange]:
        """Connections opened or used in this block (in this thread) belong to the exchange."""
        outer = getattr(_current, "exchange", None)
        _current.exchange = self
        _WATCHDOG.watch(self)
        try:
            yield self
        finally:
            _current.exchange = outer

    def claim(self, conn: _Tracked) -> None:
        with _lock:
            conn.owner = self
            self._connections.append(conn)
            if self.expired:
                conn.cut()

    def finish(self) -> None:
        """The answer was read (or abandoned): the deadline no longer applies."""
        with _lock:
            self.finished = True
            for conn in self._connections:
                if conn.owner is self:
                    conn.owner = None
            self._connections.clear()

    def expire(self) -> None:
        with _lock:
            if self.finished:
                return
            self.expired = True
            for conn in self._connections:
                if conn.owner is self:
                    conn.cut()


class _Watchdog:
    """One daemon thread that expires exchanges whose deadline passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Exchange]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, exchange: Exchange) -> None:
        with self._wake:
            heapq.heappush(self._heap, (exchange.due, next(self._order), exchange))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="http-deadlines", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                exchange = heapq.heappop(self._heap)[2]
            exchange.expire()


_WATCHDOG = _Watchdog()


class _Tracked:
    """Mixin for urllib3 connections: belong to the exchange of the thread using them."""

    owner: Exchange | None = None
    _spare: socket.socket | None = None

    def _claim(self) -> None:
        exchange = getattr(_current, "exchange", None)
        if exchange is not None:
            exchange.claim(self)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        self._drop_spare()
        self._spare = sock.dup()
        self._claim()
        return sock

    def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self._claim()
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def cut(self) -> None:
        """Wake whoever reads this connection: shut its socket down (called under ``_lock``)."""
        if self._spare is not None:
            with contextlib.suppress(OSError):
                self._spare.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        super().close()  # type: ignore[misc]
        self._drop_spare()

    def _drop_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.close()


class _HTTPConnection(_Tracked, HTTPConnection):
    pass


class _HTTPSConnection(_Tracked, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections that an :class:`Exchange` can cut.

    With ``trust`` (an ``adapters.tls.Trust``) each HTTPS host gets the SSL
    context docker would use for it (certs.d CAs and client pair, system store).
    """

    trust: Any = None

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # type: ignore[no-untyped-def]
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self.trust is not None and host_params["scheme"] == "https" and verify is not False:
            port = host_params["port"]
            host = f"{host_params['host']}:{port}" if port else host_params["host"]
            pool_kwargs["ssl_context"] = self.trust.context(host)
        return host_params, pool_kwargs

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
