"""``diff``, ``log`` and ``verify``: reading locks back out of git history."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from docker_kolla.core.channels import parse_channels
from docker_kolla.core.diff import LockDiff, PackageChange, diff_locks, package_changes
from docker_kolla.core.locktext import ImageState
from docker_kolla.core.revisions import Mismatch
from docker_kolla.errors import ConfigError, UnknownChannel, UsageError
from docker_kolla.ops import lockhistory
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


def _log_entry_json(e: LogEntry) -> list:
    packages = [[p.key, p.old, p.new] for p in e.packages]
    return [e.commit, e.time, e.author, e.revision, e.tag, e.digest, e.change, packages]


def _log_entry(v: list) -> LogEntry:
    commit, time, author, revision, tag, digest, change, packages = v
    if revision is not None and not isinstance(revision, int):
        raise ValueError("revision")
    pkgs = tuple(PackageChange(str(k), o, n) for k, o, n in packages)
    return LogEntry(str(commit), int(time), str(author), revision, str(tag), str(digest), str(change), pkgs)


@dataclass
class _LogState:
    """Where ``log IMAGE`` got to: its entries (oldest first) and the image's last state."""

    entries: list = field(default_factory=list)
    previous: ImageState | None = None
    previous_at: tuple | None = None  # (commit, blob) of the version ``previous`` is in

    def to_json(self) -> dict:
        return {
            "entries": [_log_entry_json(e) for e in self.entries],
            "previous": self.previous.to_json() if self.previous else None,
            "previous_at": list(self.previous_at) if self.previous_at else None,
        }

    @classmethod
    def from_json(cls, doc) -> _LogState:
        prev = doc["previous"]
        at = doc["previous_at"]
        return cls(
            [_log_entry(v) for v in doc["entries"]],
            ImageState.from_json(prev) if prev is not None else None,
            (str(at[0]), str(at[1])) if at is not None else None,
        )


def run_log(repo, image: str, channel: str, rev: str = "HEAD") -> list[LogEntry]:
    """The revision history of one image, newest first.

    Reads only the versions after the last ``log`` of this image (see ``lockhistory``)
    and parses the image's own text only where it changed. Each version's head and the
    image's own table are checked, not the other images' tables: that is ``verify``'s job
    (``LockReader.pick``); a version whose text for the image is not the writer's is
    parsed whole, so a hand edit there is reported as before.
    """
    path = lock_path(channel)
    key = f"{path}\n{image}\n"
    cache = lockhistory.cache_of(repo)
    resumed: list = []

    def resume(commit: str):
        state = lockhistory.load(cache, "log", key + commit, _LogState.from_json)
        if state is not None:
            resumed.append(commit)
        return state

    refs, state = lockhistory.walk_back(repo, path, resolve_rev(repo, rev), resume)
    state = state if isinstance(state, _LogState) else _LogState()
    reader = lockhistory.new_reader(keep_entries=True)
    entries, previous = state.entries, state.previous
    previous_entry = None  # read lazily from previous_at when a change needs its facts
    for ref in refs:
        data = repo.blob(ref.blob) if ref.blob is not None else None
        where = lockhistory.where(path, ref.commit)
        current = reader.pick(data, image, where)[0] if data is not None else None
        if (current and current.key) == (previous and previous.key):
            continue
        current_entry = None
        if current is None:
            entries.append(LogEntry(ref.commit, ref.time, ref.author, None, "", "", "removed"))
        elif (
            previous is None
            or current.digest != previous.digest
            or current.manifesto_digest != previous.manifesto_digest
        ):
            assert data is not None  # current came from this version's text
            current_entry = reader.pick(data, image, where, entry=True)[1]
            assert current_entry is not None
            if previous is not None and previous_entry is None:
                assert state.previous_at is not None  # set whenever previous is
                at_commit, at_blob = state.previous_at
                previous_entry = reader.pick(repo.blob(at_blob), image, lockhistory.where(path, at_commit), entry=True)[
                    1
                ]
            pkgs = package_changes(previous_entry.facts if previous_entry is not None else {}, current_entry.facts)
            change = "added" if previous is None else f"{len(pkgs)} package change(s)" if pkgs else "digest only"
            entries.append(
                LogEntry(ref.commit, ref.time, ref.author, current.revision, current.tag, current.digest, change, pkgs)
            )
        previous, previous_entry = current, current_entry
        state.previous_at = (ref.commit, ref.blob) if current is not None else None
    state.previous = previous
    if cache is not None and refs:
        cache.put("log", key + refs[-1].commit, state.to_json())
        for commit in resumed:
            cache.drop("log", key + commit)
    if not entries:
        raise UsageError(
            f"image {image!r} was never locked in channel {channel!r}",
            f"check the name with `docker kolla diff` or lockfiles/{channel}.toml",
        )
    return list(reversed(entries))


