"""The real CNCF distribution registry (Debian ``docker-registry``) on a free port.

Configured per instance: filesystem storage in a temp dir, deletes enabled, no redis,
and optionally htpasswd (bcrypt) or Bearer-token auth (distribution docs/configuration.md "auth").
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from tests.support._proc import ServiceError, free_port, log_tail, require_binary, stop_process, wait_until

if TYPE_CHECKING:
    from tests.support.tlscerts import PrivateCA
    from tests.support.tokenserver import TokenServer


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash of ``password``; distribution's htpasswd accepts only bcrypt.

    Uses the ``bcrypt`` wheel when installed, else the C library's crypt(3), whose
    libxcrypt on Debian implements ``$2b$`` (so no extra dependency is needed).
    """
    try:
        import bcrypt  # type: ignore[import-not-found]

        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # stdlib until 3.13

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))
    if not hashed or not hashed.startswith("$2"):
        raise ServiceError("no bcrypt available: `pip install bcrypt` (crypt(3) lacks $2b$)")
    return hashed


class Registry:
    """One ``docker-registry serve`` process; ``start()`` blocks until ``/v2/`` answers."""

    def __init__(
        self,
        tmpdir: str | Path,
        *,
        htpasswd: tuple[str, str] | None = None,
        token: TokenServer | None = None,
        tls: PrivateCA | None = None,
        mutual: bool = False,
        storage: Path | None = None,
        hostname: str = "127.0.0.1",
    ) -> None:
        """``tls``: serve HTTPS with that CA's server certificate (``mutual``: and require a client
        certificate it signed); ``storage``: share another registry's storage folder (distribution
        instances are stateless, so one can push over HTTP and another serve the same data over TLS);
        ``hostname``: the name clients use (``host`` is ``hostname:port``)."""
        if htpasswd and token:
            raise ValueError("choose htpasswd or token auth, not both")
        self.tmpdir = Path(tmpdir)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.htpasswd = htpasswd
        self.token = token
        self.tls, self.mutual, self.storage = tls, mutual, storage
        self.port = free_port()
        self.host = f"{hostname}:{self.port}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self.log_path = self.tmpdir / f"registry-{self.port}.log"
        self.root: Path | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def auth(self) -> tuple[str, str] | None:
        """The (user, password) clients should use, if any."""
        return self.htpasswd

    def _config(self) -> dict:
        assert self.root is not None
        config: dict = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text"},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage or self.root / "data")},
                # as Debian's /etc/docker/registry/config.yml and the registry image ship it
                "cache": {"blobdescriptor": "inmemory"},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": f"127.0.0.1:{self.port}", "secret": secrets.token_hex(16)},
        }
        if self.tls:
            config["http"]["tls"] = {"certificate": str(self.tls.server_cert), "key": str(self.tls.server_key)}
            if self.mutual:
                config["http"]["tls"]["clientcas"] = [str(self.tls.ca)]
        if self.htpasswd:
            user, password = self.htpasswd
            path = self.root / "htpasswd"
            path.write_text(f"{user}:{bcrypt_hash(password)}\n")
            config["auth"] = {"htpasswd": {"realm": "test-registry", "path": str(path)}}
        if self.token:
            config["auth"] = {"token": self.token.registry_auth_config()}
        return config

    def start(self) -> Registry:
        binary = require_binary("docker-registry", "docker-registry")
        self.root = Path(tempfile.mkdtemp(prefix="registry-", dir=self.tmpdir))
        config_path = self.root / "config.yml"
        config_path.write_text(json.dumps(self._config(), indent=2))  # JSON is valid YAML
        log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [binary, "serve", str(config_path)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        tls = {}
        if self.tls:
            tls = {"verify": str(self.tls.ca)}
            if self.mutual:
                tls["cert"] = (str(self.tls.client_cert), str(self.tls.client_key))
        wait_until(
            lambda: requests.get(f"{self.url}/v2/", timeout=2, **tls).status_code in (200, 401),
            timeout=30,
            what=f"docker-registry on {self.host}",
            proc=self._proc,
            log=self.log_path,
        )
        return self

    def stop(self) -> None:
        """Kill by PID and remove the storage dir; the log file stays for post-mortems."""
        stop_process(self._proc)
        self._proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        mode = "htpasswd" if self.htpasswd else "token" if self.token else "anonymous"
        return f"Registry({self.host}, {mode}, pid={self.pid})"
