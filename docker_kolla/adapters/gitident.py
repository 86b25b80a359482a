"""Who a commit is by and when: git's identity rules, read from an explicit environment.

``gitstore`` builds the :class:`~docker_kolla.adapters.gitwrite.Signature` of a
commit here and hands it to ``gitwrite``, which takes it as a parameter (as
dulwich does) instead of reading the environment or the clock itself.
"""

from __future__ import annotations

import contextlib
import time
from typing import Mapping

from dulwich.repo import Repo

from docker_kolla.adapters.gitwrite import Signature

FALLBACK_NAME, FALLBACK_EMAIL = "docker-kolla", "docker-kolla@localhost"


def configured_identity(repo: Repo, kind: str, env: Mapping[str, str]) -> dict:
    """``{"name": ..., "email": ...}`` for AUTHOR or COMMITTER as configured; None where nothing is.

    Order: GIT_<KIND>_NAME/EMAIL in ``env``, ``<kind>.name``/``.email`` and
    ``user.*`` from the config stack (repo, global, system).
    """
    config = repo.get_config_stack()
    found = {}
    for field in ("name", "email"):
        value = env.get(f"GIT_{kind}_{field.upper()}") or None
        for section in (kind.lower(), "user"):
            if value is None:
                with contextlib.suppress(KeyError):
                    value = config.get((section.encode(),), field.encode()).decode("utf-8", "replace") or None
        found[field] = value
    return found


def identity(repo: Repo, kind: str, env: Mapping[str, str]) -> bytes:
    """``Name <email>`` for AUTHOR or COMMITTER, as git picks it, with our fallback.

    Unlike dulwich's ``get_user_identity`` this never guesses ``user@hostname``.
    """
    found = configured_identity(repo, kind, env)
    name = _scrub(found["name"] or FALLBACK_NAME)
    email = _scrub(found["email"] or FALLBACK_EMAIL).strip("<>")
    return f"{name} <{email}>".encode()


def signature(repo: Repo, env: Mapping[str, str], when: float | None = None) -> Signature:
    """Author and committer from ``env`` and config; ``when`` defaults to now."""
    stamp = int(time.time() if when is None else when)
    return Signature(identity(repo, "AUTHOR", env), identity(repo, "COMMITTER", env), stamp)


def _scrub(text: str) -> str:
    """Drop characters that would break a git identity line."""
    return "".join(ch for ch in text if ch not in "<>\n\r\0").strip() or "unknown"