@dataclass
class ChannelLogEntry:
    """One lock commit of a channel: what ``log --channel C`` prints per line."""

    address: str  # "ocata~0" for the newest
    commit: str
    time: int
    author: str
    subject: str
    diff: LockDiff
    images: int  # images in this lock


def run_channel_log(repo, channel: str, rev: str = "HEAD") -> list[ChannelLogEntry]:
    """Every commit that changed CHANNEL's lockfile along first-parent history, newest first."""
    path = lock_path(channel)
    refs, _ = lockhistory.walk_back(repo, path, resolve_rev(repo, rev), lambda _commit: None)
    reader = lockhistory.new_reader(keep_entries=True)  # one version in memory; unchanged images parsed once
    out: list[ChannelLogEntry] = []
    previous = None
    for ref in refs:
        if ref.blob is None:
            continue
        lock = reader.lock(repo.blob(ref.blob), lockhistory.where(path, ref.commit))
        out.append(
            ChannelLogEntry(
                "",
                ref.commit,
                ref.time,
                ref.author,
                ref.message.splitlines()[0] if ref.message else "",
                diff_locks(previous, lock),
                len(lock.images),
            )
        )
        previous = lock
    if not out:
        raise UnknownChannel(
            f"channel {channel!r} has no lockfile history at {rev}",
            "check the name in lockfiles/; run `docker kolla lock CHANNEL` first",
        )
    out.reverse()
    return [replace(e, address=f"{channel}~{i}") for i, e in enumerate(out)]


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
    """Recompute every revision of CHANNEL's lock from its first-parent history.

    Reads only the versions after the last ``verify`` (see ``lockhistory``).
    """
    path = lock_path(channel)
    state, reader = lockhistory.verify_history(repo, path)
    result = VerifyResult(channel, state.versions, list(state.mismatches), list(state.problems))
    if state.head is None and not result.problems:
        raise UsageError(f"{path} has no history", f"run `docker kolla lock {channel}` first")
    if result.mismatches:
        merges = {ref.commit for ref in repo.walk(path, "HEAD") if len(ref.parents) > 1}
        result.problems.extend(_merge_hints(channel, result.mismatches, merges))
    chan = config.channels.get(channel) if config else None
    if chan and state.head is not None:
        for name, entry in sorted(state.head.images.items()):
            expected = chan.revision_tag(entry.revision)
            if entry.tag != expected:
                result.problems.append(
                    f"{name}: tag {entry.tag!r} does not match revision {entry.revision} (expected {expected!r})"
                )
    work = repo.worktree_bytes(path)
    if work is not None:
        try:
            reader.summary(work, path)
        except ConfigError as exc:
            result.problems.append(exc.message)
    return result


def _merge_hints(channel: str, mismatches: list, merges: set) -> list:
    """A wrong revision at a merge commit: say what merged it wrongly and how to fix it."""
    by_commit: dict = {}
    for m in mismatches:
        if m.commit in merges:
            by_commit.setdefault(m.commit, []).append(m.image)
    lines = []
    for commit, names in by_commit.items():
        images = " ".join(f"--image {n}" for n in sorted(set(names)))
        lines.append(
            f"merge {commit[:7]} kept a branch's revisions for {', '.join(sorted(set(names)))}: a textual merge "
            "(a forge's merge button ignores merge drivers) or a branch with more than one lock commit; fix: "
            f"make the branch one commit on the target (`git checkout -B BRANCH main && docker kolla lock "
            f"{channel} {images}`) or `docker kolla rollback {channel}`, and merge locally after "
            "`docker kolla merge-driver install`"
        )
    return lines


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
