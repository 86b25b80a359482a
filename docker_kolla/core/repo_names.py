"""Repository names as the Docker engine reports them, normalised for comparison. Pure.

The engine shows Docker Hub repositories in their familiar form
(``kolla/centos-binary-nova-api``, ``nginx``) while locks may carry
``docker.io/kolla/...``; both must compare equal when matching RepoDigests
and RepoTags against lock entries.
"""

from __future__ import annotations

_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def normalise_repo(repo: str) -> str:
    """Canonical repository name: ``docker.io/library/x`` == ``library/x`` == ``x``."""
    first, sep, rest = repo.partition("/")
    if not sep or not ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        first, rest = "docker.io", repo
    if first in _HUB_HOSTS:
        first = "docker.io"
        if "/" not in rest:
            rest = f"library/{rest}"
    return f"{first}/{rest}"


def split_ref(ref: str) -> tuple[str, str]:
    """``repo@digest`` or ``repo:tag`` -> (normalised repo, digest or tag); no tag means ``latest``."""
    if "@" in ref:
        repo, _, rest = ref.partition("@")
    else:
        slash = ref.rfind("/")
        colon = ref.rfind(":")
        repo, rest = (ref[:colon], ref[colon + 1:]) if colon > slash else (ref, "latest")
    return normalise_repo(repo), rest
