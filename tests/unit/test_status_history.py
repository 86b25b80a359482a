"""``status``'s matching of running digests against the lock history: pure, no engine needed."""

from __future__ import annotations

from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.ops.status import BEHIND, IN_SYNC, UNKNOWN_DIGEST, LockHistory


def test_lock_history_matching_without_an_engine():
    """Revision distance, a digest that was never locked, and an image promoted to another registry."""

    def lock(revision: int, digest: str) -> Lockfile:
        entry = LockEntry(
            name="nova-api",
            repository=ImageRef.parse_repository("reg.test/kolla/centos-binary-nova-api"),
            tag=f"ocata-{revision}",
            revision=revision,
            digest=Digest.of(digest.encode()),
            media_type="m",
            platform=Platform.parse("linux/amd64"),
        )
        return Lockfile("ocata", {"nova-api": entry})

    versions = [lock(1, "a"), lock(2, "b"), lock(4, "c")]  # revision 3 was never committed on this branch
    history = LockHistory(versions[-1], versions)
    current = history.current.images["nova-api"]
    assert history.compare(current, {str(Digest.of(b"c"))}) == (IN_SYNC, 0, "ocata-4")
    assert history.compare(current, {str(Digest.of(b"a"))}) == (BEHIND, 3, "ocata-1")
    assert history.compare(current, {str(Digest.of(b"zz"))}) == (UNKNOWN_DIGEST, 0, "")
    # Promoted to mirror.test: the repository differs, the digest finds the entry.
    assert history.entry_for({"mirror.test/ops/centos-binary-nova-api"}, {str(Digest.of(b"b"))}) is current
    assert history.entry_for({"mirror.test/ops/other"}, {str(Digest.of(b"q"))}) is None
