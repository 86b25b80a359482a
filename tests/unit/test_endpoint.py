"""Engine endpoint resolution follows the docker CLI's precedence and never falls back silently.

The context store is written by the real docker CLI (`docker context create`), so
the test checks our reading of the layout the CLI actually produces.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from docker_kolla.adapters.endpoint import DEFAULT_HOST, TLSFlags, context_dir_name, resolve_endpoint
from docker_kolla.errors import ConfigError, UsageError


@pytest.fixture
def config_dir(tmp_path):
    """A DOCKER_CONFIG with two contexts created by the docker CLI."""
    cfg = tmp_path / "docker-config"
    cfg.mkdir()
    env = dict(os.environ, DOCKER_CONFIG=str(cfg))
    env.pop("DOCKER_HOST", None)
    env.pop("DOCKER_CONTEXT", None)
    for name, host in (("alpha", "unix:///run/alpha.sock"), ("beta", "tcp://10.0.0.2:2376")):
        subprocess.run(
            ["docker", "context", "create", name, "--docker", f"host={host}"], env=env, check=True, capture_output=True
        )
    return cfg


def resolve(cfg, env=None, **kw):
    return resolve_endpoint(config_dir=cfg, env=env or {}, **kw)


def test_default_socket_when_nothing_is_set(tmp_path):
    ep = resolve(tmp_path)
    assert (ep.context, ep.host, ep.tls) == ("default", DEFAULT_HOST, None)


def test_context_flag_reads_the_cli_context_store(config_dir):
    ep = resolve(config_dir, context="beta")
    assert (ep.context, ep.host) == ("beta", "tcp://10.0.0.2:2376")
    assert ep.source == "--context"


def test_precedence_context_host_env(config_dir):
    env = {"DOCKER_HOST": "unix:///env.sock", "DOCKER_CONTEXT": "beta"}
    assert resolve(config_dir, env, context="alpha").host == "unix:///run/alpha.sock"
    assert resolve(config_dir, env, host="unix:///flag.sock").host == "unix:///flag.sock"
    # DOCKER_HOST wins over DOCKER_CONTEXT, as in the CLI code (not its docs table).
    assert resolve(config_dir, env).host == "unix:///env.sock"
    assert resolve(config_dir, {"DOCKER_CONTEXT": "beta"}).host == "tcp://10.0.0.2:2376"


def test_current_context_from_config_json(config_dir):
    (config_dir / "config.json").write_text(json.dumps({"currentContext": "alpha"}))
    assert resolve(config_dir).host == "unix:///run/alpha.sock"
    assert resolve(config_dir, {"DOCKER_CONTEXT": "beta"}).host == "tcp://10.0.0.2:2376"
    assert resolve(config_dir, {"DOCKER_CONTEXT": "default"}).host == DEFAULT_HOST


def test_current_context_set_by_docker_context_use(config_dir):
    env = dict(os.environ, DOCKER_CONFIG=str(config_dir))
    env.pop("DOCKER_HOST", None)
    env.pop("DOCKER_CONTEXT", None)
    subprocess.run(["docker", "context", "use", "beta"], env=env, check=True, capture_output=True)
    assert resolve(config_dir).context == "beta"


@pytest.mark.parametrize("how", [{"context": "nope"}, {"env": {"DOCKER_CONTEXT": "nope"}}])
def test_unknown_context_is_an_error_not_a_fallback(config_dir, how):
    with pytest.raises(UsageError) as err:
        resolve(config_dir, how.get("env"), context=how.get("context"))
    assert "nope" in err.value.line() and err.value.exit_code == 2


def test_unknown_current_context_is_an_error(config_dir):
    (config_dir / "config.json").write_text(json.dumps({"currentContext": "gone"}))
    with pytest.raises(UsageError):
        resolve(config_dir)


def test_context_and_host_together_is_an_error(config_dir):
    with pytest.raises(UsageError):
        resolve(config_dir, context="alpha", host="unix:///x.sock")


def test_context_tls_material_from_the_store(config_dir, tmp_path):
    # The CLI checks the PEM files, so make a real self-signed pair.
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
            "-days",
            "1",
            "-subj",
            "/CN=test",
        ],
        check=True,
        capture_output=True,
    )
    (tmp_path / "ca.pem").write_bytes((tmp_path / "cert.pem").read_bytes())
    env = dict(os.environ, DOCKER_CONFIG=str(config_dir))
    subprocess.run(
        [
            "docker",
            "context",
            "create",
            "secure",
            "--docker",
            f"host=tcp://10.0.0.3:2376,ca={tmp_path}/ca.pem,cert={tmp_path}/cert.pem,key={tmp_path}/key.pem",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    ep = resolve(config_dir, context="secure")
    assert ep.tls is not None and ep.tls.verify
    assert ep.tls.ca.endswith("ca.pem") and ep.tls.cert.endswith("cert.pem") and ep.tls.key.endswith("key.pem")
    assert open(ep.tls.ca).read() == (tmp_path / "ca.pem").read_text()


def test_default_context_tls_flags_and_env(tmp_path):
    (tmp_path / "ca.pem").write_text("ca")
    ep = resolve(tmp_path, {"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert ep.tls.verify and ep.tls.ca == str(tmp_path / "ca.pem") and ep.tls.cert is None
    ep = resolve(tmp_path, host="tcp://h:2376", tls=TLSFlags(tls=True))
    assert ep.tls is not None and not ep.tls.verify


def test_broken_meta_json_is_a_config_error(config_dir):
    meta = config_dir / "contexts" / "meta" / context_dir_name("alpha") / "meta.json"
    assert meta.is_file()
    meta.write_text("{not json")
    with pytest.raises(ConfigError):
        resolve(config_dir, context="alpha")
    assert resolve(config_dir, context="beta").host == "tcp://10.0.0.2:2376"
