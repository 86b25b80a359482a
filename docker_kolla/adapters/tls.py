"""Which TLS certificates to trust for a registry, the way docker decides it.

docker (and skopeo, containerd) read ``certs.d/<host[:port]>/`` for each
registry: every ``*.crt`` file is a CA to trust for that host (``ca.crt`` by
convention), every ``*.cert`` with a ``*.key`` of the same name a client
certificate to present (mutual TLS). The folders searched, in docker's order of
precedence, are ``$DOCKER_CONFIG/certs.d`` (``~/.docker`` when unset, see the
docker CLI's ``config.Dir``), ``~/.docker/certs.d`` and ``/etc/docker/certs.d``
(moby ``registry/config.go``: ``CertsDir``). On top of those the system store,
certifi's bundle and the files named by ``REQUESTS_CA_BUNDLE`` and
``SSL_CERT_FILE`` are trusted, for every host.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Mapping

from docker_kolla.errors import ConfigError

SYSTEM_CERTS_D = Path("/etc/docker/certs.d")
BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def certs_dirs(config_dir: Path, env: Mapping[str, str]) -> tuple[Path, ...]:
    """The certs.d folders to search, most specific first, each once."""
    home = Path(env.get("HOME") or Path.home()) / ".docker"
    found: list[Path] = []
    for folder in (Path(config_dir) / "certs.d", home / "certs.d", SYSTEM_CERTS_D):
        if folder not in found:
            found.append(folder)
    return tuple(found)


class Trust:
    """TLS settings per registry host; one SSL context per host, built once.

    Args:
        dirs: certs.d folders (see :func:`certs_dirs`).
        env: the run's environment, for REQUESTS_CA_BUNDLE and SSL_CERT_FILE.
    """

    def __init__(self, dirs: tuple[Path, ...], env: Mapping[str, str]) -> None:
        self.dirs = dirs
        self.bundles = tuple(Path(env[name]) for name in BUNDLE_VARIABLES if env.get(name))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def host_dirs(self, host: str) -> list[Path]:
        """The existing ``certs.d/<host>`` folders for ``host`` (``name`` or ``name:port``)."""
        out = []
        for base in self.dirs:
            folder = base / host
            try:
                if folder.is_dir():
                    out.append(folder)
            except OSError:
                continue
        return out

    def configured(self, host: str) -> bool:
        """Whether certs.d has anything for ``host``: then it speaks TLS, even on loopback."""
        return bool(self.host_dirs(host))

    def context(self, host: str) -> ssl.SSLContext:
        """The SSL context for ``host``: system store, bundles, its certs.d CAs and client pair."""
        with self._lock:
            if host not in self._contexts:
                self._contexts[host] = self._build(host)
            return self._contexts[host]

    def _build(self, host: str) -> ssl.SSLContext:
        context = ssl.create_default_context()
        try:
            import certifi  # the bundle requests trusts by default; a registry reached by either agrees

            context.load_verify_locations(cafile=certifi.where())
        except (ImportError, OSError, ssl.SSLError):
            pass
        for bundle in self.bundles:
            _load_cas(context, bundle, f"the CA bundle {bundle} (REQUESTS_CA_BUNDLE/SSL_CERT_FILE)")
        pair_found = False
        for folder in self.host_dirs(host):
            for ca in sorted(folder.glob("*.crt")):
                _load_cas(context, ca, f"the CA certificate {ca}")
            for cert in sorted(folder.glob("*.cert")):
                key = cert.with_suffix(".key")
                if not key.is_file():
                    raise ConfigError(
                        f"client certificate {cert} has no key {key.name} beside it",
                        f"put the private key in {key} (docker's certs.d convention), or remove the .cert file",
                    )
                if not pair_found:
                    _load_pair(context, cert, key)
                    pair_found = True
        return context


def _load_cas(context: ssl.SSLContext, path: Path, what: str) -> None:
    try:
        context.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot use {what}: {getattr(exc, 'strerror', None) or exc.__class__.__name__}",
            "it must be readable PEM (-----BEGIN CERTIFICATE-----)",
        ) from None


def _load_pair(context: ssl.SSLContext, cert: Path, key: Path) -> None:
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot use the client certificate {cert} with {key.name}: "
            f"{getattr(exc, 'strerror', None) or exc.__class__.__name__}",
            "both must be readable PEM files, and the key must belong to the certificate",
        ) from None
