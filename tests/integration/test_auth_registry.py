"""Authentication against real registries: htpasswd (Basic) and a Bearer token server."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from docker_kolla.adapters.auth import Authenticator
from docker_kolla.adapters.challenges import repository_scopes
from docker_kolla.adapters.credentials import CredentialStore
from docker_kolla.adapters.http import RetryPolicy, make_session
from docker_kolla.adapters.registry import RegistryClient
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import AuthError
from tests.support.layers import build_layer
from tests.support.push import push_image
from tests.support.registry import Registry
from tests.support.tokenserver import TokenServer

FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.05, retry_after_cap=0.1)
HELPER = Path(__file__).resolve().parents[1] / "support" / "credhelper"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def client_with(tmp_path: Path, config: dict, environ: dict | None = None) -> RegistryClient:
    """A client whose credentials come from a real config dir written here."""
    cfg = tmp_path / "docker-config"
    cfg.mkdir(exist_ok=True)
    (cfg / "config.json").write_text(json.dumps(config))
    session = make_session("docker-kolla-test")
    auth = Authenticator(session, CredentialStore.load(cfg, environ or {}), policy=FAST)
    return RegistryClient(session, auth, policy=FAST)


def login(host: str, user: str, password: str) -> dict:
    return {"auths": {host: {"auth": b64(f"{user}:{password}")}}}


@pytest.fixture(scope="module")
def basic_reg(htpasswd_registry):
    """The shared htpasswd registry (kolla / s3cret) with one image."""
    reg = htpasswd_registry
    push_image(reg.host, "authtest/base", "ocata", [build_layer({"/a": b"a"})], {}, auth=reg.auth)
    return reg


@pytest.fixture(scope="module")
def token_srv(token_server):
    """The shared token server: kolla/s3cret may do anything, reader/readonly only pull."""
    return token_server


@pytest.fixture(scope="module")
def token_reg(token_registry):
    for repo in ("authtest/one", "authtest/two"):
        push_image(
            token_registry.host, repo, "ocata", [build_layer({"/r": repo.encode()})], {}, auth=("kolla", "s3cret")
        )
    return token_registry


@pytest.fixture(scope="module")
def open_token(tmp_path_factory):
    """A token server of its own that gives anonymous pulls and answers only access_token."""
    with (
        TokenServer(
            tmp_path_factory.mktemp("open-tok"),
            users={"kolla": "s3cret"},
            anonymous_pull=True,
            access_token_only=True,
            expires_in=120,
        ) as server,
        Registry(tmp_path_factory.mktemp("open-reg"), token=server) as reg,
    ):
        push_image(reg.host, "authtest/a", "ocata", [build_layer({"/a": b"1"})], {}, auth=("kolla", "s3cret"))
        yield server, reg


def test_basic_right_credentials(tmp_path, basic_reg):
    client = client_with(tmp_path, login(basic_reg.host, "kolla", "s3cret"))
    ref = ImageRef.parse(f"{basic_reg.host}/authtest/base:ocata")
    assert client.head_manifest(ref).digest is not None
    assert client.list_tags(ref) == ["ocata"]


def test_basic_wrong_credentials(tmp_path, basic_reg):
    client = client_with(tmp_path, login(basic_reg.host, "kolla", "wrong-pass"))
    with pytest.raises(AuthError) as info:
        client.head_manifest(ImageRef.parse(f"{basic_reg.host}/authtest/base:ocata"))
    line = info.value.line()
    assert f"authentication to {basic_reg.host} failed" in line and f"docker login {basic_reg.host}" in line
    assert "wrong-pass" not in line and info.value.status == 401


def test_basic_without_credentials(tmp_path, basic_reg):
    with pytest.raises(AuthError) as info:
        client_with(tmp_path, {}).head_manifest(ImageRef.parse(f"{basic_reg.host}/authtest/base:ocata"))
    assert f"docker login {basic_reg.host}" in info.value.line()


def test_tokens_cached_per_scope(tmp_path, token_srv, token_reg):
    client = client_with(tmp_path, login(token_reg.host, "kolla", "s3cret"))
    one = ImageRef.parse(f"{token_reg.host}/authtest/one:ocata")
    two = ImageRef.parse(f"{token_reg.host}/authtest/two:ocata")
    token_srv.reset()
    manifest = client.get_manifest(one)
    client.head_manifest(one)
    client.get_blob(one, manifest.config.digest, 1 << 20)
    assert token_srv.count(scope="repository:authtest/one:pull") == 1
    client.head_manifest(two)
    client.head_manifest(two)
    assert token_srv.count(scope="repository:authtest/two:pull") == 1
    assert token_srv.count(user="kolla") == token_srv.count() == 2  # Basic credentials went to the realm


def test_push_and_mount_with_token(tmp_path, token_srv, token_reg):
    client = client_with(tmp_path, login(token_reg.host, "kolla", "s3cret"))
    src = ImageRef.parse(f"{token_reg.host}/authtest/one:ocata")
    dst = ImageRef.parse(f"{token_reg.host}/authtest-mirror/one:ocata-1")
    manifest = client.get_manifest(src)
    token_srv.reset()
    for desc in (manifest.config, *manifest.layers):
        assert client.mount_blob(dst, desc.digest, src.path)  # needs pull on the source in the same token
    mount_scopes = repository_scopes(dst.path, push=True, mount_from=src.path)
    assert token_srv.count(scope=mount_scopes[1]) == 1
    assert client.put_manifest(dst, manifest.raw, manifest.media_type) == manifest.digest


def test_pull_only_user_cannot_push(tmp_path, token_reg):
    client = client_with(tmp_path, login(token_reg.host, "reader", "readonly"))
    ref = ImageRef.parse(f"{token_reg.host}/authtest/one:ocata")
    manifest = client.get_manifest(ref)
    with pytest.raises(AuthError) as info:
        client.put_manifest(ref.with_tag("hijack"), manifest.raw, manifest.media_type)
    assert "access denied" in info.value.line() and "readonly" not in info.value.line()


def test_wrong_password_at_token_server(tmp_path, token_reg):
    client = client_with(tmp_path, login(token_reg.host, "kolla", "nope"))
    with pytest.raises(AuthError) as info:
        client.head_manifest(ImageRef.parse(f"{token_reg.host}/authtest/one:ocata"))
    assert f"authentication to {token_reg.host} failed" in info.value.line()
    assert "nope" not in info.value.line()


def test_anonymous_refused(tmp_path, token_reg):
    with pytest.raises(AuthError) as info:
        client_with(tmp_path, {}).get_manifest(ImageRef.parse(f"{token_reg.host}/authtest/one:ocata"))
    assert f"docker login {token_reg.host}" in info.value.line()


def test_anonymous_pull_but_not_push(tmp_path, open_token):
    _server, reg = open_token
    client = client_with(tmp_path, {})
    ref = ImageRef.parse(f"{reg.host}/authtest/a:ocata")
    manifest = client.get_manifest(ref)
    with pytest.raises(AuthError) as info:
        client.put_manifest(ref.with_tag("anon"), manifest.raw, manifest.media_type)
    assert f"docker login {reg.host}" in info.value.line()


def test_identity_token_from_helper_uses_post(tmp_path, open_token):
    token_srv, token_reg = open_token
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker-credential-test").symlink_to(HELPER)
    store = tmp_path / "store.json"
    store.write_text(json.dumps({token_reg.host: {"Username": "<token>", "Secret": "refresh-xyz"}}))
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "KOLLA_TEST_CREDS": str(store)}
    client = client_with(tmp_path, {"credHelpers": {token_reg.host: "test"}}, env)
    token_srv.reset()
    client.head_manifest(ImageRef.parse(f"{token_reg.host}/authtest/a:ocata"))
    assert [r.method for r in token_srv.requests] == ["POST"]
    assert token_srv.requests[0].scopes == ("repository:authtest/a:pull",)


def test_access_token_only_and_expiry(tmp_path, open_token):
    server, reg = open_token
    now = [1000.0]
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps(login(reg.host, "kolla", "s3cret")))
    session = make_session("docker-kolla-test")
    auth = Authenticator(session, CredentialStore.load(cfg, {}), policy=FAST, clock=lambda: now[0])
    client = RegistryClient(session, auth, policy=FAST)
    ref = ImageRef.parse(f"{reg.host}/authtest/a:ocata")
    server.reset()
    client.head_manifest(ref)
    now[0] += 60
    client.head_manifest(ref)
    assert server.count(user="kolla") == 1
    now[0] += 60  # 120 s lifetime minus the expiry margin has passed
    client.head_manifest(ref)
    assert server.count(user="kolla") == 2
