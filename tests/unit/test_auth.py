"""Challenge parsing, scopes, and credential lookup from a real config dir and helper."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from docker_kolla.adapters.challenges import Challenge, parse_challenges, repository_scopes
from docker_kolla.adapters.credentials import ANONYMOUS, Credentials, CredentialStore, default_config_dir
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import AuthError, ConfigError

HELPER = Path(__file__).resolve().parents[1] / "support" / "credhelper"
HUB = ImageRef.parse("kolla/centos-binary-nova-api:ocata").auth_key


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- challenges -----------------------------------------------------------


def test_bearer_with_comma_in_quoted_scope():
    header = 'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"'
    assert parse_challenges(header) == [
        Challenge(
            "bearer",
            (("realm", "https://auth.example/token"), ("service", "reg"), ("scope", "repository:a/b:pull,push")),
        )
    ]


def test_several_challenges_and_token_values():
    header = 'Basic realm="Registry Realm", Bearer realm="https://a/t", service=svc ,error="insufficient_scope"'
    basic, bearer = parse_challenges(header)
    assert basic.scheme == "basic" and basic.get("realm") == "Registry Realm"
    assert bearer.scheme == "bearer" and bearer.get("service") == "svc"
    assert bearer.get("error") == "insufficient_scope"


def test_escaped_quotes_case_and_token68():
    first, second = parse_challenges('BEARER Realm="a\\"b,c", Negotiate abc123==')
    assert first.scheme == "bearer" and first.get("realm") == 'a"b,c'
    assert second == Challenge("negotiate", (("", "abc123=="),))


def test_bare_scheme_and_garbage():
    assert parse_challenges("Basic") == [Challenge("basic")]
    assert parse_challenges("") == []
    assert parse_challenges('"unterminated') == []


def test_scopes():
    assert repository_scopes("kolla/a") == ("repository:kolla/a:pull",)
    assert repository_scopes("kolla/a", push=True) == ("repository:kolla/a:pull,push",)
    assert repository_scopes("dst/x", push=True, mount_from="src/x") == (
        "repository:dst/x:pull,push",
        "repository:src/x:pull",
    )


# --- credentials ----------------------------------------------------------


def write_config(tmp_path: Path, config: dict) -> Path:
    cfg = tmp_path / "docker"
    cfg.mkdir(exist_ok=True)
    (cfg / "config.json").write_text(json.dumps(config))
    return cfg


@pytest.fixture
def helper_env(tmp_path):
    """PATH with docker-credential-test -> tests/support/credhelper, and its store file."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker-credential-test").symlink_to(HELPER)
    store = tmp_path / "helper-store.json"
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "KOLLA_TEST_CREDS": str(store)}

    def fill(entries: dict) -> dict:
        store.write_text(json.dumps(entries))
        return env

    fill({})
    return fill


def test_auths_basic_and_hub_key(tmp_path):
    cfg = write_config(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": b64("hubuser:hub:pass\x00")},
                "reg.example:5000": {"auth": b64("kolla:s3cret")},
                "https://legacy.example/v1/": {"auth": b64("old:pw")},
            }
        },
    )
    store = CredentialStore.load(cfg, {})
    assert store.lookup(HUB) == Credentials("hubuser", "hub:pass")
    assert store.lookup("reg.example:5000") == Credentials("kolla", "s3cret")
    assert store.lookup("legacy.example") == Credentials("old", "pw")
    assert store.lookup("other.example") is ANONYMOUS
    assert "s3cret" not in repr(store.lookup("reg.example:5000"))


def test_identity_and_registry_tokens(tmp_path):
    cfg = write_config(
        tmp_path,
        {
            "auths": {
                "acr.example": {"auth": b64("00000000-0000-0000-0000-000000000000:"), "identitytoken": "refresh-1"},
                "tok.example": {"registrytoken": "bearer-1"},
                "empty.example": {},
            }
        },
    )
    store = CredentialStore.load(cfg, {})
    acr = store.lookup("acr.example")
    assert acr.identity_token == "refresh-1" and not acr.password and not acr.anonymous
    assert store.lookup("tok.example").registry_token == "bearer-1"
    assert store.lookup("empty.example").anonymous


