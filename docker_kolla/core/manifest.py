"""Manifests and indexes parsed from the exact bytes a registry sent.

The bytes are kept as received: a digest is always computed over them, never over
a re-serialisation (OCI distribution-spec "Pulling manifests"; image-spec descriptor.md "Digests").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from docker_kolla.core.digest import Digest
from docker_kolla.errors import RegistryError, UsageError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
# Image manifest v2 schema 2, manifest lists and OCI (image-manifest.md, image-index.md) all say 2;
# schema 1 (signed, v1-compatible) and anything newer are refused rather than guessed at.
SCHEMA_VERSION = 2
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
# One Accept list for HEAD and GET alike: without the index types distribution
# rewrites a list to its amd64 child, without the OCI types it answers 404.
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
FOREIGN_LAYER_MARKERS = ("foreign", "nondistributable")

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm"}


@dataclass(frozen=True, order=True)
class Platform:
    """``os/architecture[/variant]``, normalised the containerd way."""

    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(f"malformed platform {text!r}", "write it as OS/ARCH[/VARIANT], e.g. linux/amd64")
        return cls.normalised(*parts)

    @classmethod
    def normalised(cls, os_: str, arch: str, variant: str = "") -> Platform:
        original = arch
        arch = _ARCH_ALIASES.get(arch, arch)
        if original == "armel" and not variant:
            variant = "v6"
        if arch == "arm" and not variant:
            variant = "v7"
        if (arch == "amd64" and variant == "v1") or (arch == "arm64" and variant == "v8"):
            variant = ""
        return cls(os_, arch, variant)

    @property
    def is_unknown(self) -> bool:
        return self.os == "unknown" or self.architecture == "unknown"

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    urls: tuple[str, ...] = ()

    @property
    def is_attestation(self) -> bool:
        """BuildKit's attestation entries: unknown/unknown plus a reference-type annotation."""
        if dict(self.annotations).get("vnd.docker.reference.type") == "attestation-manifest":
            return True
        return self.platform is not None and self.platform.is_unknown

    @property
    def is_foreign(self) -> bool:
        return any(marker in self.media_type for marker in FOREIGN_LAYER_MARKERS)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Descriptor:
        try:
            plat = obj.get("platform")
            platform = None
            if plat:
                platform = Platform.normalised(
                    plat.get("os", ""), plat.get("architecture", ""), plat.get("variant", "")
                )
            return cls(
                media_type=obj.get("mediaType", ""),
                digest=Digest.parse(obj["digest"]),
                size=int(obj["size"]),
                platform=platform,
                annotations=tuple(sorted((obj.get("annotations") or {}).items())),
                urls=tuple(obj.get("urls") or ()),
            )
        except (KeyError, TypeError, ValueError, UsageError) as exc:
            raise RegistryError(
                f"malformed descriptor in manifest: {exc}", "the registry sent an invalid manifest"
            ) from exc


@dataclass(frozen=True)
class Manifest:
    """An image manifest (one platform): config and layers, base first."""

    media_type: str
    digest: Digest
    raw: bytes
    config: Descriptor
    layers: tuple[Descriptor, ...]

    @property
    def is_index(self) -> bool:
        return False


@dataclass(frozen=True)
class Index:
    """An image index / manifest list."""

    media_type: str
    digest: Digest
    raw: bytes
    manifests: tuple[Descriptor, ...] = field(default_factory=tuple)

    @property
    def is_index(self) -> bool:
        return True

    def platform_entries(self) -> list[Descriptor]:
        """Entries that are real platforms (attestations skipped)."""
        return [d for d in self.manifests if not d.is_attestation]

    def select(self, platform: Platform) -> Descriptor | None:
        """The first entry matching os/arch and variant (image-index.md: first match wins)."""
        candidates = [
            d
            for d in self.platform_entries()
            if d.platform and d.platform.os == platform.os and d.platform.architecture == platform.architecture
        ]
        for desc in candidates:
            if desc.platform is not None and desc.platform.variant == platform.variant:
                return desc
        return candidates[0] if candidates and not platform.variant else None


def parse_manifest(raw: bytes, content_type: str = "") -> Manifest | Index:
    """Parse manifest or index bytes; the digest is the sha256 of ``raw``."""
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise RegistryError(f"manifest is not JSON: {exc}", "the registry sent an invalid manifest") from exc
    if not isinstance(obj, dict):
        raise RegistryError("manifest is not a JSON object", "the registry sent an invalid manifest")
    media_type = obj.get("mediaType") or content_type.split(";")[0].strip()
    digest = Digest.of(raw)
    if obj.get("schemaVersion") != SCHEMA_VERSION:
        raise RegistryError(
            f"manifest {digest} has schemaVersion {obj.get('schemaVersion')!r}",
            f"docker-kolla reads OCI and Docker v2 manifests (schemaVersion {SCHEMA_VERSION}) only; "
            "push the image again with a current client",
        )
    if media_type in INDEX_TYPES or (not media_type and "manifests" in obj):
        entries = tuple(Descriptor.from_json(m) for m in obj.get("manifests") or ())
        return Index(media_type or OCI_INDEX, digest, raw, entries)
    if media_type in MANIFEST_TYPES or (not media_type and "layers" in obj):
        if "config" not in obj:
            raise RegistryError("manifest has no config", "the registry sent an invalid manifest")
        layers = tuple(Descriptor.from_json(layer) for layer in obj.get("layers") or ())
        return Manifest(media_type or OCI_MANIFEST, digest, raw, Descriptor.from_json(obj["config"]), layers)
    raise RegistryError(
        f"manifest {digest} has unsupported media type {media_type!r}",
        "docker-kolla reads OCI and Docker v2 manifests and indexes only",
    )


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image config blob that docker-kolla uses."""

    platform: Platform
    labels: dict[str, Any]
    diff_ids: tuple[str, ...]
    created: str = ""


def parse_config(raw: bytes) -> ImageConfig:
    try:
        obj = json.loads(raw)
        cfg = obj.get("config") or {}
        labels = cfg.get("Labels") or {}
        rootfs = obj.get("rootfs") or {}
        return ImageConfig(
            platform=Platform.normalised(obj.get("os", ""), obj.get("architecture", ""), obj.get("variant", "")),
            labels={str(k): str(v) for k, v in labels.items()},
            diff_ids=tuple(rootfs.get("diff_ids") or ()),
            created=str(obj.get("created") or ""),
        )
    except (ValueError, AttributeError, TypeError) as exc:
        raise RegistryError(
            f"image config is not valid JSON: {exc}", "the registry sent an invalid config blob"
        ) from exc
