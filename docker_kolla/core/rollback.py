"""Rollback as a new revision: the content of an earlier lock under the next revision number. Pure.

Revisions only go forward. nova-api at ``ocata-3`` rolled back to what ``ocata-2`` pinned
becomes ``ocata-4`` with ``ocata-2``'s digest and manifesto, so a published tag is never
reused and the revision rule (1 + changes of the (digest, manifesto) pair along
first-parent history) reproduces the new number.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from docker_kolla.core.channels import Channel
from docker_kolla.core.lockfile import LockEntry, Lockfile


@dataclass(frozen=True)
class RolledBack:
    name: str
    current: LockEntry | None  # None: the image is not in the current lock (re-added)
    target: LockEntry  # the entry at the revision rolled back to
    entry: LockEntry  # what the new lock pins


def roll_back(
    channel: Channel, current: Lockfile, target: Lockfile, names: list[str], seen: dict[str, LockEntry]
) -> tuple[Lockfile, list[RolledBack], list[str]]:
    """The new lock and what changed; the third item names images already at the target's content.

    Args:
        names: images to roll back (all present in ``target``).
        seen: every image's most recent entry anywhere in the channel's history, so a
            re-added image continues its numbering.
    """
    lock = current
    changed: list[RolledBack] = []
    same: list[str] = []
    for name in names:
        old, want = current.get(name), target.images[name]
        if old is not None and (old.digest, old.manifesto_digest) == (want.digest, want.manifesto_digest):
            same.append(name)
            continue
        last = old or seen.get(name)
        counted = (last.revision or 0) if last is not None else 0
        revision = None if channel.static else counted + 1
        entry = replace(want, revision=revision, tag=channel.revision_tag(revision))
        lock = lock.with_entry(entry)
        changed.append(RolledBack(name, old, want, entry))
    return lock, changed, same


def message(channel: str, to: str, to_commit: str, changed: list[RolledBack], reason: str) -> str:
    """The commit message: what was rolled back to what, and why."""
    names = ", ".join(r.name for r in changed)
    lines = [f"rollback {channel} to {to} ({to_commit[:7]}): {names}", "", f"Reason: {reason}", ""]
    for r in changed:
        was = f"{r.current.tag} -> " if r.current else "(not locked) -> "
        lines.append(f"- {r.name}: {was}{r.entry.tag}, the content of {r.target.tag} ({r.entry.digest.short})")
    return "\n".join(lines) + "\n"
