"""RegistryClient against the real distribution registry, checked with skopeo."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from docker_kolla.adapters import registry as registry_mod
from docker_kolla.adapters.auth import Authenticator
from docker_kolla.adapters.credentials import CredentialStore
from docker_kolla.adapters.http import RetryPolicy, make_session
from docker_kolla.adapters.registry import RegistryClient, is_loopback
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Descriptor, Index, Manifest, Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import DigestMismatch, NotFoundError, RegistryError, RegistryUnreachable
from tests.support.layers import build_layer
from tests.support.push import push_image, push_index

FAST = RetryPolicy(attempts=4, backoff_base=0.01, backoff_cap=0.05, retry_after_cap=0.1)


def make_client(credentials=None, **kw) -> RegistryClient:
    session = make_session("docker-kolla-test", pool_size=8)
    creds = credentials or CredentialStore({}, {})
    return RegistryClient(session, Authenticator(session, creds, policy=FAST), policy=FAST, **kw)


@pytest.fixture(scope="module")
def reg(registry):
    """The shared anonymous registry (tests/conftest.py); this module uses namespace regclient/."""
    return registry


@pytest.fixture(scope="module")
def image(reg):
    layers = [build_layer({"/etc/os-release": b"ID=centos\n"}), build_layer({"/usr/bin/x": b"x" * 5000})]
    return push_image(reg.host, "regclient/centos-binary-nova-api", "ocata", layers, {"kolla_version": "4.0.0"})


@pytest.fixture(scope="module")
def multiarch(reg):
    children = []
    for arch in ("amd64", "arm64"):
        layer = build_layer({"/etc/arch": arch.encode()})
        children.append(
            (
                f"linux/{arch}",
                push_image(reg.host, "regclient/multi", None, [layer], {}, platform=("linux", arch), oci=True),
            )
        )
    return push_index(reg.host, "regclient/multi", "ocata", children, oci=True, with_attestation=True), children


def skopeo(*args: str) -> bytes:
    return subprocess.run(["skopeo", *args], check=True, capture_output=True, timeout=60).stdout


def test_head_and_get_match_skopeo(reg, image):
    ref = ImageRef.parse(f"{reg.host}/regclient/centos-binary-nova-api:ocata")
    raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{ref}")
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{ref}"))
    client = make_client()
    head = client.head_manifest(ref)
    manifest = client.get_manifest(ref)
    assert str(head.digest) == "sha256:" + hashlib.sha256(raw).hexdigest() == inspected["Digest"] == image.digest
    assert isinstance(manifest, Manifest) and manifest.raw == raw and manifest.digest == head.digest
    assert head.size == len(raw) and head.media_type == image.media_type
    assert client.stats.manifest_heads == 1 and client.stats.manifest_gets == 1


def test_index_with_attestation(reg, multiarch):
    index_pushed, children = multiarch
    ref = ImageRef.parse(f"{reg.host}/regclient/multi:ocata")
    raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{ref}")
    client = make_client()
    index = client.get_manifest(ref)
    assert isinstance(index, Index) and str(index.digest) == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert str(client.head_manifest(ref).digest) == index_pushed.digest
    assert len(index.manifests) == 4 and len(index.platform_entries()) == 2
    arm = index.select(Platform.parse("linux/arm64"))
    child = client.get_manifest(ref, arm.digest)
    assert str(child.digest) == dict(children)["linux/arm64"].digest
    client.get_manifest(ref.with_digest(arm.digest))  # cached: content under a digest never changes
    assert client.stats.manifest_gets == 2


def test_missing_tag_names_image_and_hint(reg, image):
    ref = ImageRef.parse(f"{reg.host}/regclient/centos-binary-nova-api:no-such-tag")
    with pytest.raises(NotFoundError) as info:
        make_client().head_manifest(ref)
    assert "regclient/centos-binary-nova-api:no-such-tag" in info.value.line()
    assert "skopeo list-tags" in info.value.line() and info.value.exit_code == 2
    with pytest.raises(NotFoundError):
        make_client().get_manifest(ref)


def test_blobs_verified(reg, image):
    ref = ImageRef.parse(f"{reg.host}/regclient/centos-binary-nova-api:ocata")
    client = make_client()
    manifest = client.get_manifest(ref)
    config = client.get_blob(ref, manifest.config.digest, max_size=1 << 20)
    assert Digest.of(config) == manifest.config.digest
    layer = manifest.layers[1]
    data = b"".join(client.open_blob(ref, layer))
    assert data == image.layers[1].blob
    assert client.stats.blob_gets == 2 and client.stats.bytes_downloaded == len(config) + len(data)
    with pytest.raises(RegistryError):
        client.get_blob(ref, layer.digest, max_size=10)
    wrong = Descriptor(layer.media_type, manifest.layers[0].digest, layer.size)  # size of the other layer
    with pytest.raises(RegistryError):
        b"".join(client.open_blob(ref, wrong))
    assert client.blob_exists(ref, layer.digest)
    assert not client.blob_exists(ref, Digest.of(b"absent"))


def test_upload_mount_put_tags_delete(reg, image, monkeypatch):
    src = ImageRef.parse(f"{reg.host}/regclient/centos-binary-nova-api:ocata")
    dst = ImageRef.parse(f"{reg.host}/regclient-mirror/nova-api:ocata-1")
    client = make_client()
    manifest = client.get_manifest(src)
    for desc in (manifest.config, *manifest.layers):
        if desc is manifest.layers[0]:
            assert client.mount_blob(dst, desc.digest, src.path)
        else:
            client.upload_blob(dst, desc.digest, desc.size, client.open_blob(src, desc))
        assert client.blob_exists(dst, desc.digest)
    assert client.put_manifest(dst, manifest.raw, manifest.media_type) == manifest.digest
    for tag in ("ocata", "ocata-2", "ocata-3"):
        client.put_manifest(dst.with_tag(tag), manifest.raw, manifest.media_type)
    monkeypatch.setattr(registry_mod, "TAGS_PAGE", 2)  # force Link pagination
    assert sorted(client.list_tags(dst)) == ["ocata", "ocata-1", "ocata-2", "ocata-3"]
    assert skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{dst}") == manifest.raw
    assert not client.mount_blob(dst, Digest.of(b"not anywhere"), src.path)
    client.delete_manifest(dst, manifest.digest)
    with pytest.raises(NotFoundError):
        client.head_manifest(dst)


def test_upload_to_location_with_query(reg):
    """distribution's Location carries ?_state=...: the digest must be appended with '&'."""
    data = b"config-ish blob"
    ref = ImageRef.parse(f"{reg.host}/regclient/uploads:x")
    client = make_client()
    client.upload_blob(ref, Digest.of(data), len(data), iter([data[:5], data[5:]]))
    assert client.get_blob(ref, Digest.of(data), 100) == data


