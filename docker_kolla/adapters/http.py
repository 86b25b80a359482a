"""The one HTTP layer: a pooled session, timeouts, narrow retries, URL redaction.

Every registry and token request goes through :func:`send`, so the retry policy
lives in exactly one place (STYLE.md habit 4). Only transient failures are
retried: 408, 429, 5xx and dropped connections. 401/403/404 are answers, not
accidents, and a digest mismatch is never retried into a success.

A request whose body is a one-shot stream (a blob upload fed by a download)
cannot be replayed by :func:`send`; :func:`retrying` repeats the whole
operation instead, with the caller re-opening the stream each time.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Callable, Iterable, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from docker_kolla.errors import DigestMismatch, RegistryError, RegistryUnreachable

log = logging.getLogger(__name__)

# --- Defaults, in one place ------------------------------------------------
# Connect timeout: a registry that does not accept a TCP connection in 10 s is
# down or firewalled; waiting longer only hides it.
CONNECT_TIMEOUT = 10.0
# Read timeout: the longest silence between two bytes. Registries backed by
# object storage can pause for tens of seconds before the first byte of a blob.
READ_TIMEOUT = 120.0
# Attempts per request, the first included: 5 rides out a registry restart or a
# short 503 burst without turning a real outage into minutes of waiting.
MAX_ATTEMPTS = 5
# Exponential backoff: 0.5 s, 1 s, 2 s, 4 s ... each with up to 50 % jitter so
# `--jobs` workers do not retry in lockstep, capped at 8 s per wait.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# Retry-After is honoured but capped: Docker Hub may ask for hours, and a CLI
# should fail with the rate-limit error rather than hang.
RETRY_AFTER_CAP = 60.0
# Statuses worth another try. 501 (not implemented) and 505 never get better.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
# Whole-operation attempts for a streamed body (see retrying()): 3, back to back,
# because each attempt re-reads the blob from its source; send() has already
# ridden out short outages of every replayable request inside an attempt.
STREAM_ATTEMPTS = 3
# The words the registry adapter puts in the error of a download that broke off
# mid-body (a RegistryError without a status); retrying() treats it as transient.
STREAM_BROKEN = "broke off"
# Connection pool: at least one connection per --jobs worker plus token fetches.
DEFAULT_POOL_SIZE = 16
# Block size when a streamed request body is iterated (1 MiB: few syscalls, little memory).
BODY_CHUNK = 1024 * 1024
# Query parameters whose values are secrets (signed object-storage URLs,
# upload state, tokens).
SECRET_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "password",
        "secret",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "se",
        "sv",
        "skoid",
        "sktid",
        "_state",
        "code",
    }
)
# ---------------------------------------------------------------------------


def unreachable_hint(url: str, exc: Exception | None = None) -> str:
    """The fix for a registry we cannot reach: --insecure-registry only where it could help.

    A plain-HTTP URL (loopback, or a host already passed as insecure) is not helped by it;
    a TLS handshake failure usually means the registry speaks plain HTTP.
    """
    if url.startswith("http://"):
        return "check the address and that the registry is running"
    if isinstance(exc, requests.exceptions.SSLError):
        return "if the registry speaks plain HTTP, pass --insecure-registry HOST"
    return "check the address and that the registry is running (plain HTTP: pass --insecure-registry HOST)"


@dataclass(frozen=True)
class RetryPolicy:
    """How :func:`send` and :func:`retrying` retry; tests shrink the waits, nobody else needs to."""

    attempts: int = MAX_ATTEMPTS
    backoff_base: float = BACKOFF_BASE
    backoff_cap: float = BACKOFF_CAP
    retry_after_cap: float = RETRY_AFTER_CAP
    stream_attempts: int = STREAM_ATTEMPTS


DEFAULT_POLICY = RetryPolicy()


def make_session(user_agent: str, pool_size: int = DEFAULT_POOL_SIZE, proxies: dict | None = None) -> requests.Session:
    """One pooled session for all registry traffic.

    ``trust_env`` is off: with it on, requests re-applies ``~/.netrc``
    credentials to the new host after a redirect (protocols.md 3.4), and reads
    proxy settings from the environment behind our back. Callers that want the
    environment's proxies pass them in explicitly.
    """
    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = user_agent
    # max_retries=0: urllib3 must not retry on its own; send() does it once, here.
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if proxies:
        session.proxies.update(proxies)
    return session


def redact(url: str) -> str:
    """The URL without userinfo and with secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "REDACTED" if k.lower() in SECRET_PARAMS else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1, with or without a port."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def replayable(kw: dict) -> bool:
    """A request (``send`` keywords) can be sent again only if its body is not a one-shot stream."""
    data = kw.get("data")
    return data is None or isinstance(data, (bytes, str, dict, list, tuple))


