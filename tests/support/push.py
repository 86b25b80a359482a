"""Push images straight through the registry HTTP API with plain ``requests``.

Deliberately independent of docker_kolla's own registry client, so a bug there cannot
hide itself in the fixtures. Handles anonymous, Basic and Bearer (token) registries.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Sequence
from urllib.parse import urljoin

import requests

from tests.support.layers import Layer, sha256

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
ACCEPT_ALL = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
IN_TOTO = "application/vnd.in-toto+json"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def canonical_json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Pushed:
    """What a push left in the registry: the manifest (or index) digest and its bytes."""

    digest: str
    manifest_bytes: bytes
    config_digest: str | None
    media_type: str
    platform: str = ""
    layers: tuple[Layer, ...] = field(default=(), repr=False)
    config_bytes: bytes = field(default=b"", repr=False)

    @property
    def size(self) -> int:
        return len(self.manifest_bytes)


class Client:
    """A tiny registry session: answers Basic and Bearer challenges, caches tokens per scope."""

    def __init__(self, host: str, auth: tuple[str, str] | None = None, *, scheme: str = "http") -> None:
        self.base = f"{scheme}://{host}"
        self.auth = auth
        self.session = requests.Session()
        self._tokens: dict[str, str] = {}

    def request(self, method: str, path_or_url: str, *, scope: str = "", **kw) -> requests.Response:
        url = urljoin(self.base, path_or_url)
        headers = dict(kw.pop("headers", {}) or {})
        if scope in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[scope]}"
        resp = self.session.request(method, url, headers=headers, timeout=60, **kw)
        if resp.status_code != 401:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "")
        if challenge.lower().startswith("basic") and self.auth:
            return self.session.request(method, url, headers=headers, auth=self.auth, timeout=60, **kw)
        if challenge.lower().startswith("bearer"):
            headers["Authorization"] = f"Bearer {self._token(challenge, scope)}"
            return self.session.request(method, url, headers=headers, timeout=60, **kw)
        return resp

    def _token(self, challenge: str, scope: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = {"service": params.get("service", "")}
        if scope or params.get("scope"):
            query["scope"] = (scope or params["scope"]).split()  # several scopes: repeated params
        resp = self.session.get(params["realm"], params=query, auth=self.auth, timeout=30)
        resp.raise_for_status()
        body = resp.json()
        token = body.get("token") or body["access_token"]
        self._tokens[scope] = token
        return token


def _client(host: str, auth: tuple[str, str] | Client | None) -> Client:
    return auth if isinstance(auth, Client) else Client(host, auth)


def _check(resp: requests.Response, *ok: int) -> requests.Response:
    if resp.status_code not in ok:
        raise AssertionError(f"{resp.request.method} {resp.url} -> {resp.status_code}: {resp.text[:300]}")
    return resp


def push_blob(
    host: str, repo: str, data: bytes, *, auth: tuple[str, str] | Client | None = None, mount_from: str | None = None
) -> str:
    """Upload ``data`` monolithically (POST, then PUT ?digest=) unless present; returns its digest.

    With ``mount_from`` (another repository holding the blob) it first tries a
    cross-repository mount and falls back to the upload if the registry declines.
    """
    client, digest = _client(host, auth), sha256(data)
    scope = f"repository:{repo}:pull,push"
    mount = bool(mount_from and mount_from != repo)
    if not mount and client.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=scope).status_code == 200:
        return digest
    params = {"mount": digest, "from": mount_from} if mount else None
    post_scope = f"{scope} repository:{mount_from}:pull" if mount else scope  # a mount reads the source too
    resp = _check(client.request("POST", f"/v2/{repo}/blobs/uploads/", scope=post_scope, params=params), 201, 202)
    if resp.status_code == 201:  # cross-repository mount succeeded
        return digest
    location = urljoin(client.base, resp.headers["Location"])
    sep = "&" if "?" in location else "?"
    _check(
        client.request(
            "PUT",
            f"{location}{sep}digest={digest}",
            scope=scope,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        ),
        201,
    )
    return digest


def put_manifest(
    host: str, repo: str, ref: str, body: bytes, media_type: str, *, auth: tuple[str, str] | Client | None = None
) -> str:
    """PUT a manifest by tag or digest; checks the registry's digest equals sha256(body)."""
    client, digest = _client(host, auth), sha256(body)
    resp = _check(
        client.request(
            "PUT",
            f"/v2/{repo}/manifests/{ref}",
            scope=f"repository:{repo}:pull,push",
            data=body,
            headers={"Content-Type": media_type},
        ),
        201,
    )
    if resp.headers.get("Docker-Content-Digest", digest) != digest:
        raise AssertionError(f"registry digest {resp.headers['Docker-Content-Digest']} != {digest}")
    return digest


