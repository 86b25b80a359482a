"""``log``: an image's revisions, or a channel's lock commits, read back out of git history."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from docker_kolla.core.diff import LockDiff, PackageChange, diff_locks, package_changes
from docker_kolla.core.locktext import ImageState
from docker_kolla.errors import UnknownChannel, UsageError
from docker_kolla.ops import lockhistory
from docker_kolla.ops.common import lock_path, resolve_rev


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
