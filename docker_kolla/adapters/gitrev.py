"""Read side of the git store: revisions, a path's blob at a commit, its history.

Part of the git adapter (``gitstore`` is the facade other code imports; only
the ``git*`` adapter modules import dulwich).

dulwich's ``parse_commit`` resolves a *name* (HEAD, branch, tag peeled to its
commit, full or short SHA) but none of git's ``~N`` / ``^N`` suffixes after a
short SHA or a tag (dulwich `objectspec.parse_commit`), so the suffix walk is done here:
``~N`` follows N first parents, ``^N`` takes the Nth parent, ``^0`` is the commit
itself, ``^{}`` and ``^{commit}`` peel (a no-op: we always peel to a commit).

Walking history reads objects the way git itself does: the bytes the object
store holds for an id, without hashing them again. dulwich's
``object_store[sha]`` recomputes the SHA-1 of every object it builds (to check
it against the id asked for); for a 2 MB lockfile version that is most of the
cost of reading it. :func:`load` asks the store for the raw bytes
(``get_raw``) and hands the id over as known. Stored data is still checked on
the way in by zlib's checksum of each compressed object; checking every
object's id against its bytes is ``git fsck``'s job, as it is for git.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from dulwich.errors import NotTreeError
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Blob, Commit, ShaFile
from dulwich.objectspec import AmbiguousShortId, parse_commit
from dulwich.refs import check_ref_format
from dulwich.repo import Repo

from docker_kolla.errors import RevisionNotFound, UsageError

UNKNOWN_HINT = "check `git log --oneline`; HEAD~N needs N earlier commits"
EMPTY_HINT = "the repository has no commits yet; run `docker kolla lock` first"

# One suffix step: ~N, ^{} / ^{commit}, or ^N (N optional, default 1).
_STEP = re.compile(r"~(\d*)|\^\{(?:commit)?\}|\^(\d*)")
_HEX = re.compile(r"[0-9a-fA-F]{4,64}")


@dataclass(frozen=True)
class Version:
    """One commit in which a path's content changed.

    Attributes:
        commit: full hex sha.
        parents: parent shas, first parent first.
        author: "Name <email>".
        time: author time, unix seconds.
        message: the commit message.
        data: the path's bytes at that commit (None = deleted there).
    """

    commit: str
    parents: tuple[str, ...]
    author: str
    time: int
    message: str
    data: bytes | None


@dataclass(frozen=True)
class VersionRef:
    """A :class:`Version` naming its blob instead of holding its bytes (None = deleted there)."""

    commit: str
    parents: tuple[str, ...]
    author: str
    time: int
    message: str
    blob: str | None


def git_path(relpath: str | PurePosixPath) -> bytes:
    """A repo-relative path as the bytes git stores in trees and the index.

    Rejects absolute paths, ``..`` and ``.git`` so a caller can never address
    anything outside the work tree.
    """
    text = str(relpath).replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or not parts or ".." in parts or ".git" in (p.lower() for p in parts):
        raise UsageError(
            f"bad repository path {str(relpath)!r}",
            "give a path relative to the repository root, e.g. lockfiles/ocata.toml",
        )
    return str(PurePosixPath(*parts)).encode("utf-8")


def resolve(repo: Repo, rev: str) -> Commit:
    """The commit a git revision names (see the module docstring for syntax).

    Raises:
        RevisionNotFound: unknown, ambiguous or malformed revision, or walking
            past the first commit.
    """
    base, steps = _split(rev)
    commit = _resolve_base(repo, base, rev)
    for op, n in steps:
        if op == "~":
            for _ in range(n):
                commit = _parent(repo, commit, 1, rev)
        elif n:
            commit = _parent(repo, commit, n, rev)
    return commit


def _unknown(rev: str) -> RevisionNotFound:
    return RevisionNotFound(f"unknown revision {rev!r}", UNKNOWN_HINT)


def _split(rev: str) -> tuple[str, list[tuple[str, int]]]:
    """Split ``rev`` into a base name and its ``~``/``^`` steps."""
    rev_s = rev.strip() if isinstance(rev, str) else ""
    cut = min((i for i in (rev_s.find("~"), rev_s.find("^")) if i >= 0), default=len(rev_s))
    base, tail = rev_s[:cut], rev_s[cut:]
    steps: list[tuple[str, int]] = []
    pos = 0
    while pos < len(tail):
        m = _STEP.match(tail, pos)
        if not m or m.end() == pos:
            raise _unknown(rev)
        if m.group(0).startswith("~"):
            steps.append(("~", int(m.group(1) or 1)))
        elif not m.group(0).startswith("^{"):
            steps.append(("^", int(m.group(2) if m.group(2) else 1)))
        pos = m.end()
    if base == "@":
        base = "HEAD"
    return base, steps


def _resolve_base(repo: Repo, base: str, rev: str) -> Commit:
    """Resolve a plain name with dulwich: refs first (git's order), then SHAs."""
    if not base or "@{" in base or ".." in base or ":" in base:
        raise _unknown(rev)
    if base != "HEAD" and not _HEX.fullmatch(base) and not check_ref_format(b"refs/heads/" + base.encode("utf-8")):
        raise _unknown(rev)
    try:
        return parse_commit(repo, base.encode("utf-8"))
    except AmbiguousShortId:
        raise RevisionNotFound(f"ambiguous short revision {rev!r}", "give more hex digits of the commit id") from None
    except (KeyError, ValueError, TypeError):
        if head_sha(repo) is None:
            raise RevisionNotFound(f"unknown revision {rev!r}", EMPTY_HINT) from None
        raise _unknown(rev) from None


def _parent(repo: Repo, commit: Commit, n: int, rev: str) -> Commit:
    """The ``n``-th (1-based) parent of ``commit``."""
    if len(commit.parents) < n:
        raise _unknown(rev)
    try:
        obj = repo.object_store[commit.parents[n - 1]]
    except KeyError:  # shallow clone: the parent object is not here
        raise RevisionNotFound(
            f"unknown revision {rev!r}", "the history is shallow; fetch more of it (`git fetch --unshallow`)"
        ) from None
    if not isinstance(obj, Commit):
        raise _unknown(rev)
    return obj


def branch_ref(name: str) -> bytes:
    """``refs/heads/<name>``; UsageError when git would not accept the name."""
    ref = b"refs/heads/" + str(name).encode("utf-8")
    if not name or not check_ref_format(ref):
        raise UsageError(f"invalid branch name {name!r}", "use a name git accepts, e.g. kolla/lock-ocata")
    return ref


def head_sha(repo: Repo) -> bytes | None:
    """HEAD's commit sha, or None on an unborn branch."""
    try:
        return repo.refs[b"HEAD"]
    except KeyError:
        return None


def load(repo: Repo, sha: bytes) -> ShaFile:
    """The object ``sha`` (hex) names, from the store's bytes, not hashed again (see the module docstring)."""
    type_num, raw = repo.object_store.get_raw(sha)
    return ShaFile.from_raw_string(type_num, raw, sha=sha)


def blob_id(repo: Repo, tree: bytes | None, path: bytes) -> tuple[int, bytes] | None:
    """(mode, sha) of the file at ``path`` in ``tree``, or None if no file is there."""
    if tree is None:
        return None
    try:
        mode, sha = tree_lookup_path(lambda sha: load(repo, sha), tree, path)
    except (KeyError, NotTreeError):
        return None
    if mode & 0o170000 not in (0o100000, 0o120000):  # a directory or submodule
        return None
    return mode, sha


def read_blob(repo: Repo, sha: bytes) -> bytes:
    """The bytes of blob ``sha`` (hex), as the store holds them (no Blob object, no re-hash)."""
    type_num, raw = repo.object_store.get_raw(sha)
    if type_num != Blob.type_num:
        raise KeyError(sha)
    return raw


def tree_of(repo: Repo, commit_sha: bytes | None) -> bytes | None:
    """The root tree sha of a commit (None for None)."""
    if commit_sha is None:
        return None
    obj = repo.object_store[commit_sha]
    assert isinstance(obj, Commit)
    return obj.tree


def walk(repo: Repo, start: Commit, path: bytes) -> Iterator[tuple[Commit, bytes | None]]:
    """First-parent history of ``path`` from ``start``, newest first, without reading blobs.

    Yields (commit, blob sha or None for a deletion) for every commit whose blob
    for ``path`` differs from its first parent's. Comparing blob shas from
    ``tree_lookup_path`` costs two tree lookups per commit, far less than the
    tree diff ``get_walker(paths=...)`` does (dulwich `walk.Walker`). A caller may
    stop early: nothing older is read.
    """
    commit: Commit | None = start
    cur = _sha(blob_id(repo, start.tree, path))
    while commit is not None:
        parent = _first_parent(repo, commit)
        prev = _sha(blob_id(repo, parent.tree, path)) if parent is not None else None
        if cur != prev:
            yield commit, cur
        commit, cur = parent, prev


def history(repo: Repo, start: Commit, path: bytes) -> list[Version]:
    """First-parent history of ``path`` from ``start``, oldest first, with every version's bytes.

    Only commits whose blob for ``path`` differs from their first parent's are
    listed (a deletion gives ``data=None``).
    """
    out = [_version(commit, read_blob(repo, sha) if sha else None) for commit, sha in walk(repo, start, path)]
    out.reverse()
    return out


def version_ref(commit: Commit, blob: bytes | None) -> VersionRef:
    """A :class:`VersionRef` of one :func:`walk` step."""
    meta = _version(commit, None)
    return VersionRef(
        meta.commit, meta.parents, meta.author, meta.time, meta.message, blob.decode("ascii") if blob else None
    )


def _sha(entry: tuple[int, bytes] | None) -> bytes | None:
    return entry[1] if entry else None


def _first_parent(repo: Repo, commit: Commit) -> Commit | None:
    """First parent, or None at a root commit or a shallow boundary."""
    if not commit.parents:
        return None
    try:
        obj = load(repo, commit.parents[0])
    except KeyError:
        return None
    return obj if isinstance(obj, Commit) else None


def _version(commit: Commit, data: bytes | None) -> Version:
    enc = (commit.encoding or b"utf-8").decode("ascii", "replace")

    def text(raw: bytes) -> str:
        try:
            return raw.decode(enc, "replace")
        except LookupError:
            return raw.decode("utf-8", "replace")

    return Version(
        commit=commit.id.decode("ascii"),
        parents=tuple(p.decode("ascii") for p in commit.parents),
        author=text(commit.author),
        time=int(commit.author_time),
        message=text(commit.message),
        data=data,
    )
