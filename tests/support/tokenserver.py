"""A real Bearer-token server for distribution's ``auth: token`` mode (distribution docs/spec/auth/token.md).

Tokens are RS256 compact JWS signed by a key made in-process; the self-signed
certificate travels in the header's ``x5c`` and is the registry's ``rootcertbundle``.
Every token request is recorded so tests can count requests per scope and user.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

# Grants: user -> actions for every repository, or user -> {repo glob: actions}.
Grants = dict[str, "tuple[str, ...] | dict[str, tuple[str, ...]]"]
ANONYMOUS = ""


@dataclass(frozen=True)
class TokenRequest:
    """One request the token server answered (user is "" for anonymous)."""

    method: str
    user: str
    scopes: tuple[str, ...]
    service: str
    status: int
    granted: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Threaded HTTP token endpoint at ``/token`` on 127.0.0.1 (port bound at construction)."""

    def __init__(
        self,
        tmpdir: str | Path,
        *,
        users: dict[str, str] | None = None,
        grants: Grants | None = None,
        anonymous_pull: bool = False,
        service: str = "test-registry",
        issuer: str = "test-token-issuer",
        access_token_only: bool = False,
        expires_in: int = 300,
    ) -> None:
        self.tmpdir = Path(tmpdir)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.users = dict(users or {})
        self.grants: Grants = dict(grants or {})
        self.anonymous_pull = anonymous_pull
        self.service = service
        self.issuer = issuer
        self.access_token_only = access_token_only
        self.expires_in = expires_in
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._cert = self._make_cert()
        self.cert_path = self.tmpdir / "token-signer.pem"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.realm = f"http://{self.host}/token"
        self._thread: threading.Thread | None = None

    def _make_cert(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "docker-kolla test token signer")])
        now = dt.datetime.now(dt.timezone.utc)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )

    def registry_auth_config(self) -> dict:
        """The ``auth.token`` block of a distribution config that trusts this server."""
        return {
            "realm": self.realm,
            "service": self.service,
            "issuer": self.issuer,
            "rootcertbundle": str(self.cert_path),
        }

    # -- grants and tokens ---------------------------------------------------
    def allowed(self, user: str, repo: str, wanted: list[str]) -> tuple[str, ...]:
        """The subset of ``wanted`` actions that ``user`` may perform on ``repo``."""
        if user == ANONYMOUS:
            rule: object = ("pull",) if self.anonymous_pull else ()
        else:
            rule = self.grants.get(user, ("*",))  # known users may do anything by default
        if isinstance(rule, dict):
            rule = next((acts for glob, acts in rule.items() if fnmatch.fnmatchcase(repo, glob)), ())
        allowed = set(rule)  # type: ignore[arg-type]
        if "*" in allowed:
            return tuple(wanted)
        return tuple(a for a in wanted if a in allowed)

    def issue(self, user: str, scopes: list[str]) -> tuple[str, tuple]:
        """Sign a token for ``user`` granting what the grants allow of ``scopes``."""
        access, granted = [], []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            repo, actions = ":".join(parts[1:-1]), parts[-1].split(",")
            ok = self.allowed(user, repo, actions)
            access.append({"type": "repository", "name": repo, "actions": list(ok)})
            granted.append((repo, ok))
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.service,
            "sub": user,
            "iat": now,
            "nbf": now - 5,
            "exp": now + self.expires_in,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        der = self._cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}", tuple(granted)

    def record(self, entry: TokenRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def count(self, *, scope: str | None = None, user: str | None = None) -> int:
        """How many token requests asked for ``scope`` (and came from ``user``), if given."""
        with self._lock:
            return sum(
                1 for r in self.requests if (scope is None or scope in r.scopes) and (user is None or r.user == user)
            )

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> TokenServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="token-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802
            self._answer(parse_qs(urlsplit(self.path).query))

        def do_POST(self) -> None:  # noqa: N802 - OAuth2 password grant, as docker login may use
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            self._answer(form, form_user=(form.get("username", [""])[0], form.get("password", [""])[0]))

        def _answer(self, params: dict, form_user: tuple[str, str] | None = None) -> None:
            scopes = [s for value in params.get("scope", []) for s in value.split(" ") if s]
            service = params.get("service", [""])[0]
            user, status = self._authenticate(form_user)
            if status != 200:
                server.record(TokenRequest(self.command, user, tuple(scopes), service, status))
                self._send(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                    {"WWW-Authenticate": 'Basic realm="token"'},
                )
                return
            token, granted = server.issue(user, scopes)
            server.record(TokenRequest(self.command, user, tuple(scopes), service, 200, granted))
            body: dict = {"access_token": token} if server.access_token_only else {"token": token}
            body["expires_in"] = server.expires_in
            body["issued_at"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._send(200, body)

        def _authenticate(self, form_user: tuple[str, str] | None) -> tuple[str, int]:
            header = self.headers.get("Authorization", "")
            if form_user and form_user[0]:
                user, password = form_user
            elif header.lower().startswith("basic "):
                try:
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except ValueError:
                    return "?", 401
            else:
                return ANONYMOUS, 200
            return (user, 200) if server.users.get(user) == password else (user, 401)

        def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
