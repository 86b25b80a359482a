"""Walking a lockfile's first-parent history at a cost that grows with what changed.

Versions are streamed oldest first (one blob in memory at a time) through a
:class:`~docker_kolla.core.locktext.LockReader`, which parses each distinct
image text once. ``verify`` and ``log`` save where they got to in the
repository's history cache (``repo.revision_cache``, under ``.git/docker-kolla/``),
keyed by the newest version they read: the next run walks back only to that
commit and reads just the versions after it. A missing, damaged or stale
checkpoint is ignored (the walk goes on to the root), so deleting the cache
changes no output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from docker_kolla.core.locktext import ImageState, LockReader, LockSummary
from docker_kolla.core.revisions import Mismatch, RevisionCheck
from docker_kolla.errors import ConfigError
from docker_kolla.ops.common import parse_lock


def where(path: str, commit: str) -> str:
    return f"{path}@{commit[:7]}"


def new_reader(*, keep_entries: bool = False, known: dict | None = None, tables: dict | None = None) -> LockReader:
    return LockReader(parse_lock, keep_entries=keep_entries, known=known, tables=tables)


def cache_of(repo):
    return getattr(repo, "revision_cache", None)


TABLES = "lock-tables"  # per lockfile path: the image tables the last lock of it verified


def verified_tables(repo, path: str) -> dict:
    """The tables an earlier ``lock`` verified for ``path`` (LockReader's ``tables``), {} when none.

    A re-lock's base is usually what the previous lock wrote, so its pieces are all
    there and none is parsed or checked again; a shape that is not what
    :func:`keep_verified_tables` writes means no cache at all.
    """
    cache = cache_of(repo)
    value = cache.get(TABLES, path) if cache is not None else None
    if not isinstance(value, dict):
        return {}
    out = {}
    for key, item in value.items():
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], dict)):
            return {}
        out[key] = (item[0], item[1])
    return out


def keep_verified_tables(repo, path: str, tables: dict, before: dict) -> None:
    """Store ``tables`` (LockReader.verified_tables of the text a lock wrote) unless the
    cache holds those pieces already; best effort, like every cache write."""
    cache = cache_of(repo)
    if cache is None or tables.keys() == before.keys():
        return
    try:
        cache.put(TABLES, path, {key: [name, table] for key, (name, table) in tables.items()})
    except (TypeError, ValueError):  # a value JSON cannot hold: no cache, same results
        pass


def walk_back(repo, path: str, rev: str, resume: Callable[[str], object | None]) -> tuple[list, object | None]:
    """Versions of ``path`` newer than the newest one ``resume`` accepts, oldest first.

    ``resume(commit)`` returns a saved state for a version commit or None; the
    walk stops at the first (newest) version with a state: (versions after it,
    that state), or (every version, None).
    """
    refs = []
    state = None
    for ref in repo.walk(path, rev):
        state = resume(ref.commit)
        if state is not None:
            break
        refs.append(ref)
    refs.reverse()
    return refs, state


# -- verify -------------------------------------------------------------------


@dataclass
class VerifyState:
    """Where ``verify`` got to: everything it needs to go on from one version."""

    versions: int = 0
    problems: list = field(default_factory=list)
    mismatches: list = field(default_factory=list)  # Mismatch
    last: dict = field(default_factory=dict)  # RevisionCheck.last
    head: LockSummary | None = None  # the newest version that parsed

    def to_json(self) -> dict:
        head = self.head
        return {
            "versions": self.versions,
            "problems": self.problems,
            "mismatches": [[m.commit, m.image, m.found, m.expected] for m in self.mismatches],
            "last": {name: list(v) for name, v in self.last.items()},
            "head": None if head is None else [head.channel, head.static, [s.to_json() for s in head.images.values()]],
        }

    @classmethod
    def from_json(cls, doc) -> VerifyState:
        head = None
        if doc["head"] is not None:
            channel, static, images = doc["head"]
            states = [ImageState.from_json(v) for v in images]
            head = LockSummary(str(channel), bool(static), {s.name: s for s in states})
        return cls(
            versions=int(doc["versions"]),
            problems=[str(p) for p in doc["problems"]],
            mismatches=[Mismatch(str(c), str(i), f, e) for c, i, f, e in doc["mismatches"]],
            last={str(n): (str(d), str(m), int(r)) for n, (d, m, r) in doc["last"].items()},
            head=head,
        )


def load(cache, kind: str, key: str, parse):
    if cache is None:
        return None
    doc = cache.get(kind, key)
    if doc is None:
        return None
    try:
        return parse(doc)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # a well-formed file of an unexpected shape: ignore it


def verify_history(repo, path: str, *, use_cache: bool = True) -> tuple[VerifyState, LockReader]:
    """Recompute every revision along HEAD's first-parent history of ``path``."""
    cache = cache_of(repo) if use_cache else None
    resumed_at: list = []

    def resume(commit: str):
        state = load(cache, "verify", f"{path}\n{commit}", VerifyState.from_json)
        if state is not None:
            resumed_at.append(commit)
        return state

    refs, state = walk_back(repo, path, "HEAD", resume)
    state = state if isinstance(state, VerifyState) else VerifyState()
    known = {s.key: s for s in state.head.images.values()} if state.head else None
    reader = new_reader(known=known)
    check = RevisionCheck(state.last)
    check.mismatches = state.mismatches
    for ref in refs:
        if ref.blob is None:
            continue
        try:
            summary = reader.summary(repo.blob(ref.blob), where(path, ref.commit))
        except ConfigError as exc:
            state.problems.append(f"{exc.message} (commit {ref.commit[:7]})")
            continue
        state.versions += 1
        check.feed(
            ref.commit,
            summary.static,
            {n: (s.revision, s.digest, s.manifesto_digest) for n, s in summary.images.items()},
        )
        state.head = summary
    state.last, state.mismatches = check.last, check.mismatches
    if cache is not None and refs:
        cache.put("verify", f"{path}\n{refs[-1].commit}", state.to_json())
        for commit in resumed_at:
            cache.drop("verify", f"{path}\n{commit}")
    return state, reader
