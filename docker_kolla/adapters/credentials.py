"""Registry credentials as the docker CLI would find them (docker/cli `cli/config/configfile`, docker-credential-helpers).

:class:`CredentialStore` answers "what would ``docker login`` use for this
registry key?" from a config dir and an environment passed in by the caller:
``DOCKER_AUTH_CONFIG``, credential helpers, ``auths`` in ``config.json``.
Secrets never reach a log line or an exception message.

The docker SDK is not used here, so ``lock`` never loads it: the ``auth`` field
is base64 of ``user:password`` (docker/cli ``cli/config/configfile``), legacy
``https://host/`` keys reduce to their host (``index.docker.io`` to
``docker.io``), and a credential helper is ``docker-credential-NAME get`` with
the registry key on stdin and ``{"Username", "Secret"}`` JSON on stdout
(docker/docker-credential-helpers ``client/client.go``). Unlike the SDK's
``AuthConfig.resolve_authconfig``, a helper that says "not found" means
anonymous (the docker CLI does not fall back to ``auths`` either), and
``registrytoken`` is kept.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from docker_kolla.errors import AuthError, ConfigError

_TOKEN_USERNAME = "<token>"  # docker/cli native_store.go: the Secret is an identity token
_NOT_FOUND = "credentials not found in native keychain"  # docker-credential-helpers credentials/error.go


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
    """One ``auths`` entry -> Credentials (docker/cli `cli/config/types/authconfig.go`)."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: auth entry is not an object", "fix or remove it with `docker logout`")
    username = password = ""
    if entry.get("auth"):
        try:
            username, password = _decode_auth(entry["auth"])
        except (ValueError, TypeError):
            raise ConfigError(f"{where}: `auth` is not base64 of user:password", "run `docker login` again") from None
        password = password.rstrip("\x00")
    return Credentials(
        username=username,
        password=password,
        identity_token=entry.get("identitytoken", "") or "",
        registry_token=entry.get("registrytoken", "") or "",
    )


def _decode_auth(value: str) -> tuple[str, str]:
    """``base64("user:password")`` -> (user, password); ValueError or TypeError if it is not."""
    if not isinstance(value, str):
        raise TypeError("auth is not a string")
    text = base64.b64decode(value.encode("ascii")).decode("utf-8")
    username, sep, password = text.partition(":")
    if not sep:
        raise ValueError("no ':' in auth")
    return username, password


def _index_name(key: str) -> str:
    """A config key reduced to its host: ``https://index.docker.io/v1/`` -> ``docker.io``."""
    host = key.replace("http://", "").replace("https://", "").split("/", 1)[0]
    return "docker.io" if host == "index.docker.io" else host


def _same_key(a: str, b: str) -> bool:
    """Match legacy keys (``https://ghcr.io``) the way the CLI's file store does."""
    return a == b or _index_name(a) == _index_name(b)


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
        # imported here, not at the top: most runs need no helper, and a re-lock's HEADs wait on these imports
        import shutil
        import subprocess

        program = f"docker-credential-{helper}"
        hint = f"install {program} or change credsStore/credHelpers in {self._source}"
        # Looked up on the PATH of the environment we were given, not on os.environ's.
        exe = shutil.which(program, path=self._environ.get("PATH", ""))
        if exe is None:
            raise AuthError(f"credential helper {program} is not on PATH", hint)
        try:
            proc = subprocess.run(
                [exe, "get"], input=key.encode("utf-8"), stdout=subprocess.PIPE, env={**os.environ, **self._environ}
            )
        except OSError:
            raise AuthError(f"credential helper {program} could not be run", hint) from None
        if proc.returncode != 0:
            if _NOT_FOUND in proc.stdout.decode("utf-8", "replace"):
                return ANONYMOUS
            # The helper's own output is not repeated: it is not ours to print.
            raise AuthError(f"credential helper {program} failed for {key}", hint)
        try:
            data = json.loads(proc.stdout.decode("utf-8"))
            username, secret = str(data.get("Username") or ""), str(data.get("Secret") or "")
        except (ValueError, AttributeError):
            raise AuthError(f"credential helper {program} answered with invalid JSON", hint) from None
        if not username and not secret:  # docker-credential-pass answers so for unknown servers
            return ANONYMOUS
        if username == _TOKEN_USERNAME:
            return Credentials(identity_token=secret)
        return Credentials(username=username, password=secret)
