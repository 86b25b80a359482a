"""Pinned-image values for unit tests of the lock model, diffs, merges and exports."""

from __future__ import annotations

from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def pinned(
    name: str,
    revision: int = 1,
    *,
    seed: object = None,
    repo: str = "docker.io/kolla",
    media_type: str = OCI_MANIFEST,
    manifesto: dict[str, str] | None = None,
) -> LockEntry:
    """``NAME`` as locked at ``ocata-REVISION``: repository ``REPO/centos-binary-NAME``, a digest
    derived from ``seed`` (default: the revision), one linux/amd64 manifest."""
    return LockEntry(
        name=name,
        repository=ImageRef.parse_repository(f"{repo}/centos-binary-{name}"),
        tag=f"ocata-{revision}",
        revision=revision,
        digest=Digest.of(f"{name}-{revision if seed is None else seed}".encode()),
        media_type=media_type,
        platform=Platform.parse("linux/amd64"),
        manifesto=dict(manifesto or {}),
    )
