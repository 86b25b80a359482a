"""Registry -> registry copy of one image by digest: blobs, then platform manifests, then the index.

Order matters for interrupted runs: tags are PUT last, only after every blob and
child manifest is present, so a tag never points at an incomplete image and a
re-run copies only what is still missing (OCI distribution-spec "Pushing manifests", "Pushing blobs", "Mounting a blob from another repository").

The children of an index are copied side by side (each one's blobs in parallel,
then the child itself by digest, as soon as its own blobs are there); the index
is put once every child is.

Per blob: when this run already put the blob in another repository of the
destination, one cross-repository mount (no HEAD first, no waiting); else HEAD at the
destination (present: skip); else a mount from the source repository when
source and destination share a host; else a monolithic upload streamed from the
source GET in 1 MiB chunks, never holding a layer in memory. The source stream
is verified as it is read (RegistryClient.open_blob) and the registry verifies
the ``digest`` of the upload, so a corrupt source blob never lands.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from docker_kolla.adapters.http import retrying
from docker_kolla.adapters.registry import RegistryClient
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Descriptor, Index, Manifest, parse_manifest
from docker_kolla.core.promote_plan import CopyStats
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import NotFoundError, RegistryError

log = logging.getLogger(__name__)


class Copier:
    """Copies images between registries; safe to share between threads.

    Args:
        src, dst: registry clients (may be the same object; credentials are
            looked up per host and tokens per scope either way).
        blob_jobs: parallel blob copies per image.
    """

    def __init__(self, src: RegistryClient, dst: RegistryClient, *, blob_jobs: int = 4) -> None:
        self.src = src
        self.dst = dst
        self._pool = ThreadPoolExecutor(max_workers=max(1, blob_jobs), thread_name_prefix="blob")
        # an index's children copy side by side; their blobs go to the blob pool (so a child
        # task only ever waits on blob tasks, which wait on nothing: no cycle between the pools)
        self._children = ThreadPoolExecutor(max_workers=max(1, blob_jobs), thread_name_prefix="child")
        self._lock = threading.Lock()
        self._blob_locks: dict[tuple[str, Digest], threading.Lock] = {}
        self._known: dict[tuple[str, Digest], str] = {}  # (dst host, digest) -> a repo path holding it

    def close(self) -> None:
        self._children.shutdown(wait=True)
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Copier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- images -----------------------------------------------------------------

    def copy_image(
        self, src: ImageRef, dst: ImageRef, top_raw: bytes, media_type: str, tags: Sequence[str]
    ) -> CopyStats:
        """Copy the manifest or index ``top_raw`` and everything it references, then tag it.

        ``src``/``dst`` name repositories. ``top_raw`` is the locked manifest (or
        a subset index made from it); its children are read from ``src`` by digest.
        """
        stats = CopyStats()
        top = parse_manifest(top_raw, media_type)
        if isinstance(top, Index):  # the platforms (and their attestations) side by side
            self._wait_all([self._children.submit(self._child_stats, src, dst, c) for c in top.manifests], stats)
        else:
            self._copy_blobs(src, dst, top, stats)
        self.put_tags(dst, top_raw, top.media_type, tags, stats)
        return stats

    def put_tags(
        self, dst: ImageRef, raw: bytes, media_type: str, tags: Sequence[str], stats: CopyStats | None = None
    ) -> CopyStats:
        """PUT ``raw`` under each tag, in order (immutable tag first, then the moving one)."""
        stats = stats if stats is not None else CopyStats()
        for tag in tags:
            self.dst.put_manifest(dst.with_tag(tag), raw, media_type)
            stats.manifests_put += 1
            stats.manifest_bytes += len(raw)
        return stats

    def copy_manifest(self, src: ImageRef, dst: ImageRef, manifest: Manifest | Index) -> CopyStats:
        """Copy one manifest (an attached artifact: a signature, a referrer) and its content, by digest."""
        stats = CopyStats()
        desc = Descriptor(manifest.media_type, manifest.digest, len(manifest.raw))
        self._copy_child(src, dst, desc, stats)
        return stats

    def _copy_child(self, src: ImageRef, dst: ImageRef, desc: Descriptor, stats: CopyStats) -> None:
        """A platform manifest (or nested index): its content first, then itself by digest."""
        if self._manifest_present(dst, desc.digest):
            stats.manifests_present += 1
            return
        child = self.src.get_manifest(src, desc.digest)
        if isinstance(child, Index):
            for grandchild in child.manifests:
                self._copy_child(src, dst, grandchild, stats)
        else:
            self._copy_blobs(src, dst, child, stats)
        self.dst.put_manifest(dst.with_digest(desc.digest), child.raw, child.media_type)
        stats.manifests_put += 1
        stats.manifest_bytes += len(child.raw)

    def _child_stats(self, src: ImageRef, dst: ImageRef, desc: Descriptor) -> CopyStats:
        stats = CopyStats()
        self._copy_child(src, dst, desc, stats)
        return stats

    @staticmethod
    def _wait_all(futures: list, stats: CopyStats) -> None:
        """Add every future's CopyStats to ``stats``; the first failure is raised after all finished."""
        error = None
        for future in futures:
            try:
                stats.add(future.result())
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the others finished
                error = error or exc
        if error is not None:
            raise error

    def _manifest_present(self, dst: ImageRef, digest: Digest) -> bool:
        try:
            self.dst.head_manifest(dst.with_digest(digest))
            return True
        except NotFoundError:
            return False

    # -- blobs ------------------------------------------------------------------

    def _copy_blobs(self, src: ImageRef, dst: ImageRef, manifest: Manifest, stats: CopyStats) -> None:
        """Config and layers, in parallel; the first failure is raised after all finished."""
        blobs = [manifest.config] + [layer for layer in manifest.layers if not layer.urls]
        unique = list({d.digest: d for d in blobs}.values())
        self._wait_all([self._pool.submit(self.copy_blob, src, dst, d) for d in unique], stats)

    def _digest_lock(self, host: str, digest: Digest) -> threading.Lock:
        with self._lock:
            return self._blob_locks.setdefault((host, digest), threading.Lock())

    def copy_blob(self, src: ImageRef, dst: ImageRef, desc: Descriptor) -> CopyStats:
        """Make ``desc`` present in ``dst``: skip, mount or upload.

        Once this run has put a blob in one repository of the destination, every other
        repository mounts it from there at once, in parallel (a shared base layer is not
        waited on 200 times); until then, one copy at a time per digest.
        """
        key = (dst.api_host, desc.digest)
        known = self._where(key)
        tried = known is not None and known != dst.path
        if known is not None and tried and self._mount_from(dst, desc.digest, known):
            # one mount request, no HEAD first (a mount of a blob the repository already has is a 201 too)
            return self._remember(key, dst, CopyStats(blobs_mounted=1, bytes_mounted=desc.size))
        with self._digest_lock(*key):
            known = self._where(key)
            if known == dst.path:  # this run put it here (another platform of the image shares it)
                return CopyStats(blobs_present=1, bytes_present=desc.size)
            if not tried and known and self._mount_from(dst, desc.digest, known):
                stats = CopyStats(blobs_mounted=1, bytes_mounted=desc.size)  # finished while we waited
            elif self.dst.blob_exists(dst, desc.digest):
                stats = CopyStats(blobs_present=1, bytes_present=desc.size)
            elif self._mount(src, dst, desc.digest):
                stats = CopyStats(blobs_mounted=1, bytes_mounted=desc.size)
            else:
                self._upload(src, dst, desc)
                stats = CopyStats(blobs_uploaded=1, bytes_moved=desc.size)
            return self._remember(key, dst, stats)

    def _where(self, key: tuple[str, Digest]) -> str | None:
        """A repository path of the destination host this run put the blob in, if any."""
        with self._lock:
            return self._known.get(key)

    def _remember(self, key: tuple[str, Digest], dst: ImageRef, stats: CopyStats) -> CopyStats:
        with self._lock:
            self._known[key] = dst.path
        return stats

    def _mount(self, src: ImageRef, dst: ImageRef, digest: Digest) -> bool:
        """Mount from the source repository when source and destination are one registry."""
        if src.api_host == dst.api_host and src.path != dst.path:
            return self._mount_from(dst, digest, src.path)
        return False

    def _mount_from(self, dst: ImageRef, digest: Digest, path: str) -> bool:
        try:
            return self.dst.mount_blob(dst, digest, path)
        except RegistryError as exc:  # a refused mount is not fatal: upload instead
            log.debug("mount of %s from %s failed: %s", digest, path, exc.message)
            return False

    def _upload(self, src: ImageRef, dst: ImageRef, desc: Descriptor) -> None:
        """Stream the source GET into the destination PUT; http.retrying repeats a dropped copy."""

        def attempt() -> None:  # re-opens the source stream on every call
            self.dst.upload_blob(dst, desc.digest, desc.size, self.src.open_blob(src, desc))

        retrying(attempt, self.dst.policy, f"upload of {desc.digest}")
