"""What several verbs share: finding the lock repository, its channels, a lock at a revision."""

from __future__ import annotations

import logging
import re

from docker_kolla.core import lockfile
from docker_kolla.core.channels import ChannelsConfig, parse_channels
from docker_kolla.core.lockfile import Lockfile
from docker_kolla.errors import ConfigError, NotFoundError, RevisionNotFound, UnknownChannel, UsageError

LOCK_DIR = "lockfiles"
CHANNELS_PATH = f"{LOCK_DIR}/channels.toml"
WORKTREE = "work tree"  # a "revision" meaning the files as they are now
notice = logging.getLogger("docker_kolla.notice")  # warnings for the user (the cli prints "warning: ...")
_CHANNEL_REV = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)~(?P<n>\d+)$")


def lock_path(channel: str) -> str:
    """Repository-relative path of a channel's lockfile."""
    if not channel or "/" in channel or channel.startswith(".") or channel == "channels":
        raise UsageError(f"invalid channel name {channel!r}", "use a channel from lockfiles/channels.toml")
    return f"{LOCK_DIR}/{channel}.toml"


def load_channels(repo) -> ChannelsConfig:
    """channels.toml from the work tree (what the user is editing now)."""
    data = repo.worktree_bytes(CHANNELS_PATH)
    if data is None:
        raise ConfigError(f"no {CHANNELS_PATH} in {repo.root}", "run `docker kolla init --preset ocata` or write one")
    return parse_channels(_text(data, CHANNELS_PATH))


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text", "restore it with `git checkout HEAD -- " + path.partition("@")[0] + "`"
        ) from exc


def parse_lock(data: bytes, path: str) -> Lockfile:
    return lockfile.loads(_text(data, path), path)


def _configured(data: bytes | None) -> set:
    if data is None:
        return set()
    try:
        return set(parse_channels(data.decode("utf-8", "replace")).channels)
    except ConfigError:
        return set()


def channels_in(repo, rev: str) -> list[str]:
    """Channels with a lockfile at REV (or in the work tree).

    Candidates are the channels configured in the work tree or at REV (and, for
    the work tree, any ``lockfiles/*.toml``): a lock needs a channel to exist.
    """
    candidates = _configured(repo.worktree_bytes(CHANNELS_PATH))
    if rev == WORKTREE:
        folder = repo.root / LOCK_DIR
        if folder.is_dir():
            candidates |= {p.stem for p in folder.glob("*.toml") if p.name != "channels.toml"}
    else:
        candidates |= _configured(repo.read(rev, CHANNELS_PATH))
    return sorted(n for n in candidates if read_lock_bytes(repo, rev, n) is not None)


def read_lock_bytes(repo, rev: str, channel: str) -> bytes | None:
    path = lock_path(channel)
    return repo.worktree_bytes(path) if rev == WORKTREE else repo.read(rev, path)


def channel_rev(repo, rev: str) -> tuple[str, int] | None:
    """``(channel, N)`` when REV is ``CHANNEL~N`` for a channel that is configured or locked.

    ``ocata~1`` is the lock of channel ocata one change back: the N-th commit before the
    newest along HEAD's first-parent history that changed ``lockfiles/ocata.toml``, so
    commits that did not touch the channel's lock are skipped. A channel name wins over a
    git branch or tag of the same name (``heads/ocata~1`` means the branch).
    """
    m = _CHANNEL_REV.match(rev) if isinstance(rev, str) else None
    if m is None or m["name"] in ("HEAD", "channels"):
        return None
    name = m["name"]
    if name in _configured(repo.worktree_bytes(CHANNELS_PATH)) or (
        not repo.is_empty() and repo.read("HEAD", lock_path(name)) is not None
    ):
        return name, int(m["n"])
    return None


