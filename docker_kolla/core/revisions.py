"""The revision policy, and its recomputation from a history of locks.

An image's revision is 1 + the number of times its pinned content changed along
the first-parent history of its lockfile. "Changed" means its (digest,
manifesto-digest) pair changed; the manifesto digest covers every described
platform, so a package change in a non-primary build counts too. Under the default policy (bump on manifesto) a
new digest with an identical manifesto is *not* adopted (the lock keeps the old
digest), so the pair changes exactly when the manifesto changes, or when the
old digest vanished upstream, or under ``--bump-on digest``. That one rule lets
``verify`` recompute every revision without knowing which policy was used.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from docker_kolla.core.channels import Channel
from docker_kolla.core.lockfile import LockEntry, Lockfile


class Outcome(str, enum.Enum):
    NEW = "new"
    BUMPED = "bumped"  # manifesto changed (or digest, with --bump-on digest)
    REPLACED = "replaced"  # locked digest gone upstream: took the new one and bumped
    UNCHANGED = "unchanged"
    REBUILT = "rebuilt"  # new digest, same manifesto: kept the locked digest
    MOVED = "moved"  # static release tag moved upstream: kept the locked digest
    ACCEPTED_MOVE = "accepted-move"  # static release tag moved and --accept-moved given
    REFUSED = "refused"  # the trust policy refused the new digest: kept the locked entry (or left it out)


@dataclass(frozen=True)
class Decision:
    entry: LockEntry
    outcome: Outcome
    previous: LockEntry | None = None


def _placed(channel: Channel, resolved: LockEntry, revision: int | None) -> LockEntry:
    """The resolved image with the tag and revision the policy gives it."""
    static = channel.static
    return replace(resolved, tag=channel.revision_tag(revision), revision=None if static else revision)


def decide(
    channel: Channel,
    resolved: LockEntry,
    previous: LockEntry | None,
    *,
    bump_on: str = "manifesto",
    previous_gone: bool = False,
    accept_moved: bool = False,
) -> Decision:
    """Apply the revision policy to one image.

    Args:
        previous: the image's last entry in this channel's history (even if it
            was since removed from the lock), or None if never locked.
        previous_gone: the previous digest no longer exists upstream.
    """
    if previous is None:
        return Decision(_placed(channel, resolved, 1), Outcome.NEW)
    if resolved.digest == previous.digest:
        same = resolved.repository == previous.repository
        kept = previous if same else replace(previous, repository=resolved.repository)
        return Decision(kept, Outcome.UNCHANGED, previous)
    if channel.static:
        if accept_moved:
            return Decision(_placed(channel, resolved, None), Outcome.ACCEPTED_MOVE, previous)
        return Decision(previous, Outcome.MOVED, previous)
    same_manifesto = resolved.manifesto_digest == previous.manifesto_digest  # every described platform
    next_revision = (previous.revision or 0) + 1
    if same_manifesto and bump_on != "digest":
        if previous_gone:
            return Decision(_placed(channel, resolved, next_revision), Outcome.REPLACED, previous)
        return Decision(previous, Outcome.REBUILT, previous)
    return Decision(_placed(channel, resolved, next_revision), Outcome.BUMPED, previous)


@dataclass(frozen=True)
class Mismatch:
    """A revision in history that the policy does not reproduce."""

    commit: str
    image: str
    found: int | None
    expected: int | None

    def line(self) -> str:
        return (
            f"{self.image}: revision {self.found} at {self.commit[:7]}, expected {self.expected} "
            f"(recomputed from the lockfile's first-parent history)"
        )


def last_seen(history: list[Lockfile]) -> dict[str, Any]:
    """name -> the image's most recent entry anywhere in the history (oldest first)."""
    seen: dict[str, Any] = {}
    for lock in history:
        seen.update(lock.images)
    return seen


class RevisionCheck:
    """:func:`recompute` one version at a time, with a state that can be saved and resumed.

    ``last``: name -> (digest, manifesto digest, expected revision) as strings and
    int, the image's state after the versions fed so far.
    """

    def __init__(self, last: dict[str, Any] | None = None) -> None:
        self.last: dict[str, Any] = dict(last or {})
        self.mismatches: list[Mismatch] = []

    def feed(self, commit: str, static: bool, images: dict[str, Any]) -> None:
        """Check one version. ``images``: name -> (revision, digest, manifesto digest)."""
        last = self.last
        for name in sorted(images):
            revision, digest, md = images[name]
            if static:
                if revision is not None:
                    self.mismatches.append(Mismatch(commit, name, revision, None))
                continue
            key = (str(digest), str(md))
            if name not in last:
                expected = 1
            elif last[name][:2] != key:
                expected = last[name][2] + 1
            else:
                expected = last[name][2]
            if revision != expected:
                self.mismatches.append(Mismatch(commit, name, revision, expected))
            last[name] = (key[0], key[1], expected)


def recompute(history: list[tuple[str, Lockfile]]) -> list[Mismatch]:
    """Check every revision of every lock version against the policy.

    Args:
        history: (commit, lock) pairs, oldest first, first-parent, one per change of the file.
    """
    check = RevisionCheck()
    for commit, lock in history:
        check.feed(
            commit,
            lock.static,
            {n: (e.revision, e.digest, e.manifesto_digest) for n, e in lock.images.items()},
        )
    return check.mismatches
