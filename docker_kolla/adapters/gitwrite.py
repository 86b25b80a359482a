"""Write side of the git store: one path into a commit, refs, work-tree file, index entry.

Part of the git adapter behind ``gitstore.LockRepo``; ``gitcommit`` orders the
steps into one transaction (objects, work tree, index prepared, ref last) and
``gitatomic`` does the writes that must never be half done. Who commits and
when is the caller's (:class:`Signature`): nothing here reads the environment
or the clock.

Commits are built here rather than with ``WorkTree.commit`` because that would
also pick up ``MERGE_HEAD`` as a parent during a user's merge, run hooks, add
sign-offs and sign when ``commit.gpgsign`` is set (git-commit(1), dulwich `repo.get_worktree().commit`).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path

from dulwich.errors import RefFormatError
from dulwich.index import ConflictedIndexEntry, Index, IndexChecksumWriter, write_index_dict
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from docker_kolla.adapters import fsio, gitatomic
from docker_kolla.adapters.giterrors import one_line
from docker_kolla.adapters.gitrev import blob_id, tree_of
from docker_kolla.errors import GitError, UsageError

FILE_MODE = 0o100644
EXEC_MODE = 0o100755
_DIR_MODE = 0o040000
CONFLICT = object()  # index_sha() result for a path with unresolved merge stages
# git fails at once on a held index.lock; a short wait rides out a concurrent
# `git status` refreshing the index (tens of ms) without hanging on a stale lock.
_LOCK_TRIES, _LOCK_PAUSE = 40, 0.05


def clean_message(message: str) -> bytes:
    """The message as git stores it: trimmed, one final newline; empty is refused."""
    lines = [line.rstrip() for line in str(message).strip().splitlines()]
    if not lines:
        raise UsageError("empty commit message", "give a commit message")
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Signature:
    """Who makes a commit and when, decided by the caller (``gitident``), as dulwich takes them."""

    author: bytes  # ``Name <email>``
    committer: bytes
    when: int  # seconds since the epoch; stored as UTC (+0000)


def commit_path(repo: Repo, parent: bytes | None, path: bytes, data: bytes, message: bytes, sig: Signature) -> bytes:
    """Store a commit of ``parent``'s tree with ``path`` set to ``data``; return its sha.

    Returns ``parent`` itself, storing nothing, when the path already has ``data``.
    No ref moves here; objects are written by ``gitatomic.put_object``.
    """
    base_tree = tree_of(repo, parent)
    old = blob_id(repo, base_tree, path)
    blob = Blob.from_string(data)
    if parent is not None and old is not None and old[1] == blob.id:
        return parent
    mode = old[0] if old and old[0] in (FILE_MODE, EXEC_MODE) else FILE_MODE
    gitatomic.put_object(repo, blob)
    commit = Commit()
    commit.tree = _put_path(repo, base_tree, path.split(b"/"), mode, blob.id)
    commit.parents = [parent] if parent is not None else []
    commit.author, commit.committer = sig.author, sig.committer
    commit.author_time = commit.commit_time = sig.when
    commit.author_timezone = commit.commit_timezone = 0  # explicit UTC
    commit.message = message
    gitatomic.put_object(repo, commit)
    return commit.id


def _put_path(repo: Repo, tree_sha: bytes | None, parts: list[bytes], mode: int, sha: bytes) -> bytes:
    """A copy of tree ``tree_sha`` with ``parts`` set to (mode, sha); stores new trees."""
    tree = Tree()
    if tree_sha is not None:
        old = repo.object_store[tree_sha]
        assert isinstance(old, Tree)
        for item in old.items():
            tree.add(item.path, item.mode, item.sha)
    head, rest = parts[0], parts[1:]
    if rest:
        sub = None
        if head in tree:
            sub_mode, sub = tree[head]
            if sub_mode != _DIR_MODE:
                raise UsageError(
                    f"{head.decode('utf-8', 'replace')} is a file in the repository, not a directory",
                    "choose a lockfile path that does not run through a file",
                )
        tree[head] = (_DIR_MODE, _put_path(repo, sub, rest, mode, sha))
    else:
        tree[head] = (mode, sha)
    gitatomic.put_object(repo, tree)
    return tree.id


def move_ref(repo: Repo, ref: bytes, old: bytes | None, new: bytes, message: bytes, sig: Signature) -> None:
    """Point ``ref`` at ``new`` if it still points at ``old`` (None: must not exist)."""
    subject = message.splitlines()[0] if message else b""
    log = (b"commit (initial): " if old is None else b"commit: ") + subject
    name = ref.decode("utf-8", "replace")
    try:
        ok = gitatomic.swap_ref(repo, ref, old, new, committer=sig.committer, when=sig.when, message=log)
    except (OSError, RefFormatError, ValueError, KeyError) as exc:
        raise GitError(f"cannot update {name}: {one_line(exc)}; nothing was committed", write_hint(exc)) from None
    if not ok:
        raise GitError(f"{name} moved while committing", "another process committed meanwhile; run the command again")


def write_hint(exc: BaseException) -> str:
    """The fix for a failed write: free space, or make the directory writable."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free disk space, then run the command again"
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "make the repository writable for this user, then run the command again"
    return "check the disk and the repository's permissions (`git status`), then run the command again"