def resolve_rev(repo, rev: str) -> str:
    """The commit sha REV names: ``CHANNEL~N`` (see :func:`channel_rev`) or a git revision."""
    hit = channel_rev(repo, rev)
    if hit is None:
        try:
            return repo.resolve(rev)
        except RevisionNotFound:
            m = _CHANNEL_REV.match(rev) if isinstance(rev, str) else None
            if m is None or _is_git_name(repo, m["name"]):
                raise  # HEAD~99, main~5: git's own "unknown revision"
            known = ", ".join(sorted(_configured(repo.worktree_bytes(CHANNELS_PATH)))) or "none"
            raise UnknownChannel(
                f"{rev!r} is neither a channel (configured: {known}) nor a git revision",
                "use CHANNEL~N with a channel from lockfiles/channels.toml, or a revision from `git log --oneline`",
            ) from None
    name, n = hit
    versions = [v for v in repo.history(lock_path(name), "HEAD") if v.data is not None]
    if n >= len(versions):
        oldest = f"{name}~{len(versions) - 1} is the oldest" if versions else "it was never locked"
        raise RevisionNotFound(
            f"{rev!r}: channel {name!r} has {len(versions)} lock version(s) on HEAD's history; {oldest}",
            f"see `docker kolla log --channel {name}`",
        )
    return versions[-1 - n].commit


def _is_git_name(repo, name: str) -> bool:
    try:
        repo.resolve(name)
    except RevisionNotFound:
        return False
    return True


def warn_if_same_as_head(repo, channel: str, rev: str, sha: str) -> None:
    """A plain git revision whose lock of CHANNEL equals HEAD's: probably not the rollback meant."""
    if channel_rev(repo, rev) is not None or repo.is_empty():
        return
    head = repo.resolve("HEAD")
    data = repo.read(sha, lock_path(channel)) if sha != head else None
    if data is not None and data == repo.read(head, lock_path(channel)):
        notice.warning(
            f"{lock_path(channel)} at {rev} is the same as at HEAD ({rev} did not change channel {channel!r}); "
            f"for the channel's previous lock use `{channel}~1`"
        )


def pick_channel(repo, channel: str | None, rev: str, *, example: str = "docker kolla pull {channel}") -> str:
    """CHANNEL if given (it must exist), else the only channel locked at REV.

    ``example`` is the command to suggest when several are locked, with ``{channel}``
    where the channel goes (``docker kolla log nova-api --channel {channel}``).
    """
    hit = channel_rev(repo, rev) if rev != WORKTREE else None
    if hit is not None:
        if channel and channel != hit[0]:
            raise UsageError(
                f"{rev} is a revision of channel {hit[0]!r}, not {channel!r}",
                f"use {channel}~N, or drop the channel argument",
            )
        return hit[0]
    if rev != WORKTREE:
        rev = resolve_rev(repo, rev)
    if channel:
        check_channel(repo, channel, rev)
        return channel
    names = channels_in(repo, rev)
    if len(names) == 1:
        return names[0]
    if names:
        raise UsageError(
            f"more than one channel is locked ({', '.join(names)})",
            f"name the channel, e.g. `{example.format(channel=names[0])}`",
        )
    raise UsageError("no channel is locked yet", "run `docker kolla lock CHANNEL` first")


def check_channel(repo, channel: str, rev: str = "HEAD") -> None:
    """UnknownChannel unless CHANNEL is configured (work tree or REV) or has a lockfile at REV."""
    lock_path(channel)
    known = _configured(repo.worktree_bytes(CHANNELS_PATH)) | set(channels_in(repo, rev))
    if rev != WORKTREE:
        known |= _configured(repo.read(rev, CHANNELS_PATH))
    if channel not in known:
        raise UnknownChannel(
            f"unknown channel {channel!r} (configured: {', '.join(sorted(known)) or 'none'})",
            "use one of those, or add it to lockfiles/channels.toml",
        )


def load_lock_at(repo, channel: str, rev: str) -> tuple[str, Lockfile]:
    """The lock of CHANNEL at REV (a git revision or ``CHANNEL~N``): (commit sha, Lockfile)."""
    sha = resolve_rev(repo, rev)
    path = lock_path(channel)
    data = repo.read(sha, path)
    if data is not None:
        warn_if_same_as_head(repo, channel, rev, sha)
    if data is None:
        raise UsageError(
            f"{path} does not exist at {rev}", f"run `docker kolla lock {channel}` or pick another revision"
        )
    return sha, parse_lock(data, f"{path}@{sha[:7]}")


def tag_digest(client, ref):
    """The digest a tag points at, None if absent; a registry that omits Docker-Content-Digest is answered by a GET."""
    try:
        digest = client.head_manifest(ref).digest
        return digest if digest is not None else client.get_manifest(ref).digest
    except NotFoundError:
        return None