def test_scheme_rules():
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost") and is_loopback("[::1]:5000")
    assert not is_loopback("registry.example:5000") and not is_loopback("10.0.0.1")
    client = make_client(insecure={"registry.lan:5000"})
    assert client._base(ImageRef.parse("registry.lan:5000/a/b")).startswith("http://")
    assert client._base(ImageRef.parse("quay.io/a/b")) == "https://quay.io/v2/a/b"
    assert client._base(ImageRef.parse("kolla/x")) == "https://registry-1.docker.io/v2/kolla/x"


def test_unreachable_port():
    sock = __import__("socket").socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(RegistryUnreachable) as info:
        make_client().head_manifest(ImageRef.parse(f"127.0.0.1:{port}/kolla/x:ocata"))
    line = info.value.line()
    assert "connection refused" in line and "that the registry is running" in line and "--insecure-registry" not in line


# --- faults through the shared fault proxy (tests/support/proxy.py) ------------


def test_corrupt_manifest_and_blob_raise_digest_mismatch(proxy_factory, reg, image):
    proxy = proxy_factory(reg)
    ref = ImageRef.parse(f"{proxy.host}/regclient/centos-binary-nova-api:ocata")
    fault = proxy.set_fault("corrupt", match="/manifests/ocata", method="GET", times=1)
    with pytest.raises(DigestMismatch):
        make_client().get_manifest(ref)
    assert fault.hits == 1  # a mismatch is not retried into a success
    manifest = make_client().get_manifest(ref)
    proxy.set_fault("corrupt", match=f"/manifests/{manifest.digest}", times=1)
    with pytest.raises(DigestMismatch):
        make_client().get_manifest(ref.with_digest(manifest.digest))
    blob_fault = proxy.set_fault("corrupt", kind="blob", times=1)
    with pytest.raises(DigestMismatch) as info:
        b"".join(make_client().open_blob(ref, manifest.layers[0]))
    assert info.value.expected == str(manifest.layers[0].digest) and blob_fault.hits == 1


