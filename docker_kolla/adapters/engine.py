"""The Docker engine, through the docker SDK's low-level API. The only docker SDK importer.

Thin on purpose: connect to a resolved :class:`Endpoint`, pull by digest with the
streaming API (``images.pull`` hides in-stream errors, docker SDK `ImageCollection.pull`), tag,
list images with their RepoDigests, list running containers. Every SDK or
connection failure becomes an :class:`EngineError` with a one-line hint.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import docker
import urllib3.exceptions
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
_current = threading.local()  # the _Deadline of the pull running in this thread, if any


class _Deadline:
    """One pull's overall deadline (``pull --timeout``).

    The SDK sends the pull without any timeout (docker SDK ``ImageApiMixin.pull`` passes
    ``timeout=None``), so an engine stuck on a stalled registry holds the read forever,
    before its answer's headers (the engine resolves the manifest first) or in the
    progress stream. Two bounds, both from the running thread's deadline: the request
    goes out with the deadline as its connect and read timeout (:func:`_bounded_send`),
    and the session's response hook hands the answer to :meth:`attach`, whose socket a
    timer shuts down when the deadline passes, ending a stream that trickles on.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.due = time.monotonic() + seconds
        self._expired = False
        self._sockets: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        _current.deadline = None

    def attach(self, response) -> None:
        sock = _socket_of(response)
        with self._lock:
            if sock is not None:
                self._sockets.append(sock)
                if self._expired:
                    _cut(sock)

    @property
    def expired(self) -> bool:
        return self._expired or time.monotonic() >= self.due

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._sockets:
                _cut(sock)


def _socket_of(response):
    """The socket under a streamed requests answer (urllib3 keeps its connection attached)."""
    conn = getattr(response.raw, "connection", None) or getattr(response.raw, "_connection", None)
    return getattr(conn, "sock", None)


def _cut(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _bounded_send(send):
    """``Session.send`` giving a request sent without a timeout the running pull's
    deadline as its connect and read timeout."""

    def bounded(request, **kwargs):
        deadline = getattr(_current, "deadline", None)
        if deadline is not None and kwargs.get("timeout") is None:
            left = max(deadline.due - time.monotonic(), 0.001)
            kwargs["timeout"] = (left, left)
        return send(request, **kwargs)

    return bounded


def _on_response(response, *args, **kwargs):
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(response)
    return response


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
        self,
        endpoint: Endpoint,
        *,
        config_dir: Path | None = None,
        pool_size: int = 10,
        timeout: int = DEFAULT_TIMEOUT,
        deadline: float | None = None,
    ) -> None:
        """``deadline``: seconds each image's pull may take, and the longest silence of any
        other call (``pull --timeout``); None: pulls take what they take, calls ``timeout``."""
        self.endpoint = endpoint
        self.deadline = deadline
        self._api = _connect(endpoint, pool_size, timeout if deadline is None else min(float(timeout), deadline))
        self._api.hooks["response"].append(_on_response)
        self._api.send = _bounded_send(self._api.send)  # type: ignore[method-assign]
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
        with _Deadline(self.deadline) if self.deadline else contextlib.nullcontext() as deadline:
            error: EngineError | None = None
            try:
                self._pull(repository, digest, on_event, deadline)
            except EngineError as exc:
                error = exc
            if deadline is None or not deadline.expired:  # a stream cut by the deadline may just end
                if error is not None:
                    raise error
                return
        raise EngineError(
            f"pull {repository}@{digest}: the engine did not finish within the {deadline.seconds:g} s deadline",
            "the engine or its registry is stalled or slow: retry later, or raise --timeout SECONDS",
        ) from error

    def _pull(self, repository: str, digest: str, on_event, deadline) -> None:
        try:
            stream = self._api.pull(repository, tag=digest, stream=True, decode=True)
            for message in stream:
                if deadline is not None and deadline.expired:
                    break
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
        # the SDK reads the stream from urllib3 itself: a cut or dropped stream raises urllib3's errors
        except (APIError, DockerException, RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
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


def _connect(endpoint: Endpoint, pool_size: int, timeout: float):
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
