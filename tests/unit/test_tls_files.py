"""adapters.tls on real files: where certs.d is searched, and broken files as one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from docker_kolla.adapters.tls import SYSTEM_CERTS_D, Trust, certs_dirs
from docker_kolla.errors import ConfigError
from tests.support.tlscerts import make_ca


def test_certs_d_is_searched_in_docker_order_each_folder_once(tmp_path):
    config = tmp_path / "cfg"
    assert certs_dirs(config, {"HOME": str(tmp_path)}) == (
        config / "certs.d",
        tmp_path / ".docker" / "certs.d",
        SYSTEM_CERTS_D,
    )
    same = tmp_path / ".docker"
    assert certs_dirs(same, {"HOME": str(tmp_path)}) == (same / "certs.d", SYSTEM_CERTS_D)


def _trust(tmp_path: Path, host: str, files: dict[str, bytes], env: dict | None = None) -> Trust:
    folder = tmp_path / "certs.d" / host
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return Trust((tmp_path / "certs.d",), env or {})


def test_a_host_with_a_ca_is_configured_and_gets_a_context(tmp_path):
    ca = make_ca(tmp_path / "ca", ["registry.test"])
    trust = _trust(tmp_path, "registry.test:5000", {"ca.crt": ca.ca.read_bytes()})
    assert trust.configured("registry.test:5000") and not trust.configured("registry.test")
    context = trust.context("registry.test:5000")
    assert context is trust.context("registry.test:5000")  # built once
    assert any(c.get("subject") for c in context.get_ca_certs())


@pytest.mark.parametrize(
    "files,needle",
    [
        ({"ca.crt": b"not a certificate"}, "ca.crt"),
        ({"client.cert": b"-----BEGIN CERTIFICATE-----\n"}, "has no key client.key"),
    ],
)
def test_broken_certs_d_files_are_one_config_error(tmp_path, files, needle):
    trust = _trust(tmp_path, "registry.test", files)
    with pytest.raises(ConfigError) as err:
        trust.context("registry.test")
    assert needle in err.value.line()


def test_a_client_pair_whose_key_does_not_match_is_refused(tmp_path):
    one, other = make_ca(tmp_path / "a", ["x.test"]), make_ca(tmp_path / "b", ["x.test"])
    trust = _trust(
        tmp_path, "x.test", {"client.cert": one.client_cert.read_bytes(), "client.key": other.client_key.read_bytes()}
    )
    with pytest.raises(ConfigError, match="client certificate"):
        trust.context("x.test")


def test_a_bundle_variable_naming_a_missing_file_is_one_error(tmp_path):
    trust = Trust((tmp_path / "certs.d",), {"SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigError) as err:
        trust.context("any.test")
    assert "SSL_CERT_FILE" in err.value.line()