def test_truncated_blob_is_an_error(proxy_factory, reg, image):
    proxy = proxy_factory(reg)
    ref = ImageRef.parse(f"{proxy.host}/regclient/centos-binary-nova-api:ocata")
    manifest = make_client().get_manifest(ref)
    proxy.set_fault("truncate", kind="blob", times=1)
    with pytest.raises(RegistryError):
        b"".join(make_client().open_blob(ref, manifest.layers[1]))


@pytest.mark.parametrize(
    "fault", [dict(action="status", status=503), dict(action="reset"), dict(action="status", status=429, retry_after=0)]
)
def test_transient_faults_are_retried(proxy_factory, reg, image, fault):
    proxy = proxy_factory(reg)
    ref = ImageRef.parse(f"{proxy.host}/regclient/centos-binary-nova-api:ocata")
    injected = proxy.set_fault(match="/manifests/ocata", times=2, **fault)
    assert str(make_client().head_manifest(ref).digest) == image.digest
    assert str(make_client().get_manifest(ref).digest) == image.digest
    assert injected.hits == 2


def test_404_is_not_retried(proxy_factory, reg, image):
    proxy = proxy_factory(reg)
    proxy.reset_counts()
    with pytest.raises(NotFoundError):
        make_client().head_manifest(ImageRef.parse(f"{proxy.host}/regclient/centos-binary-nova-api:gone"))
    assert proxy.count("HEAD", "manifest") == 1


class RedirectingFront:
    """Answers every blob GET with 307 to a second server on another host name that
    serves the bytes and records the headers it got; everything else is forwarded."""

    def __init__(self, upstream: str) -> None:
        self.storage_headers: list[dict] = []
        self._stored: dict[str, bytes] = {}
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, headers, body):
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                if self.path.startswith("/storage/"):
                    front.storage_headers.append(dict(self.headers))
                    return self._reply(200, {}, front._stored[self.path.split("?")[0]])
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                resp = requests.get(upstream + self.path, headers=headers, allow_redirects=False, timeout=30)
                if "/blobs/" in self.path and resp.status_code == 200:
                    key = f"/storage/{len(front._stored)}"
                    front._stored[key] = resp.content
                    # "localhost" is another host than 127.0.0.1 for requests' should_strip_auth
                    location = f"http://localhost:{self.server.server_port}{key}?X-Amz-Signature=s"
                    return self._reply(307, {"Location": location}, b"")
                keep = {
                    k: v
                    for k, v in resp.headers.items()
                    if k.lower() in ("content-type", "docker-content-digest", "www-authenticate")
                }
                self._reply(resp.status_code, keep, resp.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_blob_redirect_drops_authorization(htpasswd_registry):
    layer = build_layer({"/etc/redirected": b"yes"})
    push_image(htpasswd_registry.host, "regclient/r", "ocata", [layer], {}, auth=htpasswd_registry.auth)
    front = RedirectingFront(htpasswd_registry.url)
    try:
        creds = CredentialStore({"auths": {front.host: {"auth": "a29sbGE6czNjcmV0"}}}, {})  # kolla:s3cret
        client = make_client(creds)
        ref = ImageRef.parse(f"{front.host}/regclient/r:ocata")
        manifest = client.get_manifest(ref)
        assert b"".join(client.open_blob(ref, manifest.layers[0])) == layer.blob
        assert len(front.storage_headers) == 1
        assert "Authorization" not in front.storage_headers[0]
    finally:
        front.close()
