"""RegistryClient: the distribution API calls docker-kolla makes, verified.

Every manifest and blob is hashed as received and compared with the digest it
was asked for (or announced under); a mismatch raises DigestMismatch and is
never retried (distribution-spec "Pulling manifests", "Pulling blobs"). Tags resolve with HEAD, which Docker Hub
does not count as a pull; manifests are cached by digest because content under
a digest never changes (docs.docker.com "Docker Hub usage and limits"). The blob calls live in
``downloads.BlobDownloads`` and ``uploads.BlobUploads``; answer parsing
helpers in ``responses``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Iterable
from urllib.parse import urlencode, urljoin, urlsplit

from docker_kolla.adapters.auth import Authenticator
from docker_kolla.adapters.challenges import repository_scopes
from docker_kolla.adapters.downloads import BlobDownloads
from docker_kolla.adapters.http import DEFAULT_POLICY, RetryPolicy, is_loopback, redact, replayable, send
from docker_kolla.adapters.responses import header_digest, read_limited, registry_error
from docker_kolla.adapters.transport import Response, Session
from docker_kolla.adapters.uploads import BlobUploads
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import ACCEPT, OCI_INDEX, Index, Manifest, parse_manifest
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import DigestMismatch, InvalidReference, NotFoundError

# distribution refuses manifests over 4 MiB (registry/handlers/manifests.go); so do we.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
# Page size for tags/list; distribution caps n at 1000 by default.
TAGS_PAGE = 1000
_TAG_HINT = "check the tag exists (`skopeo list-tags docker://{repo}`) or fix the channel tag in channels.toml"


@dataclass
class RegistryStats:
    """Request counters for benchmarks, and Docker Hub's RateLimit headers when sent."""

    manifest_heads: int = 0
    manifest_gets: int = 0
    blob_heads: int = 0
    blob_gets: int = 0
    bytes_downloaded: int = 0
    puts: int = 0
    referrers_gets: int = 0
    tag_lists: int = 0
    ratelimit_limit: str = ""
    ratelimit_remaining: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


@dataclass(frozen=True)
class ManifestHead:
    """What a HEAD tells: the digest (None if the registry omits it), type and size."""

    digest: Digest | None
    media_type: str
    size: int


