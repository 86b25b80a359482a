"""Which Docker engine to talk to: the one the docker CLI would use.

The CLI's order (cli/command/cli.go ``resolveContextName``):
``--context`` > ``-H`` > ``DOCKER_HOST`` > ``DOCKER_CONTEXT`` > config.json
``currentContext`` > ``default``. ``-H`` and ``DOCKER_HOST`` mean the default
context with that host. Named contexts live in
``<config dir>/contexts/meta/<sha256(name)>/meta.json`` with TLS material in
``<config dir>/contexts/tls/<sha256(name)>/docker/``. A context that does not
exist is an error, never a quiet fall back to the local socket (the docker SDK
7.2 falls back; docker SDK `docker.from_env`). This module reads files only; it does not
import the docker SDK.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from docker_kolla.errors import ConfigError, UsageError

DEFAULT_HOST = "unix:///var/run/docker.sock"
_CONTEXT_HINT = (
    "list contexts with `docker context ls`, or create it with `docker context create NAME --docker host=...`"
)


@dataclass(frozen=True)
class TLSFiles:
    """TLS settings for the engine connection.

    Attributes:
        verify: check the engine's certificate against ``ca``.
        ca, cert, key: PEM file paths, or None.
    """

    verify: bool
    ca: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """A resolved engine endpoint.

    Attributes:
        context: the context name (``default`` for -H / DOCKER_HOST / nothing).
        host: ``unix:///...``, ``tcp://...``, ``ssh://...``.
        tls: TLS settings, or None for a plain connection.
        source: where the choice came from (``--context``, ``DOCKER_HOST``, ...), for messages.
    """

    context: str
    host: str
    tls: TLSFiles | None = None
    source: str = "default"

    def describe(self) -> str:
        if self.context == "default":
            return self.host
        return f"{self.host} (context {self.context!r})"


@dataclass(frozen=True)
class TLSFlags:
    """docker's global ``--tls*`` flags (only used by the default context)."""

    tls: bool = False
    tlsverify: bool | None = None
    tlscacert: str | None = None
    tlscert: str | None = None
    tlskey: str | None = None


def context_dir_name(name: str) -> str:
    """The context store's directory name for a context: sha256 hex of the name."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def resolve_endpoint(
    *,
    config_dir: Path,
    env: Mapping[str, str],
    context: str | None = None,
    host: str | None = None,
    tls: TLSFlags = TLSFlags(),
) -> Endpoint:
    """Resolve the engine endpoint with the docker CLI's precedence.

    Raises:
        UsageError: ``--context`` together with ``-H``, or a context that does not exist.
        ConfigError: a context's meta.json or config.json that does not parse.
    """
    if context and host:
        raise UsageError(
            "conflicting options: either specify --host or --context, not both", "drop one of -H/--host and --context"
        )
    if context:
        return _named_or_default(context, "--context", config_dir, env, tls)
    if host:
        return _default(host, "-H", config_dir, env, tls)
    if env.get("DOCKER_HOST"):
        return _default(env["DOCKER_HOST"], "DOCKER_HOST", config_dir, env, tls)
    if env.get("DOCKER_CONTEXT"):
        return _named_or_default(env["DOCKER_CONTEXT"], "DOCKER_CONTEXT", config_dir, env, tls)
    current = _current_context(config_dir)
    if current:
        return _named_or_default(current, "config.json currentContext", config_dir, env, tls)
    return _default(None, "default", config_dir, env, tls)


def _named_or_default(name: str, source: str, config_dir: Path, env: Mapping[str, str], tls: TLSFlags) -> Endpoint:
    if name == "default":
        return _default(env.get("DOCKER_HOST"), source, config_dir, env, tls)
    return load_context(name, config_dir, source)


def _default(host: str | None, source: str, config_dir: Path, env: Mapping[str, str], tls: TLSFlags) -> Endpoint:
    """The default context: -H / DOCKER_HOST or the local socket; TLS from flags or DOCKER_TLS_VERIFY."""
    return Endpoint("default", host or DEFAULT_HOST, _default_tls(config_dir, env, tls), source)


def _default_tls(config_dir: Path, env: Mapping[str, str], flags: TLSFlags) -> TLSFiles | None:
    # cli/flags/options.go: --tlsverify (or DOCKER_TLS_VERIFY set) implies --tls; cert files
    # default to DOCKER_CERT_PATH, else the config dir.
    verify = flags.tlsverify if flags.tlsverify is not None else bool(env.get("DOCKER_TLS_VERIFY"))
    if not (flags.tls or verify):
        return None
    cert_dir = Path(env.get("DOCKER_CERT_PATH") or config_dir)

    def pick(given: str | None, default: str) -> str | None:
        if given:
            return given
        path = cert_dir / default
        return str(path) if path.is_file() else None

    return TLSFiles(
        verify=verify,
        ca=pick(flags.tlscacert, "ca.pem"),
        cert=pick(flags.tlscert, "cert.pem"),
        key=pick(flags.tlskey, "key.pem"),
    )


def load_context(name: str, config_dir: Path, source: str = "--context") -> Endpoint:
    """A named context from the CLI's context store.

    Raises:
        UsageError: no such context.
        ConfigError: meta.json unreadable or without a docker endpoint.
    """
    digest = context_dir_name(name)
    meta_path = Path(config_dir) / "contexts" / "meta" / digest / "meta.json"
    if not meta_path.is_file():
        raise UsageError(f"context {name!r} (from {source}) not found in {config_dir}", _CONTEXT_HINT)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"context {name!r}: cannot read {meta_path}: {exc}", _CONTEXT_HINT) from exc
    # Go reads the keys case-insensitively; the CLI writes them capitalised.
    endpoints = _get(meta, "Endpoints") or {}
    docker_ep = _get(endpoints, "docker") if isinstance(endpoints, dict) else None
    host = _get(docker_ep, "Host") if isinstance(docker_ep, dict) else None
    if not isinstance(host, str) or not host:
        raise ConfigError(f"context {name!r} has no docker endpoint host in {meta_path}", _CONTEXT_HINT)
    skip_verify = bool(_get(docker_ep, "SkipTLSVerify"))
    return Endpoint(name, host, _context_tls(config_dir, digest, skip_verify), source)


def _context_tls(config_dir: Path, digest: str, skip_verify: bool) -> TLSFiles | None:
    tls_dir = Path(config_dir) / "contexts" / "tls" / digest / "docker"
    files = {n: tls_dir / f"{n}.pem" for n in ("ca", "cert", "key")}
    present = {n: str(p) for n, p in files.items() if p.is_file()}
    if not present and not skip_verify:
        return None
    return TLSFiles(verify=not skip_verify, ca=present.get("ca"), cert=present.get("cert"), key=present.get("key"))


def _current_context(config_dir: Path) -> str | None:
    path = Path(config_dir) / "config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", "fix or remove the file") from exc
    value = _get(config, "currentContext") if isinstance(config, dict) else None
    return value if isinstance(value, str) and value else None


def _get(table: Any, key: str) -> Any:
    """Case-insensitive key lookup, as Go's encoding/json does."""
    if key in table:
        return table[key]
    lowered = key.lower()
    for k, v in table.items():
        if isinstance(k, str) and k.lower() == lowered:
            return v
    return None