def _transient(exc: requests.RequestException) -> bool:
    """Resets and drops mid-exchange are transient; refused, DNS and TLS are not."""
    # A read timeout already waited READ_TIMEOUT; five of them would hang for minutes.
    if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.Timeout)):
        return False
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        text = repr(reason if reason is not None else exc)
        return "NewConnectionError" not in text and "NameResolutionError" not in text
    return False


def _reason(exc: requests.RequestException) -> str:
    """A short cause without the URL (which may carry secrets in its query)."""
    text = str(exc).lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if "refused" in text:
        return "connection refused"
    if "resolve" in text or "name or service" in text or "nodename" in text:
        return "host name does not resolve"
    if "reset" in text or "aborted" in text or "disconnected" in text:
        return "connection dropped"
    return type(exc).__name__


def retry_after(resp: requests.Response, cap: float) -> float | None:
    """Seconds the server asked us to wait (delta or HTTP date), capped; None if absent."""
    value = resp.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(seconds, 0.0), cap)


def _backoff(attempt: int, policy: RetryPolicy) -> float:
    delay = min(policy.backoff_cap, policy.backoff_base * (2**attempt))
    return delay * (0.5 + random.random() / 2)


def send(
    session: requests.Session, method: str, url: str, *, policy: RetryPolicy = DEFAULT_POLICY, **kw
) -> requests.Response:
    """Send one request, retrying transient failures; return the final response.

    Non-2xx answers are returned, not raised: the caller knows what a 404 means.
    Connection failures that survive the retries raise RegistryUnreachable.
    """
    kw.setdefault("timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
    attempts = policy.attempts if replayable(kw) else 1
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            resp = session.request(method, url, **kw)
        except requests.RequestException as exc:
            if last or not _transient(exc):
                raise RegistryUnreachable(
                    f"cannot reach {redact(url)}: {_reason(exc)}", unreachable_hint(url, exc), url=redact(url)
                ) from None
            wait = _backoff(attempt, policy)
            log.debug("%s %s: %s, retrying in %.1fs", method, redact(url), type(exc).__name__, wait)
        else:
            if resp.status_code not in RETRY_STATUSES or last:
                return resp
            wait = retry_after(resp, policy.retry_after_cap)
            if wait is None:
                wait = _backoff(attempt, policy)
            log.debug("%s %s: HTTP %d, retrying in %.1fs", method, redact(url), resp.status_code, wait)
            resp.close()
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def transient(exc: RegistryError) -> bool:
    """Whether a failed whole operation is worth repeating (see :func:`retrying`).

    An unreachable registry, 408, 429 and any 5xx, or a download that broke off;
    never a digest mismatch, an auth failure or a missing object. (Unlike
    RETRY_STATUSES this takes every 5xx, as the blob copy always has.)
    """
    if isinstance(exc, DigestMismatch):
        return False
    if isinstance(exc, RegistryUnreachable):
        return True
    status = exc.status
    return (status or 0) >= 500 or status in (408, 429) or (status is None and STREAM_BROKEN in exc.message)


T = TypeVar("T")


def retrying(fn: Callable[[], T], policy: RetryPolicy, what: str) -> T:
    """``fn()``, called again (up to ``policy.stream_attempts`` in all) while it fails transiently.

    For operations :func:`send` cannot replay because their body is a one-shot
    stream: ``fn`` must open a fresh stream on every call. Attempts follow each
    other at once; the last error, or the first that is not transient, is raised.
    """
    attempts = policy.stream_attempts
    for attempt in range(attempts):
        try:
            return fn()
        except RegistryError as exc:
            if attempt == attempts - 1 or not transient(exc):
                raise
            log.debug("%s failed (%s), retrying", what, exc.message)
    raise AssertionError("unreachable")  # pragma: no cover


class SizedReader:
    """A file-like view of a chunk iterable with a known length.

    requests sends a generator with ``Transfer-Encoding: chunked`` (and with an
    explicit Content-Length, both headers); a sized object with ``read`` is
    sent as a plain body of that length (protocols.md 3.5).
    """

    def __init__(self, chunks: Iterable[bytes], size: int) -> None:
        self._chunks = iter(chunks)
        self._size = size
        self._buffer = b""

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        data = self.read(BODY_CHUNK)
        if not data:
            raise StopIteration
        return data

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if n < 0:
            n = len(self._buffer)
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data
