"""``WWW-Authenticate`` challenges (RFC 7235) and the token scopes we ask for.

Pure parsing, no I/O: :class:`~docker_kolla.adapters.auth.Authenticator`
answers the challenges (distribution docs/spec/auth/token.md; scope.md for the scope strings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
