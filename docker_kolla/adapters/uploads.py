"""Writing blobs into a registry: cross-repository mounts and monolithic uploads.

A mixin of :class:`~docker_kolla.adapters.registry.RegistryClient` (like
``downloads``); it relies on the client's ``_base``, ``_request`` and
``stats`` (distribution-spec "Pushing blobs").
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlencode, urljoin, urlsplit

from docker_kolla.adapters.challenges import repository_scopes
from docker_kolla.adapters.http import SizedReader
from docker_kolla.adapters.responses import ClientParts, registry_error
from docker_kolla.core.digest import Digest
from docker_kolla.core.reference import ImageRef


class BlobUploads(ClientParts):
    """``mount_blob`` and ``upload_blob`` for RegistryClient."""

    def mount_blob(self, dst: ImageRef, digest: Digest, src_path: str) -> bool:
        """Cross-repository mount; True if mounted, False if the registry declined."""
        url = f"{self._base(dst)}/blobs/uploads/?{urlencode({'mount': str(digest), 'from': src_path})}"
        resp = self._request("POST", dst, url, repository_scopes(dst.path, push=True, mount_from=src_path))
        if resp.status_code == 201:
            return True
        if resp.status_code == 202:  # an upload session was opened instead: cancel it
            location = resp.headers.get("Location")
            if location:
                cancel = urljoin(resp.url, location)
                self._request("DELETE", dst, cancel, repository_scopes(dst.path, push=True)).close()
            return False
        raise registry_error(resp, f"mount {digest} from {src_path}")

    def upload_blob(self, dst: ImageRef, digest: Digest, size: int, chunks: Iterable[bytes]) -> None:
        """Monolithic upload: POST a session, then one PUT streaming ``chunks``.

        The PUT cannot be replayed (``chunks`` is read once), so neither ``send``
        nor a 401 retry repeats it; ``http.retrying`` repeats the whole copy.
        """
        scopes = repository_scopes(dst.path, push=True)
        resp = self._request("POST", dst, f"{self._base(dst)}/blobs/uploads/", scopes, headers={"Content-Length": "0"})
        if resp.status_code != 202 or not resp.headers.get("Location"):
            raise registry_error(resp, f"start upload of {digest}")
        location = urljoin(resp.url, resp.headers["Location"])
        sep = "&" if urlsplit(location).query else "?"
        put_url = f"{location}{sep}{urlencode({'digest': str(digest)})}"
        self.stats.add("puts")
        resp = self._request(
            "PUT",
            dst,
            put_url,
            scopes,
            data=SizedReader(chunks, size),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        if resp.status_code != 201:
            raise registry_error(resp, f"upload of {digest}")