def image_config(
    layers: Sequence[Layer],
    labels: dict[str, str],
    platform: Sequence[str],
    *,
    created: str = "2017-04-19T00:00:00Z",
    cmd: Sequence[str] = ("kolla_start",),
) -> bytes:
    """A deterministic image config whose rootfs lists the layers' diff_ids."""
    os_, arch, *variant = platform
    config: dict = {
        "architecture": arch,
        "os": os_,
        "created": created,
        "config": {"Env": [DEFAULT_PATH], "Cmd": list(cmd), "Labels": dict(labels), "User": "root"},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created, "created_by": f"layer {i}"} for i in range(len(layers))],
    }
    if variant:
        config["variant"] = variant[0]
    return canonical_json(config)


def push_image(
    host: str,
    repo: str,
    tag: str | None,
    layers: Sequence[Layer],
    labels: dict[str, str],
    *,
    platform: Sequence[str] = ("linux", "amd64"),
    oci: bool = False,
    auth: tuple[str, str] | Client | None = None,
    mount_from: str | None = None,
    cmd: Sequence[str] = ("kolla_start",),
    layers_present: bool = False,
) -> Pushed:
    """Push layers, config and manifest (Docker v2 or OCI); ``tag=None`` pushes by digest only.

    ``layers_present=True`` skips the layer uploads (the caller already pushed them).
    """
    client = _client(host, auth)
    for layer in () if layers_present else layers:
        push_blob(host, repo, layer.blob, auth=client, mount_from=mount_from)
    config = image_config(layers, labels, platform, cmd=cmd)
    config_digest = push_blob(host, repo, config, auth=client)
    media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG, "size": len(config), "digest": config_digest},
        "layers": [
            {"mediaType": layer.media_type_for(oci), "size": layer.size, "digest": layer.digest} for layer in layers
        ],
    }
    body = json.dumps(manifest, indent=3).encode()  # docker's own indent, so bytes != canonical form
    digest = put_manifest(host, repo, tag or sha256(body), body, media_type, auth=client)
    return Pushed(digest, body, config_digest, media_type, "/".join(platform), tuple(layers), config)


def _platform(text: str) -> dict[str, str]:
    os_, arch, *variant = text.split("/")
    out = {"architecture": arch, "os": os_}
    if variant:
        out["variant"] = variant[0]
    return out


def _attestation(host: str, repo: str, subject: Pushed, client: Client) -> Pushed:
    """An in-toto attestation manifest as buildx attaches it (unknown/unknown platform)."""
    statement = canonical_json(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://spdx.dev/Document",
            "subject": [{"name": repo, "digest": {"sha256": subject.digest[7:]}}],
            "predicate": {"spdxVersion": "SPDX-2.3"},
        }
    )
    config = canonical_json(
        {
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256(statement)]},
        }
    )
    for blob in (statement, config):
        push_blob(host, repo, blob, auth=client)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [
            {
                "mediaType": IN_TOTO,
                "digest": sha256(statement),
                "size": len(statement),
                "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"},
            }
        ],
    }
    body = canonical_json(manifest)
    digest = put_manifest(host, repo, sha256(body), body, OCI_MANIFEST, auth=client)
    return Pushed(digest, body, sha256(config), OCI_MANIFEST, "unknown/unknown")


def push_index(
    host: str,
    repo: str,
    tag: str | None,
    children: Sequence[tuple[str, Pushed]],
    *,
    oci: bool = True,
    with_attestation: bool = False,
    auth: tuple[str, str] | Client | None = None,
) -> Pushed:
    """Push an OCI index (or Docker manifest list) over already-pushed children in ``repo``."""
    if with_attestation and not oci:
        raise ValueError("attestation manifests need an OCI index")
    client = _client(host, auth)
    entries = [
        {"mediaType": child.media_type, "size": child.size, "digest": child.digest, "platform": _platform(plat)}
        for plat, child in children
    ]
    if with_attestation:
        for _plat, child in children:
            att = _attestation(host, repo, child, client)
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "size": att.size,
                    "digest": att.digest,
                    "platform": {"architecture": "unknown", "os": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.digest": child.digest,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                }
            )
    media_type = OCI_INDEX if oci else DOCKER_LIST
    body = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}, indent=2).encode()
    digest = put_manifest(host, repo, tag or sha256(body), body, media_type, auth=client)
    return Pushed(digest, body, None, media_type)


def head_digest(host: str, repo: str, ref: str, *, auth: tuple[str, str] | Client | None = None) -> str:
    """``Docker-Content-Digest`` of a HEAD with all four manifest Accept types."""
    resp = _check(
        _client(host, auth).request(
            "HEAD", f"/v2/{repo}/manifests/{ref}", scope=f"repository:{repo}:pull", headers={"Accept": ACCEPT_ALL}
        ),
        200,
    )
    return resp.headers["Docker-Content-Digest"]


def delete_manifest(host: str, repo: str, digest: str, *, auth: tuple[str, str] | Client | None = None) -> None:
    """DELETE a manifest by digest (the registry has ``storage.delete.enabled``)."""
    _check(
        _client(host, auth).request(
            "DELETE", f"/v2/{repo}/manifests/{digest}", scope=f"repository:{repo}:pull,push,delete"
        ),
        202,
    )
