"""Registry credentials (docker config.json, credential helpers) and challenge auth.

Two halves, both thin:

* :class:`CredentialStore` answers "what would ``docker login`` use for this
  registry key?" from a config dir and an environment passed in by the caller
  (protocols.md 2). Secrets never reach a log line or an exception message.
* :class:`Authenticator` answers ``WWW-Authenticate`` challenges (Basic, or
  Bearer via the token realm) and caches tokens per (realm, service, scopes)
  (protocols.md 3.2).

Reused from the docker SDK: ``docker.auth.decode_auth`` (the ``auth`` field),
``docker.auth.resolve_index_name`` (legacy ``https://host/`` keys) and
``docker.credentials.Store`` (the docker-credential-helper protocol). Not reused:
``docker.auth.AuthConfig.resolve_authconfig``, because it finds the config file
through DOCKER_CONFIG/HOME itself, drops ``registrytoken``, falls back to
``auths`` when a helper says "not found" (the docker CLI does not), and logs
user names.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

import docker.auth
import docker.credentials
import requests

from docker_kolla.adapters.http import DEFAULT_POLICY, RetryPolicy, is_loopback, redact, send
from docker_kolla.core.reference import DOCKER_HUB, ImageRef
from docker_kolla.errors import AuthError, ConfigError, RegistryError

# A token is reused until this many seconds before it expires, so it cannot
# expire between the cache check and the registry reading it.
TOKEN_EXPIRY_MARGIN = 10.0
# token.md: "expires_in" defaults to 60 s when absent; clients treat less as 60.
TOKEN_MIN_LIFETIME = 60.0
# OAuth2 client id sent with identity-token refreshes (oauth.md requires one).
CLIENT_ID = "docker-kolla"
_TOKEN_USERNAME = "<token>"  # docker/cli native_store.go: the Secret is an identity token


# --- Credentials ----------------------------------------------------------

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
            raise ConfigError(f"{where}: `auth` is not base64 of user:password",
                              "run `docker login` again") from None
        password = password.rstrip("\x00")
    return Credentials(username=username, password=password,
                       identity_token=entry.get("identitytoken", "") or "",
                       registry_token=entry.get("registrytoken", "") or "")


def _same_key(a: str, b: str) -> bool:
    """Match legacy keys (``https://ghcr.io``) the way the CLI's file store does."""
    return a == b or docker.auth.resolve_index_name(a) == docker.auth.resolve_index_name(b)


class CredentialStore:
    """Credentials the docker CLI would use, read from one config dir.

    Precedence: ``DOCKER_AUTH_CONFIG`` > ``credHelpers[key]`` > ``credsStore`` >
    ``auths``. A configured helper that answers "not found" means anonymous.
    """

    def __init__(self, config: dict, environ: Mapping[str, str] | None = None,
                 source: str = "config.json") -> None:
        self._config = config
        self._environ = dict(environ or {})
        self._source = source
        self._env_auths = self._parse_env_auths()
        self._cache: dict[str, Credentials] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, config_dir: Path, environ: Mapping[str, str]) -> "CredentialStore":
        """Read ``config_dir/config.json``; a missing file means no credentials."""
        path = Path(config_dir) / "config.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            config = {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {type(exc).__name__}",
                              "fix the file or point --config / DOCKER_CONFIG elsewhere") from None
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
            raise ConfigError("DOCKER_AUTH_CONFIG is not {\"auths\": {...}} JSON",
                              "fix or unset DOCKER_AUTH_CONFIG") from None
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


