"""``pull``: bring every pinned digest of a lock into a Docker engine and tag it.

Plan, then act: one ``images()`` call tells which pins the engine already holds
(their RepoDigests contain ``repository@digest``); only the others are pulled,
in parallel, each checked afterwards against RepoDigests. Every image gets
``repository:<tag-revision>``; ``mark`` moves ``repository:<channel>-<mark>``
and keeps the image it replaced as ``repository:<channel>-previous``. A failed
image never stops the others; the result lists every failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.repo_names import normalise_repo
from docker_kolla.core.states import Step
from docker_kolla.errors import CheckFailed, EngineError, KollaError, UsageError
from docker_kolla.ops.parallel import parallel_map

if TYPE_CHECKING:  # the docker SDK loads only when a command talks to an engine
    from docker_kolla.adapters.engine import Engine, ImageInfo

log = logging.getLogger(__name__)

# Four parallel pulls: the engine itself downloads up to 3 layers per pull
# (dockerd max-concurrent-downloads), so 4 keeps ~12 streams busy without
# starving the engine's extraction.
DEFAULT_JOBS = 4

PULLED, PRESENT, FAILED = Step.PULLED, Step.PRESENT, Step.FAILED
UNVERIFIED = Step.UNVERIFIED  # pull --verify: its signature did not verify; not pulled, not tagged


@dataclass(frozen=True)
class PullOutcome:
    """What happened to one image.

    Attributes:
        entry: the lock entry.
        action: ``pulled``, ``present`` (no pull call) or ``failed``.
        error: the one-line reason when failed.
        tags: the ``repository:tag`` references set on the image.
    """

    entry: LockEntry
    action: Step
    error: str = ""
    tags: tuple = ()


@dataclass
class PullResult:
    channel: str
    commit: str
    outcomes: list = field(default_factory=list)

    @property
    def failed(self) -> list:
        return [o for o in self.outcomes if o.action == FAILED]

    def count(self, action: Step) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    def raise_for_failures(self) -> None:
        """Exit 3 naming every image that failed (the others stay tagged); exit 1 naming every
        image that ``--verify`` refused."""
        unverified = [o for o in self.outcomes if o.action == UNVERIFIED]
        if unverified and not self.failed:
            raise CheckFailed(
                f"{len(unverified)} image(s) not pulled, signature not verified: "
                + "; ".join(f"{o.entry.name} ({o.error})" for o in unverified),
                "sign them with a key listed in the channel's [trust] keys, or pull an older lock",
            )
        if self.failed:
            names = ", ".join(o.entry.name for o in self.failed)
            raise EngineError(
                f"{len(self.failed)} of {len(self.outcomes)} images failed to pull: {names}",
                "see the table above for each reason; images that pulled are tagged",
            )


class PullProgress:
    """Callbacks for a progress display; the default does nothing (ops never print)."""

    def start(self, entry: LockEntry) -> None: ...

    def advance(self, entry: LockEntry, current: int, total: int) -> None: ...

    def finish(self, entry: LockEntry, outcome: PullOutcome) -> None: ...


def select(lock: Lockfile, names: Iterable[str] = ()) -> list:
    """The lock entries to pull: all, or the named ones (an unknown name is bad input)."""
    names = list(names or ())
    unknown = [n for n in names if n not in lock.images]
    if unknown:
        raise UsageError(
            f"not in lock {lock.channel!r}: {', '.join(unknown)}",
            "name images as they appear in the lockfile's [images] table",
        )
    wanted = names or sorted(lock.images)
    return [lock.images[n] for n in sorted(set(wanted))]


def present_pins(images: list) -> dict:
    """``repo@digest`` (normalised) -> ImageInfo for every image the engine holds."""
    held = {}
    for info in images:
        for ref in info.repo_digests:
            held[ref] = info
    return held


def pinned_key(entry: LockEntry) -> str:
    return f"{normalise_repo(str(entry.repository))}@{entry.digest}"


def run_pull(
    engine: Engine,
    lock: Lockfile,
    *,
    commit: str = "",
    names: Iterable[str] = (),
    jobs: int = DEFAULT_JOBS,
    mark: str | None = None,
    progress: PullProgress | None = None,
    refused: dict | None = None,
) -> PullResult:
    """Pull, tag and verify the selected images of ``lock``; never raises for one image's failure.

    ``refused`` (name -> trustcheck.Refusal, from ``pull --verify``): those images are neither
    pulled nor tagged.
    """
    refused = refused or {}
    if jobs < 1:
        raise UsageError("--jobs must be at least 1", "use --jobs 4")
    entries = select(lock, names)
    progress = progress or PullProgress()
    images = engine.images()
    held = present_pins(images)
    tags = {ref: info.id for info in images for ref in info.repo_tags}

    def work(entry):
        if entry.name in refused:
            return PullOutcome(entry, UNVERIFIED, error=refused[entry.name].reason)
        return _one(engine, entry, held.get(pinned_key(entry)), tags, lock.channel, mark, progress)

    outcomes = parallel_map(work, entries, jobs)
    return PullResult(channel=lock.channel, commit=commit, outcomes=outcomes)


def _one(
    engine: Engine,
    entry: LockEntry,
    held: ImageInfo | None,
    tags: dict,
    channel: str,
    mark: str | None,
    progress: PullProgress,
) -> PullOutcome:
    progress.start(entry)
    try:
        action = PRESENT
        if held is None:
            _pull(engine, entry, progress)
            held = _verify(engine, entry)
            action = PULLED
        set_tags = _tag(engine, entry, held, tags, channel, mark)
        outcome = PullOutcome(entry, action, tags=set_tags)
    except KollaError as exc:
        outcome = PullOutcome(entry, FAILED, error=exc.message)
    progress.finish(entry, outcome)
    return outcome


def _pull(engine: Engine, entry: LockEntry, progress: PullProgress) -> None:
    layers: dict = {}

    def on_event(message: dict) -> None:
        detail = message.get("progressDetail") or {}
        if message.get("id") and detail.get("total"):
            layers[message["id"]] = (detail.get("current", 0), detail["total"])
            progress.advance(entry, sum(c for c, _ in layers.values()), sum(t for _, t in layers.values()))

    engine.pull(str(entry.repository), str(entry.digest), on_event)


def _verify(engine: Engine, entry: LockEntry) -> ImageInfo:
    """After a pull the engine must hold exactly the pinned digest under this repository."""
    info = engine.inspect_image(entry.pinned)
    if info is None or pinned_key(entry) not in info.repo_digests:
        found = ", ".join(info.repo_digests) if info else "nothing"
        raise EngineError(
            f"{entry.name}: engine holds {found} after pulling {entry.pinned}",
            "the engine or a mirror served other content; do not deploy this image",
        )
    return info


def _tag(engine: Engine, entry: LockEntry, held: ImageInfo, tags: dict, channel: str, mark: str | None) -> tuple:
    """Tag ``repository:<tag-revision>`` (and the mark) unless it already points at this image."""
    repo = str(entry.repository)
    done = []
    if tags.get(f"{normalise_repo(repo)}:{entry.tag}") != held.id:
        engine.tag(held.id, repo, entry.tag)
    done.append(f"{repo}:{entry.tag}")
    if mark:
        marked = f"{channel}-{mark}"
        before = tags.get(f"{normalise_repo(repo)}:{marked}")
        if before != held.id:
            if before:
                engine.tag(before, repo, f"{channel}-previous")
                done.append(f"{repo}:{channel}-previous")
            engine.tag(held.id, repo, marked)
        done.append(f"{repo}:{marked}")
    return tuple(done)