def test_missing_and_broken_config(tmp_path):
    assert CredentialStore.load(tmp_path / "nowhere", {}).lookup(HUB) is ANONYMOUS
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(ConfigError):
        CredentialStore.load(bad, {})
    cfg = write_config(tmp_path, {"auths": {"r.example": {"auth": "!!!"}}})
    with pytest.raises(ConfigError) as info:
        CredentialStore.load(cfg, {}).lookup("r.example")
    assert "!!!" not in info.value.line()


def test_default_config_dir():
    assert default_config_dir({"DOCKER_CONFIG": "/x/y"}) == Path("/x/y")
    assert default_config_dir({"HOME": "/home/op"}) == Path("/home/op/.docker")


def test_helper_precedence(tmp_path, helper_env):
    env = helper_env(
        {
            "reg.example": {"Username": "from-helper", "Secret": "h-pw"},
            HUB: {"Username": "<token>", "Secret": "refresh-2"},
        }
    )
    cfg = write_config(
        tmp_path,
        {
            "credHelpers": {"reg.example": "test", HUB: "test"},
            "credsStore": "absent-store-binary",
            "auths": {"reg.example": {"auth": b64("from-file:f-pw")}, "plain.example": {}},
        },
    )
    store = CredentialStore.load(cfg, env)
    assert store.lookup("reg.example") == Credentials("from-helper", "h-pw")
    hub = store.lookup(HUB)
    assert hub.identity_token == "refresh-2" and hub.username == ""
    # credsStore applies to every other key, and its binary is missing.
    with pytest.raises(AuthError) as info:
        store.lookup("plain.example")
    assert "docker-credential-absent-store-binary" in info.value.line()
    assert Path(env["KOLLA_TEST_CREDS"] + ".log").read_text().split() == ["reg.example", HUB]


def test_creds_store_not_found_is_anonymous_not_auths(tmp_path, helper_env):
    env = helper_env({"reg.example": {"Username": "u", "Secret": "p"}})
    cfg = write_config(tmp_path, {"credsStore": "test", "auths": {"other.example": {"auth": b64("f:pw")}}})
    store = CredentialStore.load(cfg, env)
    assert store.lookup("reg.example") == Credentials("u", "p")
    assert store.lookup("other.example") is ANONYMOUS


def test_helper_failure_hides_output(tmp_path, helper_env):
    env = helper_env({"reg.example": "fail"})
    cfg = write_config(tmp_path, {"credsStore": "test"})
    with pytest.raises(AuthError) as info:
        CredentialStore.load(cfg, env).lookup("reg.example")
    assert "keychain locked" not in info.value.line()
    assert "docker-credential-test" in info.value.line()


def test_docker_auth_config_env_first(tmp_path, helper_env):
    env = helper_env({"reg.example": {"Username": "helper", "Secret": "h"}})
    env = {**env, "DOCKER_AUTH_CONFIG": json.dumps({"auths": {"reg.example": {"auth": b64("envuser:envpw")}}})}
    cfg = write_config(tmp_path, {"credsStore": "test"})
    assert CredentialStore.load(cfg, env).lookup("reg.example") == Credentials("envuser", "envpw")
    with pytest.raises(ConfigError):
        CredentialStore.load(cfg, {"DOCKER_AUTH_CONFIG": "[1]"})


def test_credentials_not_sent_to_plain_http_realm_elsewhere():
    """A challenge naming an http:// realm on another host gets no password (refused before any I/O)."""
    import requests

    from docker_kolla.adapters.auth import Authenticator

    class Fixed:
        def lookup(self, key):
            return Credentials("kolla", "s3cret")

    resp = requests.Response()
    resp.status_code, resp.url = 401, "https://registry.example/v2/a/b/manifests/x"
    resp.headers["WWW-Authenticate"] = 'Bearer realm="http://auth.example/token",service="reg"'
    auth = Authenticator(requests.Session(), Fixed())
    with pytest.raises(AuthError) as info:
        auth.on_unauthorized(resp, ImageRef.parse("registry.example/a/b:x"), repository_scopes("a/b"))
    assert "plain HTTP" in info.value.line() and "s3cret" not in info.value.line()
    assert auth.token_requests == 0
