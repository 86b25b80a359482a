"""``diff``, ``log`` and ``verify``: reading locks back out of git history."""

from __future__ import annotations

from dataclasses import dataclass, field

from docker_kolla.core.diff import LockDiff, diff_locks, package_changes
from docker_kolla.core.revisions import Mismatch, recompute
from docker_kolla.errors import ConfigError, UnknownChannel, UsageError
from docker_kolla.ops.common import WORKTREE, channels_in, lock_path, parse_lock, read_lock_bytes


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

    @property
    def empty(self) -> bool:
        return all(d.empty for d in self.diffs)


def run_diff(repo, revs: list, channel: str | None = None) -> DiffResult:
    old_rev, new_rev = split_range(revs)
    old_sha = repo.resolve(old_rev)
    new_sha = new_rev if new_rev == WORKTREE else repo.resolve(new_rev)
    names = [channel] if channel else sorted(set(channels_in(repo, old_sha)) | set(channels_in(repo, new_sha)))
    if channel and read_lock_bytes(repo, old_sha, channel) is None and read_lock_bytes(repo, new_sha, channel) is None:
        raise UnknownChannel(
            f"channel {channel!r} has no lockfile at {old_rev} or {new_rev}",
            "check the name in lockfiles/; run `docker kolla lock CHANNEL` first",
        )
    result = DiffResult(old_rev, new_rev)
    for name in names:
        result.diffs.append(diff_locks(read_lock(repo, old_sha, name), read_lock(repo, new_sha, name)))
    return result


@dataclass
class LogEntry:
    commit: str
    time: int
    author: str
    revision: int | None
    tag: str
    digest: str
    change: str  # "added", "removed", or a short description of package changes
    packages: tuple = ()


def run_log(repo, image: str, channel: str, rev: str = "HEAD") -> list[LogEntry]:
    """The revision history of one image, newest first."""
    path = lock_path(channel)
    entries: list[LogEntry] = []
    previous = None
    for version in repo.history(path, rev):
        lock = parse_lock(version.data, f"{path}@{version.commit[:7]}") if version.data is not None else None
        current = lock.get(image) if lock else None
        if current == previous:
            continue
        if current is None:
            entries.append(LogEntry(version.commit, version.time, version.author, None, "", "", "removed"))
        elif (
            previous is None
            or current.digest != previous.digest
            or current.manifesto_digest != previous.manifesto_digest
        ):
            pkgs = package_changes(previous.facts if previous else {}, current.facts)
            change = "added" if previous is None else f"{len(pkgs)} package change(s)" if pkgs else "digest only"
            entries.append(
                LogEntry(
                    version.commit,
                    version.time,
                    version.author,
                    current.revision,
                    current.tag,
                    str(current.digest),
                    change,
                    pkgs,
                )
            )
        previous = current
    if not entries:
        raise UsageError(
            f"image {image!r} was never locked in channel {channel!r}",
            f"check the name with `docker kolla diff` or lockfiles/{channel}.toml",
        )
    return list(reversed(entries))


@dataclass
class VerifyResult:
    channel: str
    versions: int = 0
    mismatches: list = field(default_factory=list)  # Mismatch
    problems: list = field(default_factory=list)  # one-line strings

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.problems


def run_verify(repo, channel: str, config=None) -> VerifyResult:
    """Recompute every revision of CHANNEL's lock from its first-parent history."""
    path = lock_path(channel)
    result = VerifyResult(channel)
    history = []
    for version in repo.history(path, "HEAD"):
        if version.data is None:
            continue
        try:
            history.append((version.commit, parse_lock(version.data, f"{path}@{version.commit[:7]}")))
        except ConfigError as exc:
            result.problems.append(f"{exc.message} (commit {version.commit[:7]})")
    result.versions = len(history)
    if not history and not result.problems:
        raise UsageError(f"{path} has no history", f"run `docker kolla lock {channel}` first")
    result.mismatches = recompute(history)
    chan = config.channels.get(channel) if config else None
    if chan and history:
        for name, entry in sorted(history[-1][1].images.items()):
            expected = chan.revision_tag(entry.revision)
            if entry.tag != expected:
                result.problems.append(
                    f"{name}: tag {entry.tag!r} does not match revision {entry.revision} (expected {expected!r})"
                )
    work = repo.worktree_bytes(path)
    if work is not None:
        try:
            parse_lock(work, path)
        except ConfigError as exc:
            result.problems.append(exc.message)
    return result


def run_verify_remote(repo, channel: str, client) -> tuple[list, list]:
    """Check HEAD's lock against the registry: (problems, notes).

    A pinned digest that no longer exists (or a channel tag that vanished) is a
    problem; a channel tag that moved is a note: it is what the next `lock` reviews.
    """
    from docker_kolla.errors import NotFoundError
    from docker_kolla.ops.common import load_channels, load_lock_at

    _, lock = load_lock_at(repo, channel, "HEAD")
    try:
        chan = load_channels(repo).channels.get(channel)
    except UsageError:
        chan = None  # without channels.toml only the pinned digests can be checked
    problems, notes = [], []
    for name, entry in sorted(lock.images.items()):
        ref = entry.repository
        try:
            client.head_manifest(ref.with_digest(entry.digest))
        except NotFoundError:
            problems.append(f"{name}: pinned digest {entry.digest} no longer exists at {entry.repository}")
            continue
        if chan is None:
            continue
        try:
            now = client.head_manifest(ref.with_tag(chan.tag)).digest
        except NotFoundError:
            problems.append(f"{name}: tag {chan.tag} no longer exists at {entry.repository}")
            continue
        if now is not None and now != entry.digest:
            notes.append(f"{name}: {chan.tag} moved upstream ({now.short}); `docker kolla lock` to review")
    return problems, notes


__all__ = ["run_diff", "run_log", "run_verify", "DiffResult", "LockDiff", "Mismatch", "WORKTREE"]
