"""Challenge auth for registry requests: Basic, or Bearer tokens from the realm.

:class:`Authenticator` answers ``WWW-Authenticate`` challenges and caches
tokens per (realm, service, scopes) (distribution docs/spec/auth/token.md). Credentials come from
``credentials.CredentialStore``; challenge parsing lives in ``challenges``.
Both are re-exported here, where callers have always imported them.
"""

from __future__ import annotations

import base64
import threading
import time
from urllib.parse import urlsplit

from docker_kolla.adapters.challenges import Challenge, parse_challenges
from docker_kolla.adapters.credentials import Credentials
from docker_kolla.adapters.http import DEFAULT_POLICY, RetryPolicy, is_loopback, redact, send
from docker_kolla.adapters.transport import Response, Session
from docker_kolla.core.reference import DOCKER_HUB, ImageRef
from docker_kolla.errors import AuthError, RegistryError

# A token is reused until this many seconds before it expires, so it cannot
# expire between the cache check and the registry reading it.
TOKEN_EXPIRY_MARGIN = 10.0
# token.md: "expires_in" defaults to 60 s when absent; clients treat less as 60.
TOKEN_MIN_LIFETIME = 60.0
# OAuth2 client id sent with identity-token refreshes (oauth.md requires one).
CLIENT_ID = "docker-kolla"


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

    def __init__(
        self, session: Session, credentials, *, policy: RetryPolicy = DEFAULT_POLICY, clock=time.monotonic
    ) -> None:
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

    def on_unauthorized(self, resp: Response, ref: ImageRef, scopes: tuple[str, ...]) -> dict:
        """Learn from a 401 and return headers for one retry; AuthError if none can help."""
        challenges = parse_challenges(resp.headers.get("WWW-Authenticate", ""))
        usable = [c for c in challenges if c.scheme == "bearer" and c.get("realm")]
        usable += [c for c in challenges if c.scheme == "basic"]
        if not usable:
            raise AuthError(
                f"{ref.registry} answered 401 without a Basic or Bearer challenge",
                f"check the registry address; then try {_login_hint(ref)}",
                status=401,
                url=redact(resp.url),
            )
        challenge = usable[0]
        self._challenges[ref.api_host] = challenge
        with self._lock:  # the cached token was refused: fetch a fresh one
            self._tokens.pop(self._token_key(challenge, scopes), None)
        return self._authorize(challenge, ref, scopes)

    def failure(self, resp: Response, ref: ImageRef, scopes: tuple[str, ...]) -> AuthError:
        """The error for a 401/403 that survived authentication."""
        creds = self._credentials.lookup(ref.auth_key)
        url = redact(resp.url)
        what = ", ".join(scopes) or ref.registry
        if creds.anonymous:
            return AuthError(
                f"{ref.registry} refused anonymous access ({what})",
                f"log in with {_login_hint(ref)}",
                status=resp.status_code,
                url=url,
            )
        errors = [c.get("error") for c in parse_challenges(resp.headers.get("WWW-Authenticate", ""))]
        if resp.status_code == 403 or "insufficient_scope" in errors:
            return AuthError(
                f"access denied on {ref.registry} ({what})",
                f"the account from {_login_hint(ref)} lacks this permission",
                status=resp.status_code,
                url=url,
            )
        return AuthError(
            f"authentication to {ref.registry} failed", f"check {_login_hint(ref)}", status=resp.status_code, url=url
        )

    def _authorize(self, challenge: Challenge, ref: ImageRef, scopes: tuple[str, ...]) -> dict:
        creds = self._credentials.lookup(ref.auth_key)
        if challenge.scheme == "basic":
            if not (creds.username or creds.password):
                raise AuthError(
                    f"{ref.registry} requires a user name and password", f"log in with {_login_hint(ref)}", status=401
                )
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
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": CLIENT_ID,
                "scope": " ".join(scopes),
            }
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

    def _read_token(self, resp: Response, ref: ImageRef, creds: Credentials) -> tuple[str, float]:
        url = redact(resp.url)
        if resp.status_code in (401, 403):
            if creds.anonymous:
                raise AuthError(
                    f"{ref.registry} refused an anonymous token",
                    f"log in with {_login_hint(ref)}",
                    status=resp.status_code,
                    url=url,
                )
            raise AuthError(
                f"authentication to {ref.registry} failed",
                f"check {_login_hint(ref)}",
                status=resp.status_code,
                url=url,
            )
        if resp.status_code != 200:
            raise RegistryError(
                f"token server answered HTTP {resp.status_code}",
                "retry later; if it persists the registry's auth service is down",
                status=resp.status_code,
                url=url,
            )
        try:
            body = resp.json()
            # distribution's client prefers access_token when both are present.
            token = body.get("access_token") or body["token"]
            lifetime = max(float(body.get("expires_in") or TOKEN_MIN_LIFETIME), TOKEN_MIN_LIFETIME)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RegistryError(
                "token server sent no token",
                "the registry's auth service is misconfigured",
                status=resp.status_code,
                url=url,
            ) from None
        return str(token), lifetime


def _check_realm(realm: str, ref: ImageRef, creds: Credentials) -> None:
    """Credentials go over plain HTTP only to loopback or to the registry host itself."""
    parts = urlsplit(realm)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AuthError(
            f"{ref.registry} names an invalid token realm {redact(realm)!r}",
            "the registry's auth configuration is broken",
        )
    if (
        parts.scheme == "http"
        and not creds.anonymous
        and not (is_loopback(parts.netloc) or parts.hostname == urlsplit(f"//{ref.api_host}").hostname)
    ):
        raise AuthError(
            f"{ref.registry} asks for credentials over plain HTTP at {redact(realm)}",
            "refusing to send them; configure the token service with HTTPS",
        )


def _login_hint(ref: ImageRef) -> str:
    return "`docker login`" if ref.registry == DOCKER_HUB else f"`docker login {ref.registry}`"
