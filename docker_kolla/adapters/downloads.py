"""Reading blobs from a registry: existence, small blobs in memory, verified streams.

A mixin of :class:`~docker_kolla.adapters.registry.RegistryClient` (like
``uploads``); it relies on the client's ``_base``, ``_request`` and ``stats``.
Bytes are hashed as they arrive and compared with the digest they were asked
for; a mismatch raises DigestMismatch and is never retried (distribution-spec "Pulling blobs": the digest is the content's).
"""

from __future__ import annotations

from typing import Iterator

from docker_kolla.adapters.challenges import repository_scopes
from docker_kolla.adapters.http import check_deadline, redact
from docker_kolla.adapters.responses import ClientParts, registry_error, stream_broken
from docker_kolla.adapters.transport import TransportError
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Descriptor
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import DigestMismatch, NotFoundError, RegistryError

# 1 MiB reads keep per-blob memory small while costing few syscalls.
CHUNK_SIZE = 1024 * 1024


class BlobDownloads(ClientParts):
    """``blob_exists``, ``get_blob`` and ``open_blob`` for RegistryClient."""

    def blob_exists(self, ref: ImageRef, digest: Digest) -> bool:
        """HEAD the blob (following redirects to storage)."""
        url = f"{self._base(ref)}/blobs/{digest}"
        self.stats.add("blob_heads")
        resp = self._request("HEAD", ref, url, repository_scopes(ref.path), allow_redirects=True)
        if resp.status_code == 200:
            return True
        if resp.status_code == 404:
            return False
        raise registry_error(resp, f"HEAD blob {digest}")

    def get_blob(self, ref: ImageRef, digest: Digest, max_size: int) -> bytes:
        """A small blob (config, package database) in memory, verified."""
        desc = Descriptor(media_type="application/octet-stream", digest=digest, size=-1)
        return b"".join(self._stream_blob(ref, desc, max_size))

    def open_blob(self, ref: ImageRef, desc: Descriptor) -> Iterator[bytes]:
        """Stream a blob's raw bytes in chunks, verifying size and digest.

        The request is sent on the first ``next()``. Verification happens after
        the last chunk: DigestMismatch (or RegistryError for a wrong size) is
        raised from the iterator, so callers must treat what they consumed as
        invalid until the iterator finishes without raising.
        """
        return self._stream_blob(ref, desc, desc.size)

    def _stream_blob(self, ref: ImageRef, desc: Descriptor, limit: int) -> Iterator[bytes]:
        url = f"{self._base(ref)}/blobs/{desc.digest}"
        self.stats.add("blob_gets")
        # identity + decode_content=False: hash the bytes as stored, even when a
        # server adds Content-Encoding to a gzip layer (moby/moby#17595). A 307 to
        # storage on another host is followed without Authorization (the
        # transport drops it when the host changes; nothing reads ~/.netrc).
        resp = self._request(
            "GET",
            ref,
            url,
            repository_scopes(ref.path),
            stream=True,
            headers={"Accept-Encoding": "identity"},
            body_size=max(desc.size, 0),
        )
        with resp:
            if resp.status_code == 404:
                raise NotFoundError(
                    f"blob {desc.digest} not found in {ref.repository}",
                    "the image is incomplete in the registry; push it again",
                    status=404,
                    code="BLOB_UNKNOWN",
                    url=redact(resp.url),
                )
            if resp.status_code != 200:
                raise registry_error(resp, f"GET blob {desc.digest}")
            hasher, size = desc.digest.hasher(), 0
            try:
                for chunk in resp.raw.stream(CHUNK_SIZE, decode_content=False):
                    size += len(chunk)
                    if 0 <= desc.size < size or (desc.size < 0 and size > limit):
                        raise RegistryError(
                            f"blob {desc.digest} is larger than {max(desc.size, limit)} bytes",
                            "the registry or a proxy served the wrong content",
                            url=redact(resp.url),
                        )
                    hasher.update(chunk)
                    self.stats.add("bytes_downloaded", len(chunk))
                    yield chunk
            except (TransportError, OSError) as exc:
                raise stream_broken(exc, desc, resp) from None
            check_deadline(resp)
        got = Digest(desc.digest.algorithm, hasher.hexdigest())
        if got != desc.digest:
            raise DigestMismatch(f"blob in {ref.repository}", str(desc.digest), str(got), url=redact(resp.url))
        if desc.size >= 0 and size != desc.size:
            raise RegistryError(
                f"blob {desc.digest} is {size} bytes, expected {desc.size}",
                "the registry or a proxy truncated the content",
                url=redact(resp.url),
            )
