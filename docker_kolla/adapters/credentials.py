"""Registry credentials as the docker CLI would find them (protocols.md 2).

:class:`CredentialStore` answers "what would ``docker login`` use for this
registry key?" from a config dir and an environment passed in by the caller:
``DOCKER_AUTH_CONFIG``, credential helpers, ``auths`` in ``config.json``.
Secrets never reach a log line or an exception message.

Reused from the docker SDK: ``docker.auth.decode_auth`` (the ``auth`` field),
``docker.auth.resolve_index_name`` (legacy ``https://host/`` keys) and
``docker.credentials.Store`` (the docker-credential-helper protocol). Not reused:
``docker.auth.AuthConfig.resolve_authconfig``, because it finds the config file
through DOCKER_CONFIG/HOME itself, drops ``registrytoken``, falls back to
``auths`` when a helper says "not found" (the docker CLI does not), and logs
user names.
"""

from __future__ import annotations

import json
import shutil
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import docker.auth
import docker.credentials

from docker_kolla.errors import AuthError, ConfigError

_TOKEN_USERNAME = "<token>"  # docker/cli native_store.go: the Secret is an identity token


@dataclass(frozen=True)
class Credentials:
    """What one registry key resolves to. ``repr`` never shows a secret."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)

    @property
    def anonymous(self) -> bool:
        return not (self.password or self.identity_token or self.registry_token)


ANONYMOUS = Credentials()


def default_config_dir(environ: Mapping[str, str]) -> Path:
    """``$DOCKER_CONFIG`` or ``~/.docker``, from the environment given."""
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"])
    return Path(environ.get("HOME", "~")).expanduser() / ".docker"


def _decode_entry(entry: dict, where: str) -> Credentials:
    """One ``auths`` entry -> Credentials (protocols.md 2.1)."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: auth entry is not an object", "fix or remove it with `docker logout`")
    username = password = ""
    if entry.get("auth"):
        try:
            username, password = docker.auth.decode_auth(entry["auth"])
        except (ValueError, TypeError, UnicodeDecodeError):
            raise ConfigError(f"{where}: `auth` is not base64 of user:password", "run `docker login` again") from None
        password = password.rstrip("\x00")
    return Credentials(
        username=username,
        password=password,
        identity_token=entry.get("identitytoken", "") or "",
        registry_token=entry.get("registrytoken", "") or "",
    )


def _same_key(a: str, b: str) -> bool:
    """Match legacy keys (``https://ghcr.io``) the way the CLI's file store does."""
    return a == b or docker.auth.resolve_index_name(a) == docker.auth.resolve_index_name(b)


class CredentialStore:
    """Credentials the docker CLI would use, read from one config dir.

    Precedence: ``DOCKER_AUTH_CONFIG`` > ``credHelpers[key]`` > ``credsStore`` >
    ``auths``. A configured helper that answers "not found" means anonymous.
    """

    def __init__(self, config: dict, environ: Mapping[str, str] | None = None, source: str = "config.json") -> None:
        self._config = config
        self._environ = dict(environ or {})
        self._source = source
        self._env_auths = self._parse_env_auths()
        self._cache: dict[str, Credentials] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, config_dir: Path, environ: Mapping[str, str]) -> CredentialStore:
        """Read ``config_dir/config.json``; a missing file means no credentials."""
        path = Path(config_dir) / "config.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            config = {}
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read {path}: {type(exc).__name__}", "fix the file or point --config / DOCKER_CONFIG elsewhere"
            ) from None
        if not isinstance(config, dict):
            raise ConfigError(f"{path} is not a JSON object", "fix the file or point --config elsewhere")
        return cls(config, environ, str(path))

    def _parse_env_auths(self) -> dict:
        text = self._environ.get("DOCKER_AUTH_CONFIG", "")
        if not text:
            return {}
        try:
            auths = json.loads(text).get("auths", {})
            assert isinstance(auths, dict)
        except (ValueError, AttributeError, AssertionError):
            raise ConfigError(
                'DOCKER_AUTH_CONFIG is not {"auths": {...}} JSON', "fix or unset DOCKER_AUTH_CONFIG"
            ) from None
        return auths

    def lookup(self, key: str) -> Credentials:
        """Credentials for an auth key (``ImageRef.auth_key``), cached per key."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._resolve(key)
            return self._cache[key]

    def _resolve(self, key: str) -> Credentials:
        for name, entry in self._env_auths.items():
            if _same_key(name, key):
                return _decode_entry(entry, "DOCKER_AUTH_CONFIG")
        helpers = self._config.get("credHelpers") or {}
        helper = helpers.get(key) or self._config.get("credsStore")
        if helper:
            return self._from_helper(helper, key)
        for name, entry in (self._config.get("auths") or {}).items():
            if _same_key(name, key):
                return _decode_entry(entry, self._source)
        return ANONYMOUS

    def _from_helper(self, helper: str, key: str) -> Credentials:
        program = f"docker-credential-{helper}"
        with warnings.catch_warnings():  # Store warns when the helper is not on *our* PATH
            warnings.simplefilter("ignore")
            store = docker.credentials.Store(helper, environment=self._environ)
        # Store looks the program up on os.environ's PATH; use the environment we were given.
        store.exe = shutil.which(program, path=self._environ.get("PATH", ""))
        hint = f"install {program} or change credsStore/credHelpers in {self._source}"
        if store.exe is None:
            raise AuthError(f"credential helper {program} is not on PATH", hint)
        try:
            data = store.get(key)
        except docker.credentials.CredentialsNotFound:
            return ANONYMOUS
        except docker.credentials.StoreError:
            # The helper's own output is not repeated: it is not ours to print.
            raise AuthError(f"credential helper {program} failed for {key}", hint) from None
        except ValueError:
            raise AuthError(f"credential helper {program} answered with invalid JSON", hint) from None
        username, secret = data.get("Username", ""), data.get("Secret", "")
        if username == _TOKEN_USERNAME:
            return Credentials(identity_token=secret)
        return Credentials(username=username, password=secret)