class RegistryClient(BlobDownloads, BlobUploads):
    """Registry API calls over one shared session, with auth and verification.

    Args:
        session: from ``http.make_session`` (pool size >= the callers' concurrency).
        authenticator: answers challenges and caches tokens.
        insecure: hosts (``host[:port]``) to reach over plain HTTP; loopback always is.
    """

    def __init__(
        self,
        session: Session,
        authenticator: Authenticator,
        *,
        insecure: Iterable[str] = (),
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.session = session
        self.auth = authenticator
        self.insecure = frozenset(insecure)
        self.policy = policy
        self.stats = RegistryStats()
        self._manifests: dict[Digest, Manifest | Index] = {}

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------

    def _base(self, ref: ImageRef) -> str:
        host = ref.api_host
        scheme = "http" if host in self.insecure or is_loopback(host) else "https"
        return f"{scheme}://{host}/v2/{ref.path}"

    def _request(self, method: str, ref: ImageRef, url: str, scopes: tuple[str, ...], **kw) -> Response:
        """Send with credentials for ``ref``'s host only, answering one challenge."""
        headers = dict(kw.pop("headers", {}))
        same_host = urlsplit(url).netloc == ref.api_host
        auth_headers = self.auth.headers(ref, scopes) if same_host else {}
        resp = send(self.session, method, url, headers={**headers, **auth_headers}, policy=self.policy, **kw)
        if resp.status_code == 401 and same_host:
            retry_headers = self.auth.on_unauthorized(resp, ref, scopes)
            if replayable(kw):
                resp.close()
                resp = send(self.session, method, url, headers={**headers, **retry_headers}, policy=self.policy, **kw)
        if resp.status_code in (401, 403):
            resp.close()
            raise self.auth.failure(resp, ref, scopes)
        self._note_ratelimit(resp)
        return resp

    def _note_ratelimit(self, resp: Response) -> None:
        limit = resp.headers.get("ratelimit-limit")
        if limit:
            self.stats.ratelimit_limit = limit
            self.stats.ratelimit_remaining = resp.headers.get("ratelimit-remaining", "")

    # -- manifests ------------------------------------------------------------

    @staticmethod
    def _reference(ref: ImageRef) -> str:
        if ref.digest:
            return str(ref.digest)
        if ref.tag:
            return ref.tag
        raise InvalidReference(f"{ref} has neither tag nor digest", "add :TAG or @sha256:DIGEST")

    def _manifest_not_found(self, resp: Response, ref: ImageRef) -> NotFoundError:
        return NotFoundError(
            f"{ref} not found",
            _TAG_HINT.format(repo=ref.repository),
            status=404,
            code="MANIFEST_UNKNOWN",
            url=redact(resp.url),
        )

    def head_manifest(self, ref: ImageRef) -> ManifestHead:
        """Resolve a tag (or check a digest) without downloading the manifest."""
        url = f"{self._base(ref)}/manifests/{self._reference(ref)}"
        self.stats.add("manifest_heads")
        resp = self._request("HEAD", ref, url, repository_scopes(ref.path), headers={"Accept": ACCEPT})
        if resp.status_code == 404:
            raise self._manifest_not_found(resp, ref)
        if resp.status_code != 200:
            raise registry_error(resp, f"HEAD {ref}")
        try:
            digest = Digest.parse(resp.headers.get("Docker-Content-Digest", ""))
        except InvalidReference:
            digest = None  # older registries omit it: the caller GETs and hashes
        media_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        return ManifestHead(digest, media_type, int(resp.headers.get("Content-Length") or 0))

    def cached_manifest(self, digest: Digest) -> Manifest | Index | None:
        """The manifest ``digest`` if this client fetched it already (no request), else None."""
        return self._manifests.get(digest)

    def get_manifest(self, ref: ImageRef, digest: Digest | None = None) -> Manifest | Index:
        """Fetch and parse a manifest or index by ``digest``, ``ref.digest`` or ``ref.tag``.

        By digest the bytes must hash to it; by tag they must hash to
        Docker-Content-Digest when the registry sends one. Cached by digest.
        """
        want = digest or ref.digest
        if want is not None and want in self._manifests:
            return self._manifests[want]
        target = ref.with_digest(want) if want else ref
        url = f"{self._base(ref)}/manifests/{self._reference(target)}"
        self.stats.add("manifest_gets")
        resp = self._request("GET", ref, url, repository_scopes(ref.path), headers={"Accept": ACCEPT}, stream=True)
        with resp:
            if resp.status_code == 404:
                raise self._manifest_not_found(resp, target)
            if resp.status_code != 200:
                raise registry_error(resp, f"GET {target}")
            raw = read_limited(resp, MAX_MANIFEST_SIZE, f"manifest {target}")
        announced = want or header_digest(resp)
        got = Digest.of(raw, announced.algorithm) if announced else Digest.of(raw)
        if announced and got != announced:
            raise DigestMismatch(f"manifest {target}", str(announced), str(got), url=redact(resp.url))
        manifest = parse_manifest(raw, resp.headers.get("Content-Type", ""))
        self._manifests[manifest.digest] = manifest
        return manifest

    def put_manifest(self, ref: ImageRef, raw: bytes, media_type: str) -> Digest:
        """Store ``raw`` under ``ref``'s tag (or digest); returns the digest of ``raw``."""
        digest = Digest.of(raw)
        url = f"{self._base(ref)}/manifests/{self._reference(ref)}"
        self.stats.add("puts")
        resp = self._request(
            "PUT", ref, url, repository_scopes(ref.path, push=True), data=raw, headers={"Content-Type": media_type}
        )
        if resp.status_code not in (200, 201):
            raise registry_error(resp, f"PUT manifest {ref}")
        stored = header_digest(resp)
        if stored is not None and stored != digest:
            raise DigestMismatch(f"stored manifest {ref}", str(digest), str(stored), url=redact(resp.url))
        return digest

    def delete_manifest(self, ref: ImageRef, digest: Digest) -> None:
        """Delete the manifest ``digest`` from ``ref``'s repository."""
        url = f"{self._base(ref)}/manifests/{digest}"
        resp = self._request("DELETE", ref, url, repository_scopes(ref.path, push=True))
        if resp.status_code == 404:
            raise NotFoundError(
                f"{ref.repository}@{digest} not found", "nothing to delete", status=404, url=redact(resp.url)
            )
        if resp.status_code not in (200, 202):
            raise registry_error(resp, f"DELETE {ref.repository}@{digest}")

    def get_referrers(self, ref: ImageRef, digest: Digest, artifact_type: str = "") -> list[dict] | None:
        """The OCI 1.1 referrers API: descriptors of manifests whose subject is ``digest``.

        None when the registry has no API: 404, 400, 405, 406 or an answer that is not
        an image index (the tag schema is the fallback). ``Link`` pages are followed; a
        filter the registry did not apply (no ``OCI-Filters-Applied``) is applied here.
        """
        # imported here, not at the top: a re-lock's HEADs wait on the imports of this module
        from docker_kolla.core.referrers import index_descriptors

        query = f"?{urlencode({'artifactType': artifact_type})}" if artifact_type else ""
        url: str | None = f"{self._base(ref)}/referrers/{digest}{query}"
        found: list[dict] = []
        while url:
            self.stats.add("referrers_gets")
            resp = self._request("GET", ref, url, repository_scopes(ref.path), headers={"Accept": OCI_INDEX})
            with resp:
                if resp.status_code in (400, 404, 405, 406):
                    return None
                if resp.status_code != 200:
                    raise registry_error(resp, f"referrers of {ref.repository}@{digest}")
                entries = index_descriptors(read_limited(resp, MAX_MANIFEST_SIZE, f"referrers of {digest}"))
            if entries is None:
                return None
            filtered = "artifacttype" in resp.headers.get("OCI-Filters-Applied", "").lower()
            found.extend(e for e in entries if filtered or not artifact_type or e.get("artifactType") == artifact_type)
            nxt = resp.links.get("next", {}).get("url")
            url = urljoin(resp.url, nxt) if nxt else None
        return found

    def list_tags(self, ref: ImageRef) -> list[str]:
        """All tags of ``ref``'s repository, following ``Link`` pagination."""
        url: str | None = f"{self._base(ref)}/tags/list?n={TAGS_PAGE}"
        tags: list[str] = []
        while url:
            self.stats.add("tag_lists")
            resp = self._request("GET", ref, url, repository_scopes(ref.path))
            if resp.status_code == 404:
                raise NotFoundError(
                    f"repository {ref.repository} not found",
                    "check the registry and repository name",
                    status=404,
                    url=redact(resp.url),
                )
            if resp.status_code != 200:
                raise registry_error(resp, f"list tags of {ref.repository}")
            tags.extend(resp.json().get("tags") or [])
            nxt = resp.links.get("next", {}).get("url")
            url = urljoin(resp.url, nxt) if nxt else None
        return tags