def write_atomic(target: Path, data: bytes, *, executable: bool = False) -> None:
    """Replace ``target`` atomically, creating its parent folders (see ``fsio.write_atomic``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fsio.write_atomic(target, data, executable=executable)


def index_sha(repo: Repo, path: bytes) -> bytes | object | None:
    """The staged blob sha of ``path``, None if not in the index, CONFLICT if unmerged."""
    return _staged(_read_index(repo), path)


def _staged(index: Index, path: bytes) -> bytes | object | None:
    try:
        entry = index[path]
    except KeyError:
        return None
    return CONFLICT if isinstance(entry, ConflictedIndexEntry) else entry.sha


def _read_index(repo: Repo) -> Index:
    try:
        return Index(repo.index_path(), object_format=repo.object_format)
    except (OSError, ValueError, AssertionError) as exc:
        raise GitError(f"cannot read the git index: {exc}", "run `git status` to check the repository") from None


class IndexLock:
    """The index, read and rewritten while holding git's ``index.lock``.

    Taken before a commit moves any ref, so a busy index fails the command
    before anything changed, and the path's staged state checked under the
    lock is the one that gets replaced. :meth:`prepare` writes the staged
    entries (all others as read) into ``index.lock`` before the ref moves;
    :meth:`commit` renames it into place after; leaving the block otherwise
    discards it.
    Extensions are dropped: the cache-tree would be stale and the rest are
    caches git rebuilds. Split and sparse indexes keep entries elsewhere, so
    they are refused rather than rewritten.
    """

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self._file = repo.index_path()
        self._changed = False
        self._prepared = False

    def __enter__(self) -> IndexLock:
        _refuse_split_index(self._repo)
        self._lock = _lock(self._file)
        try:
            self._index = _read_index(self._repo)
            if self._index.is_sparse():
                raise GitError(
                    "the git index is sparse", "run `git sparse-checkout disable`, or commit the lockfile by hand"
                )
        except BaseException:
            self._lock.abort()
            raise
        return self

    def staged(self, path: bytes) -> bytes | object | None:
        """Like ``index_sha``, read under the lock."""
        return _staged(self._index, path)

    def stage(self, path: bytes, entry: object) -> None:
        """Set one entry; written when the block ends without an error."""
        self._index[path] = entry
        self._changed = True

    def prepare(self) -> None:
        """Write the new index into ``index.lock`` (nothing visible yet); a no-op if nothing was staged."""
        if not self._changed:
            return
        fmt = self._repo.object_format
        buffer = io.BytesIO()
        writer = IndexChecksumWriter(buffer, fmt)
        write_index_dict(writer, dict(self._index.items()), version=_index_version(self._file), object_format=fmt)
        writer.write_checksum()
        try:
            self._lock.write(buffer.getvalue())
        except OSError as exc:
            raise GitError(
                f"cannot write the git index: {one_line(exc)}; nothing was committed", write_hint(exc)
            ) from None
        self._prepared = True

    def commit(self) -> None:
        """Put the prepared index in place (a rename: needs no space)."""
        if not self._prepared:
            return
        self._prepared = False
        try:
            self._lock.commit()
        except OSError as exc:
            raise GitError(
                f"committed, but cannot update the git index: {one_line(exc)}",
                "run `git reset -q` to refresh the index from HEAD",
            ) from None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self._lock.abort()


def _lock(index_file: str) -> gitatomic.LockFile:
    for _ in range(_LOCK_TRIES):
        try:
            return gitatomic.LockFile(index_file)
        except FileExistsError:
            time.sleep(_LOCK_PAUSE)
        except OSError as exc:
            raise GitError(f"cannot lock the git index: {one_line(exc)}", write_hint(exc)) from None
    raise GitError(
        f"{index_file}.lock exists: another git process is using the index",
        f"wait for it to finish; if none is running, remove the stale lock: rm {index_file}.lock",
    )


def _index_version(index_file: str) -> int | None:
    """The on-disk index format version (2, 3 or 4), kept when rewriting."""
    try:
        with open(index_file, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        return None
    return int.from_bytes(head[4:8], "big") if head[:4] == b"DIRC" else None


def _refuse_split_index(repo: Repo) -> None:
    split = False
    with contextlib.suppress(KeyError, ValueError):
        split = repo.get_config_stack().get_boolean((b"core",), b"splitIndex", False)
    dirs = {repo.controldir(), repo.commondir()}
    if split or any(glob.glob(os.path.join(d, "sharedindex.*")) for d in dirs):
        raise GitError(
            "the git index is split (core.splitIndex)", "run `git update-index --no-split-index`, then retry"
        )
