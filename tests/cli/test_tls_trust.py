"""TLS trust the docker way: certs.d CAs and client pairs, the system store, REQUESTS_CA_BUNDLE
and SSL_CERT_FILE, against the real docker-registry serving TLS with a CA made for the test.

The registry is reached by this machine's host name (it resolves to 127.0.0.1 but is not a
loopback name, so the client speaks HTTPS as it would to any registry). The images are pushed
over plain HTTP to the session registry; the TLS instances serve the same storage.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import tomli

from tests.cli.lockrepo import make_repo, snapshot
from tests.cli.test_lock_errors import one_line_error
from tests.support import Registry
from tests.support.tlscerts import make_ca

IMAGES = ["nova-api", "keystone"]
HOSTNAME = socket.gethostname()


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"), [HOSTNAME, "localhost"])


def _tls_registry(tmp_path_factory, registry, private_ca, *, mutual: bool):
    reg = Registry(
        tmp_path_factory.mktemp("tls-registry"),
        tls=private_ca,
        mutual=mutual,
        storage=registry.root / "data",
        hostname=HOSTNAME,
    )
    try:
        return reg.start()
    except Exception as exc:  # noqa: BLE001 - a service that does not start fails the test
        pytest.fail(f"docker-registry with TLS could not start: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory, registry, private_ca):
    reg = _tls_registry(tmp_path_factory, registry, private_ca, mutual=False)
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def mtls_registry(tmp_path_factory, registry, private_ca):
    reg = _tls_registry(tmp_path_factory, registry, private_ca, mutual=True)
    yield reg
    reg.stop()


def _repo(tmp_path, docker_cli, fleet, reg):
    fleet.seed(IMAGES)
    expected = {fleet.digest_of(i) for i in IMAGES}
    fleet.host = reg.host  # lock through the TLS registry
    return make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES), expected


def _locked(repo, proc, expected):
    assert proc.returncode == 0, proc.stderr
    lock = tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]
    assert {e["digest"] for e in lock.values()} == expected


def test_a_private_ca_is_refused_until_trusted(tmp_path, docker_cli, fleet, tls_registry):
    repo, _ = _repo(tmp_path, docker_cli, fleet, tls_registry)
    before = snapshot(repo)
    line = one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 3, tls_registry.host, "TLS")
    assert f"certs.d/{tls_registry.host}/ca.crt" in line
    assert snapshot(repo) == before


@pytest.mark.parametrize("where", ["docker-config", "home", "etc"])
def test_a_ca_in_certs_d_is_trusted(tmp_path, docker_cli, fleet, tls_registry, private_ca, where):
    repo, expected = _repo(tmp_path, docker_cli, fleet, tls_registry)
    base = {
        "docker-config": docker_cli.config_dir,  # $DOCKER_CONFIG
        "home": tmp_path / ".docker",  # ~/.docker (HOME is tmp_path for the CLI)
        "etc": None,
    }[where]
    folder = (base / "certs.d" if base else Path("/etc/docker/certs.d")) / tls_registry.host
    folder.mkdir(parents=True)
    try:
        # any *.crt is a CA for the host, not only ca.crt
        shutil.copy(private_ca.ca, folder / ("ca.crt" if where != "home" else "private-root.crt"))
        _locked(repo, docker_cli.kolla("lock", "ocata", cwd=repo), expected)
    finally:
        if where == "etc":
            shutil.rmtree(folder)


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_ca_bundle_from_the_environment_is_trusted(tmp_path, docker_cli, fleet, tls_registry, private_ca, variable):
    repo, expected = _repo(tmp_path, docker_cli, fleet, tls_registry)
    _locked(repo, docker_cli.kolla("lock", "ocata", cwd=repo, env={variable: str(private_ca.ca)}), expected)


def test_mutual_tls_with_a_client_pair_from_certs_d(tmp_path, docker_cli, fleet, mtls_registry, private_ca):
    repo, expected = _repo(tmp_path, docker_cli, fleet, mtls_registry)
    folder = docker_cli.config_dir / "certs.d" / mtls_registry.host
    folder.mkdir(parents=True)
    shutil.copy(private_ca.ca, folder / "ca.crt")
    before = snapshot(repo)
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 3, mtls_registry.host)  # no client certificate
    shutil.copy(private_ca.client_cert, folder / "client.cert")
    line = one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "client.cert", "client.key")
    assert snapshot(repo) == before, line
    shutil.copy(private_ca.client_key, folder / "client.key")
    _locked(repo, docker_cli.kolla("lock", "ocata", cwd=repo), expected)
