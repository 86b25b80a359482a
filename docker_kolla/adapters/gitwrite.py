"""Write side of the git store: one path into a commit, refs, work-tree file, index entry.

Part of the git adapter behind ``gitstore.LockRepo``. Order of a commit: blob,
trees and commit objects first (objects are immutable, so a crash leaves only
unreferenced objects), then the ref by compare-and-swap, then the work-tree file
(temp file + ``os.replace``), then the one index entry under ``index.lock``.

Commits are built here rather than with ``WorkTree.commit`` because that would
also pick up ``MERGE_HEAD`` as a parent during a user's merge, run hooks, add
sign-offs and sign when ``commit.gpgsign`` is set (protocols.md 5.3).
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
from pathlib import Path

from dulwich.errors import RefFormatError
from dulwich.file import FileLocked, GitFile
from dulwich.index import ConflictedIndexEntry, Index, IndexChecksumWriter, index_entry_from_stat, write_index_dict
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from docker_kolla.adapters import fsio
from docker_kolla.adapters.gitrev import blob_id, tree_of
from docker_kolla.errors import GitError, UsageError

FILE_MODE = 0o100644
_EXEC_MODE = 0o100755
_DIR_MODE = 0o040000
CONFLICT = object()  # index_sha() result for a path with unresolved merge stages
FALLBACK_NAME, FALLBACK_EMAIL = "docker-kolla", "docker-kolla@localhost"
# git fails at once on a held index.lock; a short wait rides out a concurrent
# `git status` refreshing the index (tens of ms) without hanging on a stale lock.
_LOCK_TRIES, _LOCK_PAUSE = 40, 0.05


def clean_message(message: str) -> bytes:
    """The message as git stores it: trimmed, one final newline; empty is refused."""
    lines = [line.rstrip() for line in str(message).strip().splitlines()]
    if not lines:
        raise UsageError("empty commit message", "give a commit message")
    return ("\n".join(lines) + "\n").encode("utf-8")


def identity(repo: Repo, kind: str) -> bytes:
    """``Name <email>`` for AUTHOR or COMMITTER, as git picks it, with our fallback.

    Order: GIT_<KIND>_NAME/EMAIL, ``<kind>.name``/``.email`` and ``user.*`` from
    the config stack (repo, global, system). Unlike dulwich's
    ``get_user_identity`` this never guesses ``user@hostname``.
    """
    found = configured_identity(repo, kind)
    name = _scrub(found["name"] or FALLBACK_NAME)
    email = _scrub(found["email"] or FALLBACK_EMAIL).strip("<>")
    return f"{name} <{email}>".encode()


def configured_identity(repo: Repo, kind: str) -> dict:
    """``{"name": ..., "email": ...}`` for AUTHOR or COMMITTER as configured; None where nothing is."""
    config = repo.get_config_stack()
    found = {}
    for field in ("name", "email"):
        value = os.environ.get(f"GIT_{kind}_{field.upper()}") or None
        for section in (kind.lower(), "user"):
            if value is None:
                with contextlib.suppress(KeyError):
                    value = config.get((section.encode(),), field.encode()).decode("utf-8", "replace") or None
        found[field] = value
    return found


def _scrub(text: str) -> str:
    """Drop characters that would break a git identity line."""
    return "".join(ch for ch in text if ch not in "<>\n\r\0").strip() or "unknown"


def commit_path(repo: Repo, parent: bytes | None, path: bytes, data: bytes, message: bytes) -> bytes:
    """Store a commit of ``parent``'s tree with ``path`` set to ``data``; return its sha.

    Returns ``parent`` itself, storing nothing, when the path already has ``data``.
    No ref moves here.
    """
    store = repo.object_store
    base_tree = tree_of(repo, parent)
    old = blob_id(repo, base_tree, path)
    blob = Blob.from_string(data)
    if parent is not None and old is not None and old[1] == blob.id:
        return parent
    mode = old[0] if old and old[0] in (FILE_MODE, _EXEC_MODE) else FILE_MODE
    store.add_object(blob)
    commit = Commit()
    commit.tree = _put_path(repo, base_tree, path.split(b"/"), mode, blob.id)
    commit.parents = [parent] if parent is not None else []
    commit.author = identity(repo, "AUTHOR")
    commit.committer = identity(repo, "COMMITTER")
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0  # explicit UTC
    commit.message = message
    store.add_object(commit)
    return commit.id


def _put_path(repo: Repo, tree_sha: bytes | None, parts: list[bytes], mode: int, sha: bytes) -> bytes:
    """A copy of tree ``tree_sha`` with ``parts`` set to (mode, sha); stores new trees."""
    tree = Tree()
    if tree_sha is not None:
        for item in repo.object_store[tree_sha].items():
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
    repo.object_store.add_object(tree)
    return tree.id


def move_ref(repo: Repo, ref: bytes, old: bytes | None, new: bytes, message: bytes) -> None:
    """Point ``ref`` at ``new`` if it still points at ``old`` (None: must not exist)."""
    subject = message.splitlines()[0] if message else b""
    log = (b"commit (initial): " if old is None else b"commit: ") + subject
    who = identity(repo, "COMMITTER")
    now = int(time.time())
    name = ref.decode("utf-8", "replace")
    try:
        if old is None:
            ok = repo.refs.add_if_new(ref, new, committer=who, timestamp=now, timezone=0, message=log)
        else:
            ok = repo.refs.set_if_equals(ref, old, new, committer=who, timestamp=now, timezone=0, message=log)
    except FileLocked:
        raise GitError(
            f"{name} is locked by another git process", "wait for it to finish, or remove its stale .lock file"
        ) from None
    except (OSError, RefFormatError, ValueError) as exc:
        raise GitError(f"cannot update {name}: {exc}", "check the repository is writable") from None
    if not ok:
        raise GitError(f"{name} moved while committing", "another process committed meanwhile; run the command again")


def sync_worktree(index: IndexLock, root: Path, path: bytes, data: bytes, mode: int, commit: bytes) -> None:
    """Make the work-tree file and its (locked) index entry hold ``data`` after a commit."""
    rel = path.decode("utf-8")
    target = root / rel
    try:
        same = target.is_file() and not target.is_symlink() and target.read_bytes() == data
        if not same:
            write_atomic(target, data, executable=mode == _EXEC_MODE)
        sha = Blob.from_string(data).id
        if not same or index.staged(path) != sha:
            index.stage(path, index_entry_from_stat(os.lstat(target), sha, mode=mode))
    except OSError as exc:
        raise GitError(
            f"committed {commit.decode()[:12]} but could not write {rel}: {exc}",
            f"run `git checkout HEAD -- {rel}` to bring it up to date",
        ) from None


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
    lock is the one that gets replaced. Leaving the block without an error
    writes the staged entries back (all others as read); an error discards.
    Extensions are dropped: the cache-tree would be stale and the rest are
    caches git rebuilds. Split and sparse indexes keep entries elsewhere, so
    they are refused rather than rewritten.
    """

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self._file = repo.index_path()
        self._changed = False

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

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is not None or not self._changed:
            self._lock.abort()
            return
        fmt = self._repo.object_format
        try:
            writer = IndexChecksumWriter(self._lock, fmt)
            write_index_dict(writer, dict(self._index.items()), version=_index_version(self._file), object_format=fmt)
            writer.close()
        except (OSError, ValueError) as exc:
            self._lock.abort()
            raise GitError(
                f"cannot write the git index: {exc}", "run `git status`; `git reset -q -- <path>` refreshes one entry"
            ) from None


def _lock(index_file: str) -> GitFile:
    for _ in range(_LOCK_TRIES):
        try:
            return GitFile(index_file, "wb")
        except FileLocked:
            time.sleep(_LOCK_PAUSE)
    raise GitError(
        f"{index_file}.lock exists: another git process is using the index",
        "wait for it to finish, or remove the stale index.lock",
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
