"""Repository names as the Docker engine reports them, normalised for comparison. Pure.

The engine shows Docker Hub repositories in their familiar form
(``kolla/centos-binary-nova-api``, ``nginx``) while locks may carry
``docker.io/kolla/...``; both must compare equal when matching RepoDigests
and RepoTags against lock entries.
"""

from __future__ import annotations

from docker_kolla.core.reference import split_registry

_HUB_HOSTS = ("registry-1.docker.io",)


def normalise_repo(repo: str) -> str:
    """Canonical repository name: ``docker.io/library/x`` == ``library/x`` == ``x``."""
    registry, path = split_registry(repo)
    if registry in _HUB_HOSTS:  # the engine may spell Hub's API host too
        registry, path = split_registry(path)
    return f"{registry}/{path}"


def split_ref(ref: str) -> tuple[str, str]:
    """``repo@digest`` or ``repo:tag`` -> (normalised repo, digest or tag); no tag means ``latest``."""
    if "@" in ref:
        repo, _, rest = ref.partition("@")
    else:
        slash = ref.rfind("/")
        colon = ref.rfind(":")
        repo, rest = (ref[:colon], ref[colon + 1 :]) if colon > slash else (ref, "latest")
    return normalise_repo(repo), rest
