"""The one HTTP layer: a pooled session, timeouts and deadlines, narrow retries, URL redaction.

Every registry and token request goes through :func:`send`, so the retry policy
lives in exactly one place, :func:`transient`. Only transient failures are
retried: 408, 429, the 5xx listed in RETRY_STATUSES and connections dropped
mid-exchange. 401/403/404 are answers, not accidents; a refused connection, a
name that does not resolve, a TLS failure, a timeout or a missed deadline do not
get better by asking again; a digest mismatch is never retried into a success.

Every exchange (connect, TLS, request, status line, headers, body; a token
fetch is an exchange of its own) has one overall deadline as well as the
per-read timeout (``deadline.Exchange``), so a registry that drips bytes ends
the run with one line naming the host and the deadline instead of hanging it.

A request whose body is a one-shot stream (a blob upload fed by a download)
cannot be replayed by :func:`send`; :func:`retrying` repeats the whole
operation instead, with the caller re-opening the stream each time.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from docker_kolla.adapters.deadline import Exchange, claim_current
from docker_kolla.adapters.transport import Response, Session, TransportError
from docker_kolla.errors import DeadlineExceeded, DigestMismatch, RegistryError, RegistryUnreachable, StreamBroken

log = logging.getLogger(__name__)

# --- Defaults, in one place ------------------------------------------------
# Connect timeout: a registry that does not accept a TCP connection in 10 s is
# down or firewalled; waiting longer only hides it.
CONNECT_TIMEOUT = 10.0
# Read timeout: the longest silence between two bytes. Registries backed by
# object storage can pause for tens of seconds before the first byte of a blob.
READ_TIMEOUT = 120.0
# Overall deadline of one exchange (`--timeout`): connect, TLS, request, status
# line, headers and body together, however the bytes trickle in. A healthy
# registry answers a HEAD, a manifest or a token request in well under a second;
# 120 s is the read timeout's own allowance for a slow first byte, and a CI job
# learns of a stalled registry in two minutes instead of at its own time limit.
EXCHANGE_DEADLINE = 120.0
# A blob body gets one more second per BODY_MIN_RATE bytes of its announced size
# (256 KiB/s: a 500 MB Kolla layer may take 33 minutes more). Anything slower is a
# stalled link, not a download; raise --timeout for a link known to be slower.
BODY_MIN_RATE = 256 * 1024
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
    if isinstance(exc, TransportError) and exc.kind == "tls":
        host = urlsplit(url).netloc.rpartition("@")[2]
        return (
            f"for a private CA put it in ~/.docker/certs.d/{host}/ca.crt (docker's convention; also "
            "$DOCKER_CONFIG/certs.d, /etc/docker/certs.d, SSL_CERT_FILE); for plain HTTP pass --insecure-registry HOST"
        )
    return "check the address and that the registry is running (plain HTTP: pass --insecure-registry HOST)"


@dataclass(frozen=True)
class RetryPolicy:
    """How :func:`send` and :func:`retrying` retry; tests shrink the waits, nobody else needs to."""

    attempts: int = MAX_ATTEMPTS
    backoff_base: float = BACKOFF_BASE
    backoff_cap: float = BACKOFF_CAP
    retry_after_cap: float = RETRY_AFTER_CAP
    stream_attempts: int = STREAM_ATTEMPTS
    deadline: float = EXCHANGE_DEADLINE  # seconds per exchange (`--timeout`)

    def __post_init__(self) -> None:
        if not self.deadline > 0:
            raise ValueError("the exchange deadline must be positive")


DEFAULT_POLICY = RetryPolicy()


def make_session(user_agent: str, pool_size: int = DEFAULT_POOL_SIZE, trust: Any = None) -> Session:
    """One pooled session for all registry traffic (``adapters.transport``).

    ``trust`` (an ``adapters.tls.Trust``) picks the CAs and client certificate per
    HTTPS host the way docker does (certs.d, system store, CA bundle variables);
    without it, the system store and certifi's bundle. Nothing else comes from the
    environment: no ``~/.netrc`` credentials follow a redirect to storage
    (distribution-spec "Pulling blobs"), and the session never retries on its own:
    :func:`send` does, once, here. Its connections can be cut by the deadline of
    the exchange they serve (``adapters.deadline``).
    """
    if trust is None:
        from docker_kolla.adapters.tls import Trust

        trust = Trust((), {})
    session = Session(pool_size, trust.context)
    session.headers["User-Agent"] = user_agent
    session.claim = claim_current
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


@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1, with or without a port (asked before every request: cached)."""
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


