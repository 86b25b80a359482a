"""Reading registry answers: typed errors, announced digests, bounded bodies.

Helpers of the registry adapter (``registry``, ``uploads``); every error they
build carries the redacted URL, never the one with secrets in its query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docker_kolla.adapters.http import body_error, check_deadline, redact
from docker_kolla.adapters.transport import Response, TransportError
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Descriptor
from docker_kolla.errors import InvalidReference, RegistryError, StreamBroken

if TYPE_CHECKING:
    from docker_kolla.adapters.registry import RegistryStats
    from docker_kolla.core.reference import ImageRef


def registry_error(resp: Response, what: str) -> RegistryError:
    """A typed error from a failed answer, with the registry's error code if any."""
    code = ""
    try:
        code = str(resp.json()["errors"][0].get("code", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, TransportError):  # no readable error body
        pass
    status = resp.status_code
    hint = "retry later; if it persists check the registry's logs"
    if status == 429:
        hint = "the registry is rate limiting: wait, log in for a higher limit, or lower --jobs"
    elif status == 405:
        hint = "the registry does not allow this operation (deletes need storage.delete.enabled)"
    label = f" {code}" if code else ""
    return RegistryError(f"{what}: HTTP {status}{label}", hint, status=status, code=code, url=redact(resp.url))


def header_digest(resp: Response) -> Digest | None:
    """``Docker-Content-Digest`` if present and well-formed: a hint, never trusted alone."""
    try:
        return Digest.parse(resp.headers.get("Docker-Content-Digest", ""))
    except InvalidReference:
        return None


def read_limited(resp: Response, limit: int, what: str) -> bytes:
    """The body, at most ``limit`` bytes (identity only is asked for: bytes as stored)."""
    data = bytearray()
    try:
        for chunk in resp.iter_content(64 * 1024):
            data += chunk
            if len(data) > limit:
                raise RegistryError(
                    f"{what} is larger than {limit} bytes",
                    "the registry sent an oversized manifest",
                    url=redact(resp.url),
                )
    except (TransportError, OSError) as exc:
        broken = StreamBroken(
            f"{what} broke off: {type(exc).__name__}",
            "retry; if it persists check the network or the registry",
            url=redact(resp.url),
        )
        raise body_error(resp, exc, broken) from None
    check_deadline(resp)
    return bytes(data)


def stream_broken(exc: Exception, desc: Descriptor, resp: Response) -> RegistryError:
    """The error for a blob download cut off mid-body (``http.retrying`` repeats it), or past its deadline."""
    broken = StreamBroken(
        f"download of {desc.digest} broke off: {type(exc).__name__}",
        "retry; if it persists check the network or the registry",
        url=redact(resp.url),
    )
    return body_error(resp, exc, broken)


class ClientParts:
    """What RegistryClient gives its blob mixins (downloads.py, uploads.py): declared for
    type checkers only, so each mixin may call the client's plumbing."""

    if TYPE_CHECKING:  # provided by RegistryClient, which mixes this in
        stats: RegistryStats

        def _base(self, ref: ImageRef) -> str: ...

        def _request(self, method: str, ref: ImageRef, url: str, scopes: tuple[str, ...], **kw: Any) -> Response: ...
