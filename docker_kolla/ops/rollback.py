"""``docker kolla rollback CHANNEL --to REV``: a new lock commit with the content of an earlier lock.

Compute, then act, as ``lock`` does: the whole new lockfile is built and read back
before the commit, which moves the branch by compare-and-swap on HEAD.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from docker_kolla.core import lockfile
from docker_kolla.core.revisions import last_seen
from docker_kolla.core.rollback import RolledBack, message, roll_back
from docker_kolla.errors import DirtyTree, UsageError
from docker_kolla.ops.common import channel_rev, load_channels, load_lock_at, lock_path, parse_lock


@dataclass
class RollbackResult:
    channel: str
    to: str
    to_commit: str
    changed: list = field(default_factory=list)  # RolledBack
    same: list = field(default_factory=list)  # already at the target's content
    commit: str | None = None
    message: str = ""


def run_rollback(repo, channel: str, to: str, images: tuple, reason: str) -> RollbackResult:
    """Roll CHANNEL's chosen images (default: every image of the lock at ``to``) back to ``to``."""
    if not reason or not reason.strip():
        raise UsageError("a rollback needs a reason", 'pass --reason "why" (it goes into the commit message)')
    config = load_channels(repo)
    chan = config.get(channel)
    path = lock_path(channel)
    if repo.is_dirty(path):
        raise DirtyTree(
            f"{path} has uncommitted edits",
            f"commit or discard them first (`git diff {path}`; `git checkout -- {path}`)",
        )
    hit = channel_rev(repo, to)
    if hit is not None and hit[0] != channel:
        raise UsageError(f"{to} is a revision of channel {hit[0]!r}, not {channel!r}", f"use {channel}~N")
    head, current = load_lock_at(repo, channel, "HEAD")
    to_commit, target = load_lock_at(repo, channel, to)
    names = list(images) or sorted(target.images)
    missing = [n for n in names if n not in target.images]
    if missing:
        raise UsageError(
            f"image {missing[0]!r} is not in {path} at {to}",
            f"pick images from `docker kolla export {channel} --lock {to} --format list`",
        )
    history = [parse_lock(v.data, f"{path}@{v.commit[:7]}") for v in repo.history(path, head) if v.data is not None]
    new, changed, same = roll_back(chan, current, target, names, last_seen(history))
    result = RollbackResult(channel, to, to_commit, changed, same)
    if not changed:
        raise UsageError(
            f"nothing to roll back: {', '.join(same)} already pin{'s' if len(same) == 1 else ''} "
            f"the content of {to} at HEAD",
            f"pick an earlier lock (`docker kolla log --channel {channel}`; `--to {channel}~1`)",
        )
    text = lockfile.dumps(new).encode()
    lockfile.loads(text.decode(), path)  # never write what we cannot read back
    result.message = message(channel, to, to_commit, changed, reason.strip())
    result.commit = repo.commit_file(path, text, result.message, expected_parent=head)
    return result


__all__ = ["RollbackResult", "RolledBack", "run_rollback"]
