"""``diff``: two locks read back out of git (or the work tree), compared per image."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from docker_kolla.core.channels import parse_channels
from docker_kolla.core.diff import diff_locks
from docker_kolla.errors import ConfigError, UnknownChannel, UsageError
from docker_kolla.ops.common import (
    CHANNELS_PATH,
    WORKTREE,
    channel_rev,
    channels_in,
    lock_path,
    parse_lock,
    read_lock_bytes,
    resolve_rev,
    warn_if_same_as_head,
)


def split_range(revs: list) -> tuple[str, str]:
    """``[]`` -> HEAD..worktree, ``[A]`` -> A..worktree, ``[A, B]`` or ``["A..B"]`` -> A..B."""
    if len(revs) == 1 and ".." in revs[0]:
        a, _, b = revs[0].partition("..")
        if b.startswith("."):
            raise UsageError(f"three-dot ranges are not supported: {revs[0]!r}", "use A..B or A B")
        return a or "HEAD", b or "HEAD"
    if len(revs) > 2:
        raise UsageError("diff takes at most two revisions", "e.g. `docker kolla diff HEAD~1 HEAD`")
    if not revs:
        return "HEAD", WORKTREE
    return revs[0], revs[1] if len(revs) == 2 else WORKTREE


def read_lock(repo, rev: str, channel: str):
    data = read_lock_bytes(repo, rev, channel)
    return None if data is None else parse_lock(data, f"{lock_path(channel)}@{rev[:12]}")


@dataclass
class DiffResult:
    old_rev: str
    new_rev: str
    diffs: list = field(default_factory=list)  # LockDiff per channel
    old_commit: str = ""  # full sha old_rev resolved to
    new_commit: str = ""  # full sha new_rev resolved to; "" for the work tree
    held: dict = field(default_factory=dict)  # channel -> [HeldImage] at the new side

    @property
    def empty(self) -> bool:
        return all(d.empty for d in self.diffs)


@dataclass(frozen=True)
class HeldImage:
    name: str
    tag: str  # the tag-revision the new lock pins for it ("" if not locked there)
    digest: str
    reason: str
    tag_now: str | None  # the tag's upstream digest when the lock that kept the hold saw it move


_HELD_LINE = re.compile(r"^- (?P<name>\S+): held at .*; tag moved upstream to (?P<digest>sha256:[0-9a-f]{64})$")


def held_images(repo, sha: str, channel: str, lock) -> list:
    """Images held in channels.toml at SHA (or the work tree), with what the last lock saw."""
    data = repo.worktree_bytes(CHANNELS_PATH) if sha == WORKTREE else repo.read(sha, CHANNELS_PATH)
    try:
        chan = parse_channels((data or b"").decode("utf-8", "replace")).channels.get(channel)
    except ConfigError:
        return []
    if chan is None or not chan.holds:
        return []
    moved: dict = {}
    if sha != WORKTREE:
        newest = next(iter(repo.walk(lock_path(channel), sha)), None)
        if newest is not None:
            for line in newest.message.splitlines():
                m = _HELD_LINE.match(line.strip())
                if m:
                    moved[m["name"]] = m["digest"]
    out = []
    for hold in chan.holds:
        entry = lock.get(hold.name) if lock is not None else None
        out.append(
            HeldImage(
                hold.name,
                entry.tag if entry else "",
                str(entry.digest) if entry else (hold.digest or ""),
                hold.reason,
                moved.get(hold.name),
            )
        )
    return out


def run_diff(repo, revs: list, channel: str | None = None) -> DiffResult:
    old_rev, new_rev = split_range(revs)
    old_sha = resolve_rev(repo, old_rev)
    new_sha = new_rev if new_rev == WORKTREE else resolve_rev(repo, new_rev)
    for rev in (old_rev, new_rev):  # `diff ocata~1` means channel ocata
        hit = channel_rev(repo, rev) if rev != WORKTREE else None
        if hit and channel and hit[0] != channel:
            raise UsageError(f"{rev} is a revision of channel {hit[0]!r}, not {channel!r}", f"use {channel}~N")
        channel = channel or (hit[0] if hit else None)
    names = [channel] if channel else sorted(set(channels_in(repo, old_sha)) | set(channels_in(repo, new_sha)))
    if channel and read_lock_bytes(repo, old_sha, channel) is None and read_lock_bytes(repo, new_sha, channel) is None:
        raise UnknownChannel(
            f"channel {channel!r} has no lockfile at {old_rev} or {new_rev}",
            "check the name in lockfiles/; run `docker kolla lock CHANNEL` first",
        )
    result = DiffResult(old_rev, new_rev, old_commit=old_sha, new_commit="" if new_sha == WORKTREE else new_sha)
    for name in names:
        new_lock = read_lock(repo, new_sha, name)
        result.diffs.append(diff_locks(read_lock(repo, old_sha, name), new_lock))
        result.held[name] = held_images(repo, new_sha, name, new_lock)
        if result.diffs[-1].empty:  # `diff HEAD~1` after a commit that did not touch this channel
            warn_if_same_as_head(repo, name, old_rev, old_sha)
    return result