def transient(failure: BaseException | Response) -> bool:
    """The one rule for what is worth another try, from types and status codes only.

    An answer: its status is in RETRY_STATUSES. A transport failure: a connection
    dropped mid-exchange (reset, closed, a body cut off) is; a refused
    connection, a name that does not resolve, TLS and timeouts are not. Our own
    errors: a download that broke off (StreamBroken) and an unreachable registry
    whose cause was transient are; a missed deadline and a digest mismatch never
    are; any other RegistryError by its status.
    """
    if isinstance(failure, Response):
        return failure.status_code in RETRY_STATUSES
    if isinstance(failure, (DigestMismatch, DeadlineExceeded)):
        return False
    if isinstance(failure, StreamBroken):
        return True
    if isinstance(failure, RegistryUnreachable):
        return failure.transient
    if isinstance(failure, RegistryError):
        return failure.status in RETRY_STATUSES
    if isinstance(failure, TransportError):
        return failure.kind == "dropped"
    return False


def deadline_error(url: str, exchange: Exchange) -> DeadlineExceeded:
    """The one-line error of an exchange that ran out of time."""
    parts = urlsplit(url)
    return DeadlineExceeded(
        f"{parts.netloc.rpartition('@')[2]} did not complete {parts.path or '/'} within the "
        f"{round(exchange.seconds, 1):g} s deadline",
        "the registry is stalled or too slow: retry later, or raise --timeout SECONDS",
        url=redact(url),
    )


def body_error(resp: Response, exc: BaseException, error: RegistryError) -> RegistryError:
    """What reading a streamed body failed with: a missed deadline if the exchange ran out, else ``error``."""
    exchange = getattr(resp, "exchange", None)
    if exchange is not None and exchange.expired:
        return deadline_error(resp.url, exchange)
    return error


def check_deadline(resp: Response) -> None:
    """After reading a streamed body: raise if the deadline cut it (a body without a length just ends)."""
    exchange = getattr(resp, "exchange", None)
    if exchange is not None and exchange.expired:
        raise deadline_error(resp.url, exchange)


def retry_after(resp: Response, cap: float) -> float | None:
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
    session: Session,
    method: str,
    url: str,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    body_size: int = 0,
    **kw,
) -> Response:
    """Send one request, retrying transient failures; return the final response.

    Non-2xx answers are returned, not raised: the caller knows what a 404 means.
    Connection failures that survive the retries raise RegistryUnreachable, an
    exchange past its deadline DeadlineExceeded (never retried). Each attempt
    has ``policy.deadline`` seconds, plus one per BODY_MIN_RATE bytes of
    ``body_size`` (a blob the caller will stream). With ``stream=True`` the
    deadline runs until the response is closed; read failures of its body go
    through :func:`body_error`.
    """
    kw.setdefault("timeout", (min(CONNECT_TIMEOUT, policy.deadline), min(READ_TIMEOUT, policy.deadline)))
    attempts = policy.attempts if replayable(kw) else 1
    seconds = policy.deadline + max(body_size, 0) / BODY_MIN_RATE
    for attempt in range(attempts):
        last = attempt == attempts - 1
        exchange = Exchange(seconds)
        try:
            with exchange.running():
                resp = session.request(method, url, **kw)
        except TransportError as exc:
            exchange.finish()
            if exchange.expired:
                raise deadline_error(url, exchange) from None
            if last or not transient(exc):
                raise RegistryUnreachable(
                    f"cannot reach {redact(url)}: {exc.reason}",
                    unreachable_hint(url, exc),
                    url=redact(url),
                    transient=transient(exc),
                ) from None
            wait = _backoff(attempt, policy)
            log.debug("%s %s: %s, retrying in %.1fs", method, redact(url), type(exc).__name__, wait)
        except BaseException:
            exchange.finish()
            raise
        else:
            if exchange.expired:  # cut mid-headers, http.client may hand back what it had
                exchange.finish()
                resp.close()
                raise deadline_error(url, exchange)
            if not kw.get("stream"):
                exchange.finish()
            else:
                _finish_on_close(resp, exchange)
            if not transient(resp) or last:
                return resp
            asked = retry_after(resp, policy.retry_after_cap)
            wait = _backoff(attempt, policy) if asked is None else asked
            log.debug("%s %s: HTTP %d, retrying in %.1fs", method, redact(url), resp.status_code, wait)
            resp.close()
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _finish_on_close(resp: Response, exchange: Exchange) -> None:
    """A streamed answer keeps its deadline until it is closed (``with resp:`` does)."""
    close = resp.close

    def closing() -> None:
        exchange.finish()
        close()

    resp.exchange = exchange  # type: ignore[attr-defined]
    resp.close = closing  # type: ignore[method-assign]


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

    http.client sends an iterable without ``read`` chunked; an object with ``read``
    is sent as a plain body of the Content-Length the caller gives
    (distribution-spec "Pushing a blob monolithically").
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
