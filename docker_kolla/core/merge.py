"""Three-way merge of one channel's lockfile, keyed by image. Pure.

Each image entry is one unit: digest, per-platform digests, manifesto and labels always
come from the same side. An image changed on one side only takes that side's entry; the
same change on both sides is taken once; different changes (or a delete against a modify)
are a conflict. Revision numbers are not merged but recomputed: the merge commit is one
first-parent step after "ours", so an image whose pinned content differs from ours' gets
ours' revision + 1 (or, if ours does not have it, its last revision in history + 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from docker_kolla.core import lockfile
from docker_kolla.core.channels import Channel
from docker_kolla.core.lockfile import MARKER, LockEntry, Lockfile


def _content(entry: LockEntry | None) -> LockEntry | None:
    """An entry without its numbering: what the two sides are compared on."""
    return None if entry is None else replace(entry, tag="", revision=None)


@dataclass(frozen=True)
class Conflict:
    name: str
    ours: LockEntry | None  # None: deleted on our side
    theirs: LockEntry | None

    def line(self) -> str:
        def side(e: LockEntry | None) -> str:
            return "deleted" if e is None else f"{e.tag} {e.digest.short}"

        return f"{self.name}: changed on both sides (ours {side(self.ours)}, theirs {side(self.theirs)})"


@dataclass(frozen=True)
class MergeResult:
    lock: Lockfile  # the merged lock without the conflicting images
    conflicts: tuple[Conflict, ...]
    taken: tuple[str, ...]  # images whose entry came from theirs


def merge_locks(
    base: Lockfile | None, ours: Lockfile, theirs: Lockfile, channel: Channel, seen: dict[str, LockEntry]
) -> MergeResult:
    """Merge ``theirs`` into ``ours`` (``base`` is the common ancestor's lock, None if none).

    Args:
        seen: every image's last entry along ours' first-parent history (for re-added images).
    """
    old = base.images if base is not None else {}
    images: dict[str, LockEntry] = {}
    conflicts: list[Conflict] = []
    taken: list[str] = []
    for name in sorted(set(old) | set(ours.images) | set(theirs.images)):
        o, a, b = old.get(name), ours.images.get(name), theirs.images.get(name)
        co, ca, cb = _content(o), _content(a), _content(b)
        if ca == cb or cb == co:  # the same on both sides, or only ours changed
            chosen = a
        elif ca == co:  # only theirs changed
            chosen = b
            taken.append(name)
        else:
            conflicts.append(Conflict(name, a, b))
            continue
        if chosen is not None:
            images[name] = _renumber(chosen, a, seen.get(name), channel)
    merged = Lockfile(channel=ours.channel, images=images, static=ours.static)
    return MergeResult(merged, tuple(conflicts), tuple(taken))


def _renumber(chosen: LockEntry, ours: LockEntry | None, last: LockEntry | None, channel: Channel) -> LockEntry:
    if channel.static:
        return replace(chosen, revision=None, tag=channel.revision_tag(None))
    pair = (chosen.digest, chosen.manifesto_digest)
    if ours is not None and (ours.digest, ours.manifesto_digest) == pair:
        revision = ours.revision
    else:
        previous = ours or last
        if previous is not None and (previous.digest, previous.manifesto_digest) == pair:
            revision = previous.revision
        else:
            revision = ((previous.revision or 0) if previous is not None else 0) + 1
    return replace(chosen, revision=revision, tag=channel.revision_tag(revision))


def conflict_text(result: MergeResult, ours_label: str = "ours", theirs_label: str = "theirs") -> str:
    """The merged lockfile with each conflicting image between git-style markers.

    The markers make the file invalid TOML on purpose: ``lock``, ``pull`` and ``verify``
    refuse it with a message naming the images until someone resolves it.
    """
    text = lockfile.dumps(result.lock)
    for c in result.conflicts:
        text += f"{'<' * MARKER} {ours_label}: {c.name}\n{_table(result.lock, c.ours)}"
        text += f"{'=' * MARKER}\n{_table(result.lock, c.theirs)}{'>' * MARKER} {theirs_label}: {c.name}\n"
    return text


def _table(lock: Lockfile, entry: LockEntry | None) -> str:
    if entry is None:
        return ""
    one = lockfile.dumps(Lockfile(lock.channel, {entry.name: entry}, lock.static))
    return one[one.index("[images.") :]
