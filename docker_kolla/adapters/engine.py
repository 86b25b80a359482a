"""The Docker engine, through the docker SDK's low-level API. The only docker SDK importer.

Thin on purpose: connect to a resolved :class:`Endpoint`, pull by digest with the
streaming API (``images.pull`` hides in-stream errors, docker SDK `ImageCollection.pull`), tag,
list images with their RepoDigests, list running containers. Every SDK or
connection failure becomes an :class:`EngineError` with a one-line hint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import docker
from docker.errors import APIError, DockerException, ImageNotFound
from requests.exceptions import RequestException

from docker_kolla.adapters.endpoint import Endpoint
from docker_kolla.core.repo_names import split_ref
from docker_kolla.errors import EngineError

log = logging.getLogger(__name__)

# Pull streams can sit quiet while a big layer extracts; 600 s is the engine-side
# worst case we accept before calling the engine stuck.
DEFAULT_TIMEOUT = 600
_HINT = "is dockerd running and reachable? check -H/--context, DOCKER_HOST and DOCKER_CONTEXT"


@dataclass(frozen=True)
class ImageInfo:
    """One engine image: id, ``repo@digest`` and ``repo:tag`` references (repos normalised)."""

    id: str
    repo_digests: tuple = ()
    repo_tags: tuple = ()
    labels: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerInfo:
    """A running container as the engine lists it (one ``containers()`` call)."""

    id: str
    name: str
    image: str  # the reference used at create time
    image_id: str
    labels: dict = field(default_factory=dict)
    state: str = ""


class Engine:
    """A connection to one Docker engine."""

    def __init__(
        self, endpoint: Endpoint, *, config_dir: Path | None = None, pool_size: int = 10, timeout: int = DEFAULT_TIMEOUT
    ) -> None:
        self.endpoint = endpoint
        self._api = _connect(endpoint, pool_size, timeout)
        if config_dir is not None and (Path(config_dir) / "config.json").is_file():
            # The SDK finds credentials via DOCKER_CONFIG; honour docker's --config too.
            self._api.reload_config(str(Path(config_dir) / "config.json"))

    def close(self) -> None:
        self._api.close()

    def images(self) -> list[ImageInfo]:
        """Every image in the engine, with RepoDigests and RepoTags (one API call)."""
        rows = self._call("list images", self._api.images)
        return [
            ImageInfo(
                id=r.get("Id", ""),
                repo_digests=tuple(_norm_refs(r.get("RepoDigests"))),
                repo_tags=tuple(_norm_refs(r.get("RepoTags"))),
                labels=dict(r.get("Labels") or {}),
            )
            for r in rows or []
        ]

    def inspect_image(self, ref: str) -> ImageInfo | None:
        """One image by reference or id, or None if the engine does not have it."""
        try:
            attrs = self._api.inspect_image(ref)
        except ImageNotFound:
            return None
        except (APIError, DockerException, RequestException) as exc:
            raise self._error(f"inspect {ref}", exc) from exc
        config = attrs.get("Config") or {}
        return ImageInfo(
            id=attrs.get("Id", ""),
            repo_digests=tuple(_norm_refs(attrs.get("RepoDigests"))),
            repo_tags=tuple(_norm_refs(attrs.get("RepoTags"))),
            labels=dict(config.get("Labels") or {}),
        )

    def pull(self, repository: str, digest: str, on_event: Callable[[dict], None] | None = None) -> None:
        """Pull ``repository@digest``, streaming; raise on the first ``errorDetail``.

        Raises:
            EngineError: the engine or the registry behind it refused the pull.
        """
        try:
            stream = self._api.pull(repository, tag=digest, stream=True, decode=True)
            for message in stream:
                detail = message.get("errorDetail")
                if detail or message.get("error"):
                    text = (detail or {}).get("message") or message.get("error") or "unknown error"
                    raise EngineError(
                        f"pull {repository}@{digest}: {text}",
                        "check that the digest still exists in the registry and that you can pull it",
                    )
                if on_event is not None:
                    on_event(message)
        except EngineError:
            raise
        except (APIError, DockerException, RequestException) as exc:
            raise self._error(f"pull {repository}@{digest}", exc) from exc

    def tag(self, image: str, repository: str, tag: str) -> None:
        """Point ``repository:tag`` at ``image`` (a reference or an image id)."""
        self._call(f"tag {repository}:{tag}", self._api.tag, image, repository, tag, force=True)

    def containers(self) -> list[ContainerInfo]:
        """Running containers (one ``containers(all=False)`` call)."""
        rows = self._call("list containers", self._api.containers, all=False)
        return [
            ContainerInfo(
                id=r.get("Id", ""),
                name=((r.get("Names") or ["?"])[0]).lstrip("/"),
                image=r.get("Image", ""),
                image_id=r.get("ImageID", ""),
                labels=dict(r.get("Labels") or {}),
                state=r.get("State", ""),
            )
            for r in rows or []
        ]

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (APIError, DockerException, RequestException) as exc:
            raise self._error(what, exc) from exc

    def _error(self, what: str, exc: Exception) -> EngineError:
        if isinstance(exc, APIError):
            reason = exc.explanation or str(exc)
            return EngineError(
                f"engine at {self.endpoint.describe()} refused to {what}: {reason}",
                "see the engine's message; check the reference and your registry credentials",
            )
        return EngineError(f"cannot reach the Docker engine at {self.endpoint.describe()} ({what})", _HINT)


def _connect(endpoint: Endpoint, pool_size: int, timeout: int):
    tls = False
    if endpoint.tls is not None:
        client_cert = (endpoint.tls.cert, endpoint.tls.key) if endpoint.tls.cert and endpoint.tls.key else None
        verify = (endpoint.tls.ca or True) if endpoint.tls.verify else False
        tls = docker.tls.TLSConfig(client_cert=client_cert, verify=verify)
    try:
        # version="auto" asks the engine once, so an unreachable engine fails here.
        return docker.APIClient(
            base_url=endpoint.host,
            version="auto",
            tls=tls,
            timeout=timeout,
            max_pool_size=pool_size,
            use_ssh_client=endpoint.host.startswith("ssh://"),
        )
    except (DockerException, RequestException) as exc:
        log.debug("connect %s: %s", endpoint.host, exc)
        raise EngineError(f"cannot reach the Docker engine at {endpoint.describe()}", _HINT) from exc


def _norm_refs(refs: Iterable[str] | None) -> list[str]:
    out = []
    for ref in refs or []:
        if not ref or ref.startswith("<none>"):
            continue
        repo, rest = split_ref(ref)
        out.append(f"{repo}@{rest}" if "@" in ref else f"{repo}:{rest}")
    return out
