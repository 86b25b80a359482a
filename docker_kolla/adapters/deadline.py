"""One overall deadline per HTTP exchange, on top of the per-read timeout.

A read timeout bounds each socket read, so a server that sends one byte a second never
trips its timeout: not in the status line, the headers, a manifest body, a blob
body or a token answer. An :class:`Exchange` gives a whole exchange (connect,
TLS, request, status line, headers, body) one deadline. The session's
connections (``transport.Connection``) tell the exchange running in their
thread that they serve it (:func:`claim_current`); when the deadline passes, one watchdog thread shuts
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
import threading
import time
from typing import Any, Iterator

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

    def claim(self, conn: Any) -> None:
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
        """Watch ``exchange``. The thread is woken only when it becomes the earliest due: it
        sleeps until the earliest entry's due anyway, and an exchange that finished in time
        is dropped when its due comes (a wake-up per request would cost every request a
        thread switch)."""
        with self._wake:
            entry = (exchange.due, next(self._order), exchange)
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="http-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0] is entry:
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


def claim_current(conn: Any) -> None:
    """``transport.Session.claim``: ``conn`` (a ``transport.Connection``) now serves the
    exchange running in this thread, if any, and is cut when that exchange expires."""
    exchange = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.claim(conn)
