"""``status``: compare the containers running on one or more engines with a lock.

Per engine: one ``containers(all=False)`` call and one ``images()`` call, joined
on ImageID -> RepoDigests (containers carry no digests: Engine API `GET /containers/json` gives ImageID, `GET /images/{id}/json` RepoDigests). A
container matches a lock entry by repository, or failing that by a digest the
entry had at some point in the lock history (an image promoted to another
registry keeps its digest). The lock history tells how many revisions a running
digest is behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.repo_names import normalise_repo, split_ref
from docker_kolla.core.states import Sync
from docker_kolla.errors import ConfigError

if TYPE_CHECKING:  # the docker SDK loads only when a command talks to an engine
    from docker_kolla.adapters.engine import ContainerInfo, Engine

IN_SYNC, BEHIND, UNKNOWN_DIGEST, NOT_IN_LOCK = Sync.IN_SYNC, Sync.BEHIND, Sync.UNKNOWN_DIGEST, Sync.NOT_IN_LOCK
# States that make `status --exit-code` exit 1: a locked image not at its pin.
# Containers of images the lock does not know (a registry, a monitoring agent) are not drift.
DRIFT = (BEHIND, UNKNOWN_DIGEST)


@dataclass(frozen=True)
class ContainerStatus:
    """One running container compared with the lock.

    Attributes:
        engine: the engine label (context name or host).
        container: container name; ``image``: the reference it was created from.
        digests: the digests its image is known by (from RepoDigests).
        entry: the lock entry it matches, or None.
        state: in-sync, behind, unknown-digest or not-in-lock.
        behind: revisions behind (0 unless state is behind).
        running_tag: the tag-revision the running digest had in the lock history.
        labels: the container's labels (image labels merged with run-time ones).
    """

    engine: str
    container: str
    image: str
    digests: tuple
    entry: LockEntry | None
    state: Sync
    behind: int = 0
    running_tag: str = ""
    labels: dict = field(default_factory=dict)


@dataclass
class StatusReport:
    channel: str
    commit: str
    rows: list = field(default_factory=list)

    @property
    def drift(self) -> list:
        return [r for r in self.rows if r.state in DRIFT]


class LockHistory:
    """The lock at REV plus its earlier versions (oldest first), for matching old digests."""

    def __init__(self, current: Lockfile, versions: list) -> None:
        self.current = current
        self.versions = list(versions)  # Lockfile or LockSummary, oldest first, ending with current
        self._by_repo = {normalise_repo(str(e.repository)): e for e in current.images.values()}

    def entry_for(self, repos: set, digests: set) -> LockEntry | None:
        for repo in sorted(repos):
            if repo in self._by_repo:
                return self._by_repo[repo]
        for lock in reversed(self.versions):
            for entry in lock.images.values():
                if str(entry.digest) in digests and entry.name in self.current.images:
                    return self.current.images[entry.name]
        return None

    def compare(self, entry: LockEntry, digests: set) -> tuple:
        """(state, revisions behind, tag-revision of the running digest)."""
        if str(entry.digest) in digests:
            return IN_SYNC, 0, entry.tag
        later: list = []
        for lock in reversed(self.versions):
            old = lock.images.get(entry.name)
            if old is None:
                continue
            if str(old.digest) in digests:
                return BEHIND, _distance(entry, old, later), old.tag
            if str(old.digest) not in later:
                later.append(str(old.digest))
        return UNKNOWN_DIGEST, 0, ""


def _distance(current: LockEntry, old: LockEntry, later: list) -> int:
    """Revisions between two entries; digests seen in between when revisions do not tell."""
    if isinstance(current.revision, int) and isinstance(old.revision, int) and current.revision > old.revision:
        return current.revision - old.revision
    return max(1, len(later))


def engine_status(label: str, engine: Engine, history: LockHistory) -> list:
    """Status rows for every running container on one engine."""
    containers = engine.containers()
    images = {info.id: info for info in engine.images()}
    return [_row(label, c, images.get(c.image_id), history) for c in sorted(containers, key=lambda c: c.name)]


def _row(label: str, container: ContainerInfo, info, history: LockHistory) -> ContainerStatus:
    refs = info.repo_digests if info else ()
    digests = {ref.partition("@")[2] for ref in refs}
    repos = {ref.partition("@")[0] for ref in refs}
    if container.image and not container.image.startswith("sha256:"):
        repos.add(split_ref(container.image)[0])
    entry = history.entry_for(repos, digests)
    if entry is None:
        state, behind, tag = NOT_IN_LOCK, 0, ""
    else:
        state, behind, tag = history.compare(entry, digests)
    return ContainerStatus(
        engine=label,
        container=container.name,
        image=container.image,
        digests=tuple(sorted(digests)),
        entry=entry,
        state=state,
        behind=behind,
        running_tag=tag,
        labels=container.labels,
    )


def run_status(engines: list, history: LockHistory, *, commit: str = "") -> StatusReport:
    """Compare every engine in ``engines`` (list of (label, Engine)) with the lock history."""
    report = StatusReport(channel=history.current.channel, commit=commit)
    for label, engine in engines:
        report.rows.extend(engine_status(label, engine, history))
    return report


def load_history(repo, channel: str, rev: str) -> tuple:
    """(commit, LockHistory) of CHANNEL's lockfile up to REV, from the git store.

    Older versions are kept as summaries (name, digest, tag, revision per image),
    each distinct image text parsed once; the newest version is the lock at REV.
    """
    from docker_kolla.ops import lockhistory
    from docker_kolla.ops.common import load_lock_at, lock_path

    commit, current = load_lock_at(repo, channel, rev)
    path = lock_path(channel)
    refs, _ = lockhistory.walk_back(repo, path, commit, lambda _commit: None)
    reader = lockhistory.new_reader()
    versions: list = []
    for ref in refs:
        if ref.blob is None:
            continue
        try:
            versions.append(reader.summary(repo.blob(ref.blob), lockhistory.where(path, ref.commit)))
        except ConfigError:
            continue  # an old version that no longer parses cannot match anything; skip it
    if not versions:
        versions.append(current)
    return commit, LockHistory(current, versions)
