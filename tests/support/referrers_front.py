"""A registry front that serves the OCI 1.1 referrers API over a real registry.

No registry packaged here has the API (distribution 2.8 stores a manifest's
``subject`` but never indexes it), so this front forwards every request to the
real registry (it is a :class:`~tests.support.proxy.Proxy`, with its counters)
and answers ``GET /v2/<name>/referrers/<digest>`` itself, by reading the
registry's own storage: every manifest revision of the repository whose
``subject`` names the digest. It follows the distribution-spec "Listing
Referrers" section: an image index of descriptors whose ``artifactType`` is the
manifest's ``artifactType`` or else its config media type, annotations copied,
the ``artifactType`` query filter announced with ``OCI-Filters-Applied``, long
lists paged with ``Link: <...>; rel="next"``; a manifest PUT with a ``subject``
is answered with ``OCI-Subject``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.proxy import Proxy
from tests.support.registry import Registry

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_REFERRERS = re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>sha256:[0-9a-f]{64})$")
_MANIFEST_PUT = re.compile(r"^/v2/(?P<name>.+)/manifests/[^/]+$")


class ReferrersFront(Proxy):
    """``ReferrersFront(registry, page_size=N).start()``; ``.host`` is what clients use."""

    def __init__(self, registry: Registry, *, page_size: int = 100, latency_ms: float = 0) -> None:
        super().__init__(registry.host, latency_ms=latency_ms, auth=registry.auth)
        if registry.root is None:
            raise ValueError("the registry must be started")
        self.storage = Path(registry.root) / "data" / "docker" / "registry" / "v2"
        self.page_size = page_size

    def _manifests(self, name: str):
        revisions = self.storage / "repositories" / name / "_manifests" / "revisions" / "sha256"
        for link in sorted(revisions.glob("*/link")):
            digest = link.read_text().strip()
            hexpart = digest.split(":", 1)[1]
            data = self.storage / "blobs" / "sha256" / hexpart[:2] / hexpart / "data"
            if data.is_file():
                yield digest, data.read_bytes()

    def referrers(self, name: str, digest: str, artifact_type: str | None = None) -> list[dict]:
        found = []
        for ref_digest, raw in self._manifests(name):
            try:
                doc = json.loads(raw)
            except ValueError:
                continue
            subject = doc.get("subject") if isinstance(doc, dict) else None
            if not isinstance(subject, dict) or subject.get("digest") != digest:
                continue
            desc = {
                "mediaType": doc.get("mediaType", ""),
                "digest": ref_digest,
                "size": len(raw),
                "artifactType": doc.get("artifactType") or (doc.get("config") or {}).get("mediaType", ""),
            }
            if doc.get("annotations"):
                desc["annotations"] = doc["annotations"]
            if artifact_type is None or desc["artifactType"] == artifact_type:
                found.append(desc)
        return found

    def answer(self, method: str, path: str, body: bytes):
        parts = urlsplit(path)
        match = _REFERRERS.match(parts.path)
        if not match or method not in ("GET", "HEAD"):
            return None
        query = parse_qs(parts.query)
        wanted = query.get("artifactType", [None])[0]
        page = int(query.get("page", ["0"])[0])
        every = self.referrers(match["name"], match["digest"], wanted)
        chunk = every[page * self.page_size : (page + 1) * self.page_size]
        headers = {"Content-Type": OCI_INDEX}
        if wanted is not None:
            headers["OCI-Filters-Applied"] = "artifactType"
        if (page + 1) * self.page_size < len(every):
            nxt = {k: v[0] for k, v in query.items()}
            nxt["page"] = str(page + 1)
            headers["Link"] = f'<{parts.path}?{urlencode(nxt)}>; rel="next"'
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": chunk}
        return 200, headers, json.dumps(doc).encode()

    def added_headers(self, method: str, path: str, body: bytes, status: int) -> dict:
        if method != "PUT" or status != 201 or not _MANIFEST_PUT.match(urlsplit(path).path):
            return {}
        try:
            subject = json.loads(body).get("subject")
        except (ValueError, AttributeError):
            return {}
        return {"OCI-Subject": subject["digest"]} if isinstance(subject, dict) and "digest" in subject else {}