# --- Challenges -----------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME_RE = re.compile(rf"[\s,]*({_TOKEN})(?=[\s,]|$)")
_PARAM_RE = re.compile(rf'[\s,]*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|{_TOKEN})\s*')
_TOKEN68_RE = re.compile(r"\s+([A-Za-z0-9._~+/-]+=*)\s*(?=,|$)")


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: scheme (lower case) and params."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    def get(self, name: str, default: str = "") -> str:
        return dict(self.params).get(name, default)


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` per RFC 7235 section 4.1.

    Handles several challenges in one header and quoted values holding commas
    (``scope="repository:a:pull,push"``). Parameter names are lower-cased.
    """
    out: list[Challenge] = []
    pos = 0
    while pos < len(header):
        scheme = _SCHEME_RE.match(header, pos)
        if not scheme:
            break
        pos = scheme.end()
        params: list[tuple[str, str]] = []
        token68 = _TOKEN68_RE.match(header, pos)
        if token68 and not _PARAM_RE.match(header, pos):
            params.append(("", token68.group(1)))
            pos = token68.end()
        while (param := _PARAM_RE.match(header, pos)) is not None:
            params.append((param.group(1).lower(), _unquote(param.group(2))))
            pos = param.end()
        out.append(Challenge(scheme.group(1).lower(), tuple(params)))
    return out


def repository_scopes(path: str, push: bool = False, mount_from: str = "") -> tuple[str, ...]:
    """Token scopes for an operation (scope.md; mounts need pull on the source too)."""
    scopes = [f"repository:{path}:{'pull,push' if push else 'pull'}"]
    if mount_from and mount_from != path:
        scopes.append(f"repository:{mount_from}:pull")
    return tuple(sorted(scopes))


def _check_realm(realm: str, ref: ImageRef, creds: Credentials) -> None:
    """Credentials go over plain HTTP only to loopback or to the registry host itself."""
    parts = urlsplit(realm)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AuthError(f"{ref.registry} names an invalid token realm {redact(realm)!r}",
                        "the registry's auth configuration is broken")
    if parts.scheme == "http" and not creds.anonymous and not (
            is_loopback(parts.netloc) or parts.hostname == urlsplit(f"//{ref.api_host}").hostname):
        raise AuthError(f"{ref.registry} asks for credentials over plain HTTP at {redact(realm)}",
                        "refusing to send them; configure the token service with HTTPS")


def _login_hint(ref: ImageRef) -> str:
    return "`docker login`" if ref.registry == DOCKER_HUB else f"`docker login {ref.registry}`"


# --- Authenticator --------------------------------------------------------

class Authenticator:
    """Answers registry challenges and keeps what it learnt.

    Per registry host it remembers the challenge (Basic, or Bearer realm and
    service), so later requests carry credentials up front instead of paying a
    401 round trip each. Bearer tokens are cached per (realm, service, sorted
    scopes): a token for repository A is useless for repository B.

    Args:
        session: the shared session (see http.make_session).
        credentials: anything with ``lookup(auth_key) -> Credentials``.
        clock: monotonic seconds; tests pass a fake to expire tokens.
    """

    def __init__(self, session: requests.Session, credentials, *,
                 policy: RetryPolicy = DEFAULT_POLICY, clock=time.monotonic) -> None:
        self._session = session
        self._credentials = credentials
        self._policy = policy
        self._clock = clock
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.token_requests = 0

    def headers(self, ref: ImageRef, scopes: tuple[str, ...]) -> dict:
        """Authorization for a request to ``ref.api_host``; empty until a challenge was seen."""
        challenge = self._challenges.get(ref.api_host)
        return self._authorize(challenge, ref, scopes) if challenge else {}

    def on_unauthorized(self, resp: requests.Response, ref: ImageRef, scopes: tuple[str, ...]) -> dict:
        """Learn from a 401 and return headers for one retry; AuthError if none can help."""
        challenges = parse_challenges(resp.headers.get("WWW-Authenticate", ""))
        usable = [c for c in challenges if c.scheme == "bearer" and c.get("realm")]
        usable += [c for c in challenges if c.scheme == "basic"]
        if not usable:
            raise AuthError(f"{ref.registry} answered 401 without a Basic or Bearer challenge",
                            f"check the registry address; then try {_login_hint(ref)}",
                            status=401, url=redact(resp.url))
        challenge = usable[0]
        self._challenges[ref.api_host] = challenge
        with self._lock:  # the cached token was refused: fetch a fresh one
            self._tokens.pop(self._token_key(challenge, scopes), None)
        return self._authorize(challenge, ref, scopes)

    def failure(self, resp: requests.Response, ref: ImageRef, scopes: tuple[str, ...]) -> AuthError:
        """The error for a 401/403 that survived authentication."""
        creds = self._credentials.lookup(ref.auth_key)
        url = redact(resp.url)
        what = ", ".join(scopes) or ref.registry
        if creds.anonymous:
            return AuthError(f"{ref.registry} refused anonymous access ({what})",
                             f"log in with {_login_hint(ref)}", status=resp.status_code, url=url)
        errors = [c.get("error") for c in parse_challenges(resp.headers.get("WWW-Authenticate", ""))]
        if resp.status_code == 403 or "insufficient_scope" in errors:
            return AuthError(f"access denied on {ref.registry} ({what})",
                             f"the account from {_login_hint(ref)} lacks this permission",
                             status=resp.status_code, url=url)
        return AuthError(f"authentication to {ref.registry} failed",
                         f"check {_login_hint(ref)}", status=resp.status_code, url=url)

    def _authorize(self, challenge: Challenge, ref: ImageRef, scopes: tuple[str, ...]) -> dict:
        creds = self._credentials.lookup(ref.auth_key)
        if challenge.scheme == "basic":
            if not (creds.username or creds.password):
                raise AuthError(f"{ref.registry} requires a user name and password",
                                f"log in with {_login_hint(ref)}", status=401)
            raw = f"{creds.username}:{creds.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        if creds.registry_token:
            return {"Authorization": f"Bearer {creds.registry_token}"}
        return {"Authorization": f"Bearer {self._token(challenge, ref, creds, scopes)}"}

    @staticmethod
    def _token_key(challenge: Challenge, scopes: tuple[str, ...]) -> tuple:
        return challenge.get("realm"), challenge.get("service"), tuple(sorted(scopes))

    def _token(self, challenge: Challenge, ref: ImageRef, creds: Credentials, scopes) -> str:
        key = self._token_key(challenge, scopes)
        # One lock for the cache and the fetch: parallel jobs asking for the same
        # scope must not each fetch a token.
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > self._clock():
                return cached[0]
            token, lifetime = self._fetch_token(challenge, ref, creds, key[2])
            self._tokens[key] = (token, self._clock() + lifetime - TOKEN_EXPIRY_MARGIN)
            return token

    def _fetch_token(self, challenge: Challenge, ref: ImageRef, creds: Credentials, scopes) -> tuple[str, float]:
        realm, service = challenge.get("realm"), challenge.get("service")
        _check_realm(realm, ref, creds)
        self.token_requests += 1
        if creds.identity_token:
            # oauth.md: POST form, ONE space-separated scope; 404 = GET-only server.
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                    "client_id": CLIENT_ID, "scope": " ".join(scopes)}
            if service:
                form["service"] = service
            resp = send(self._session, "POST", realm, data=form, policy=self._policy)
        if not creds.identity_token or resp.status_code == 404:
            params = ([("service", service)] if service else []) + [("scope", s) for s in scopes]
            basic = None
            if creds.username and creds.password:
                params.append(("account", creds.username))
                basic = (creds.username, creds.password)
            resp = send(self._session, "GET", realm, params=params, auth=basic, policy=self._policy)
        return self._read_token(resp, ref, creds)

    def _read_token(self, resp: requests.Response, ref: ImageRef, creds: Credentials) -> tuple[str, float]:
        url = redact(resp.url)
        if resp.status_code in (401, 403):
            if creds.anonymous:
                raise AuthError(f"{ref.registry} refused an anonymous token",
                                f"log in with {_login_hint(ref)}", status=resp.status_code, url=url)
            raise AuthError(f"authentication to {ref.registry} failed",
                            f"check {_login_hint(ref)}", status=resp.status_code, url=url)
        if resp.status_code != 200:
            raise RegistryError(f"token server answered HTTP {resp.status_code}",
                                "retry later; if it persists the registry's auth service is down",
                                status=resp.status_code, url=url)
        try:
            body = resp.json()
            # distribution's client prefers access_token when both are present.
            token = body.get("access_token") or body["token"]
            lifetime = max(float(body.get("expires_in") or TOKEN_MIN_LIFETIME), TOKEN_MIN_LIFETIME)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RegistryError("token server sent no token", "the registry's auth service is misconfigured",
                                status=resp.status_code, url=url) from None
        return str(token), lifetime
