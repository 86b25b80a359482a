"""Image references, parsed and normalised the way distribution/reference does.

``nginx`` -> ``docker.io/library/nginx:latest``; the first path component is a
registry only if it holds ``.`` or ``:``, is ``localhost``, or has capitals.
References are frozen: ``with_tag`` / ``with_digest`` return copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from docker_kolla.core.digest import Digest
from docker_kolla.errors import InvalidReference

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
# The key under which the docker CLI stores Hub credentials (cli/config/configfile/file.go).
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$")

# distribution/reference (reference.go): a whole name, registry included, is at most 255 characters.
NAME_MAX = 255
_HINT = "write it as [REGISTRY/]NAMESPACE/NAME[:TAG][@sha256:DIGEST], e.g. docker.io/kolla/centos-binary-nova-api:ocata"


def _is_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost" or component != component.lower()


def split_registry(name: str) -> tuple[str, str]:
    """``name`` (no tag or digest) -> (registry, path), normalised; no validation.

    The one place the rule lives: the first component is a registry only if it
    holds ``.`` or ``:``, is ``localhost``, or has capitals; Docker Hub is
    ``docker.io`` and its one-component names live under ``library/``.
    """
    first, sep, rest = name.partition("/")
    if sep and _is_registry(first):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name
    if registry == "index.docker.io":
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return registry, path


def valid_tag(tag: str) -> bool:
    return bool(_TAG_RE.match(tag))


@dataclass(frozen=True)
class ImageRef:
    """A normalised image reference.

    Attributes:
        registry: ``docker.io`` or ``host[:port]`` as written.
        path: repository path inside the registry (``kolla/centos-binary-nova-api``).
        tag: the tag, or "" when the reference is by digest only.
        digest: the pinned digest, or None.
    """

    registry: str
    path: str
    tag: str = ""
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str, default_tag: str = "latest") -> ImageRef:
        if not text or text != text.strip() or "://" in text:
            raise InvalidReference(f"malformed image reference {text!r}", _HINT)
        rest, digest = text, None
        if "@" in rest:
            rest, _, digest_text = rest.partition("@")
            digest = Digest.parse(digest_text)
        name, tag = rest, ""
        slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > slash:
            name, tag = name[:colon], name[colon + 1 :]
            if not valid_tag(tag):
                raise InvalidReference(f"malformed tag {tag!r} in {text!r}", _HINT)
        registry, path = cls._split_name(name, text)
        if not tag and digest is None:
            tag = default_tag
        return cls(registry, path, tag, digest)

    @staticmethod
    def _split_name(name: str, original: str) -> tuple[str, str]:
        registry, path = split_registry(name)
        if registry != DOCKER_HUB and not _HOST_RE.match(registry):
            raise InvalidReference(f"malformed registry {registry!r} in {original!r}", _HINT)
        if not _PATH_RE.match(path):
            raise InvalidReference(f"malformed repository name {path!r} in {original!r}", _HINT)
        if len(f"{registry}/{path}") > NAME_MAX:
            raise InvalidReference(
                f"repository name {registry}/{path[:40]}... is {len(registry) + 1 + len(path)} characters long",
                f"registries accept at most {NAME_MAX} (distribution/reference NameTotalLengthMax): shorten it",
            )
        return registry, path

    @classmethod
    def from_parts(cls, registry: str, path: str, tag: str = "", digest: Digest | None = None) -> ImageRef:
        """Build from a registry and a path, with the same checks as :meth:`parse`."""
        reg, norm_path = cls._split_name(f"{registry}/{path}" if registry else path, f"{registry}/{path}")
        if tag and not valid_tag(tag):
            raise InvalidReference(f"malformed tag {tag!r}", _HINT)
        return cls(reg, norm_path, tag, digest)

    @classmethod
    def parse_repository(cls, text: str) -> ImageRef:
        """``registry/path`` (no tag, no digest), as a lockfile stores it."""
        ref = cls.parse(text, default_tag="")
        if ref.tag or ref.digest is not None:
            raise InvalidReference(f"repository {text!r} carries a tag or digest", _HINT)
        return ref

    @property
    def repository(self) -> str:
        """``registry/path``, the name without tag or digest."""
        return f"{self.registry}/{self.path}"

    @property
    def bare(self) -> ImageRef:
        """The repository alone: this reference without tag or digest."""
        return replace(self, tag="", digest=None)

    @property
    def api_host(self) -> str:
        """The host to send registry API calls to."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def auth_key(self) -> str:
        """The config.json ``auths`` / credential-helper key for this registry."""
        return DOCKER_HUB_AUTH_KEY if self.registry == DOCKER_HUB else self.registry

    def with_tag(self, tag: str) -> ImageRef:
        if not valid_tag(tag):
            raise InvalidReference(f"malformed tag {tag!r}", _HINT)
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: Digest) -> ImageRef:
        return replace(self, tag="", digest=digest)

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class Location:
    """``HOST[:PORT][/NAMESPACE]``: where images go (``promote --to``) or live (``export --registry``)."""

    host: str
    namespace: str = ""

    @classmethod
    def parse(cls, text: str, option: str = "--to") -> Location:
        """The first component is always the host; the rest, if any, the namespace."""
        hint = f"write {option} as HOST[:PORT][/NAMESPACE], e.g. {option} registry.example.com:5000/kolla"
        host, _, namespace = (text or "").strip().strip("/").partition("/")
        if not host or "@" in text or "://" in text:
            raise InvalidReference(f"malformed {option} {text!r}", hint)
        try:
            ImageRef.from_parts(host, f"{namespace}/x" if namespace else "x")
        except InvalidReference:
            raise InvalidReference(f"malformed {option} {text!r}", hint) from None
        return cls(host, namespace)

    def repository(self, source: ImageRef) -> ImageRef:
        """Where ``source``'s repository goes: ``HOST/NAMESPACE/<last component>``, or
        ``HOST/<source path>`` without a namespace. No tag, no digest."""
        last = source.path.rsplit("/", 1)[-1]
        path = f"{self.namespace}/{last}" if self.namespace else source.path
        return ImageRef.from_parts(self.host, path)
