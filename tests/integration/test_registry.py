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
from docker_kolla.adapters.auth import Authenticator, CredentialStore
from docker_kolla.adapters.http import RetryPolicy, make_session
from docker_kolla.adapters.registry import RegistryClient, is_loopback
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Descriptor, Index, Manifest, Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import DigestMismatch, NotFoundError, RegistryError, RegistryUnreachable
from tests.support.layers import build_layer
from tests.support.push import push_image, push_index
from tests.support.registry import Registry

FAST = RetryPolicy(attempts=4, backoff_base=0.01, backoff_cap=0.05, retry_after_cap=0.1)


def make_client(credentials=None, **kw) -> RegistryClient:
    session = make_session("docker-kolla-test", pool_size=8)
    creds = credentials or CredentialStore({}, {})
    return RegistryClient(session, Authenticator(session, creds, policy=FAST), policy=FAST, **kw)


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    with Registry(tmp_path_factory.mktemp("reg")) as registry:
        yield registry


@pytest.fixture(scope="module")
def image(reg):
    layers = [build_layer({"/etc/os-release": b"ID=centos\n"}), build_layer({"/usr/bin/x": b"x" * 5000})]
    return push_image(reg.host, "kolla/centos-binary-nova-api", "ocata", layers, {"kolla_version": "4.0.0"})


@pytest.fixture(scope="module")
def multiarch(reg):
    children = []
    for arch in ("amd64", "arm64"):
        layer = build_layer({"/etc/arch": arch.encode()})
        children.append((f"linux/{arch}", push_image(reg.host, "kolla/multi", None, [layer], {},
                                                     platform=("linux", arch), oci=True)))
    return push_index(reg.host, "kolla/multi", "ocata", children, oci=True, with_attestation=True), children


def skopeo(*args: str) -> bytes:
    return subprocess.run(["skopeo", *args], check=True, capture_output=True, timeout=60).stdout


def test_head_and_get_match_skopeo(reg, image):
    ref = ImageRef.parse(f"{reg.host}/kolla/centos-binary-nova-api:ocata")
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
    ref = ImageRef.parse(f"{reg.host}/kolla/multi:ocata")
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
    ref = ImageRef.parse(f"{reg.host}/kolla/centos-binary-nova-api:no-such-tag")
    with pytest.raises(NotFoundError) as info:
        make_client().head_manifest(ref)
    assert "kolla/centos-binary-nova-api:no-such-tag" in info.value.line()
    assert "skopeo list-tags" in info.value.line() and info.value.exit_code == 2
    with pytest.raises(NotFoundError):
        make_client().get_manifest(ref)


def test_blobs_verified(reg, image):
    ref = ImageRef.parse(f"{reg.host}/kolla/centos-binary-nova-api:ocata")
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
    src = ImageRef.parse(f"{reg.host}/kolla/centos-binary-nova-api:ocata")
    dst = ImageRef.parse(f"{reg.host}/mirror/nova-api:ocata-1")
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
    ref = ImageRef.parse(f"{reg.host}/kolla/uploads:x")
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
    assert "is the registry running" in info.value.line()


# --- faults through a small reverse proxy ---------------------------------

class FaultProxy:
    """Forwards to a registry; scripted faults apply once to the next matching request.

    Faults: ``503`` (answer 503 with Retry-After), ``flip`` (change one body byte),
    ``redirect`` (answer 307 to a second server on another port that serves the
    body and records the headers it received).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[tuple[str, str]] = []  # (path substring, fault)
        self.storage_headers: list[dict] = []
        self._stored: dict[str, bytes] = {}
        proxy = self

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

            def _forward(self):
                if self.path.startswith("/storage/"):
                    proxy.storage_headers.append(dict(self.headers))
                    return self._reply(200, {}, proxy._stored[self.path])
                fault = next((f for f in proxy.faults if f[0] in self.path), None)
                if fault:
                    proxy.faults.remove(fault)
                if fault and fault[1] == "503":
                    return self._reply(503, {"Retry-After": "0"}, b"busy")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                resp = requests.request(self.command, proxy.upstream + self.path, headers=headers, data=body,
                                        allow_redirects=False, timeout=30)
                content = resp.content
                if fault and fault[1] == "flip" and content:
                    content = bytes([content[0] ^ 1]) + content[1:]
                if fault and fault[1] == "redirect":
                    key = f"/storage/{len(proxy._stored)}"
                    proxy._stored[key] = content
                    return self._reply(307, {"Location": f"http://localhost:{self.server.server_port}{key}"
                                                         "?X-Amz-Signature=s"}, b"")
                keep = {k: v for k, v in resp.headers.items()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
                self._reply(resp.status_code, keep, content)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(reg):
    fault_proxy = FaultProxy(reg.url)
    yield fault_proxy
    fault_proxy.close()


def test_corrupt_manifest_and_blob_raise_digest_mismatch(proxy, image):
    ref = ImageRef.parse(f"{proxy.host}/kolla/centos-binary-nova-api:ocata")
    proxy.faults.append(("/manifests/ocata", "flip"))
    with pytest.raises(DigestMismatch):
        make_client().get_manifest(ref)
    manifest = make_client().get_manifest(ref)
    proxy.faults.append(("/manifests/", "flip"))
    with pytest.raises(DigestMismatch):
        make_client().get_manifest(ref.with_digest(manifest.digest))
    proxy.faults.append(("/blobs/", "flip"))
    with pytest.raises(DigestMismatch) as info:
        b"".join(make_client().open_blob(ref, manifest.layers[0]))
    assert info.value.expected == str(manifest.layers[0].digest)
    assert proxy.faults == []  # each fault was hit once: nothing retried a mismatch into success


def test_503_then_success_is_retried(proxy, image):
    ref = ImageRef.parse(f"{proxy.host}/kolla/centos-binary-nova-api:ocata")
    proxy.faults += [("/manifests/ocata", "503"), ("/manifests/ocata", "503")]
    assert str(make_client().head_manifest(ref).digest) == image.digest
    assert proxy.faults == []


def test_blob_redirect_drops_authorization(tmp_path_factory, image):
    with Registry(tmp_path_factory.mktemp("basic"), htpasswd=("kolla", "s3cret")) as basic:
        layer = build_layer({"/etc/redirected": b"yes"})
        push_image(basic.host, "kolla/r", "ocata", [layer], {}, auth=basic.auth)
        fault_proxy = FaultProxy(basic.url)
        try:
            creds = CredentialStore({"auths": {fault_proxy.host: {"auth": "a29sbGE6czNjcmV0"}}}, {})
            client = make_client(creds)
            ref = ImageRef.parse(f"{fault_proxy.host}/kolla/r:ocata")
            manifest = client.get_manifest(ref)
            fault_proxy.faults.append(("/blobs/", "redirect"))
            assert b"".join(client.open_blob(ref, manifest.layers[0])) == layer.blob
            assert len(fault_proxy.storage_headers) == 1
            assert "Authorization" not in fault_proxy.storage_headers[0]
        finally:
            fault_proxy.close()
