"""The lock repository: a git work tree read and written through dulwich.

Together with ``gitrev`` (revisions, history), ``gitwrite`` (trees, the work-tree
file, the index entry) and ``gitpush`` this is the only code that imports dulwich; every dulwich
error leaves here as a ``docker_kolla.errors`` type with a one-line message.

Promise: never lose or half-write a lockfile or a commit. Objects are written
before any ref moves; refs move by compare-and-swap; the work-tree file is
replaced atomically; the index changes under git's own ``index.lock``; a commit
refuses to overwrite content of the path that git has nowhere else.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from types import TracebackType

from dulwich.config import StackedConfig
from dulwich.errors import (ChecksumMismatch, FileFormatException, NotGitRepository,
                            ObjectMissing, WrongObjectException)
from dulwich.file import FileLocked
from dulwich.objects import Blob
from dulwich.refs import check_ref_format
from dulwich.repo import Repo

from docker_kolla.adapters import gitpush, gitrev, gitwrite
from docker_kolla.adapters.gitrev import Version
from docker_kolla.errors import DirtyTree, GitError, KollaError, NotARepository, UsageError

__all__ = ["LockRepo", "Version"]

NOT_A_REPO_HINT = "run `docker kolla init` or `git init`, or pass --repo"
_DEFAULT_BRANCH = b"main"  # when init.defaultBranch is not configured
# What dulwich raises on a damaged or unreadable repository (missing or corrupt
# objects, bad packed-refs, permissions); mapped to GitError so no traceback leaks.
_DULWICH_FAILURES = (KeyError, ValueError, AssertionError, OSError, ChecksumMismatch,
                     FileFormatException, WrongObjectException, ObjectMissing, FileLocked)


def _mapped(method):
    """Turn a dulwich failure inside a LockRepo method into one-line GitError."""
    @functools.wraps(method)
    def wrapper(self: LockRepo, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except KollaError:
            raise
        except _DULWICH_FAILURES as exc:
            raise GitError(f"git {method.__name__.strip('_')} failed in {self.root}: {_line(exc)}",
                           "run `git fsck` and `git status` to check the repository") from None
    return wrapper


class LockRepo:
    """A non-bare git repository holding lockfiles.

    Use as a context manager (or call ``close``): dulwich warns about repos left open.
    """

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self.root = Path(repo.path).resolve()

    # -- opening ------------------------------------------------------------

    @classmethod
    def open(cls, start: Path) -> LockRepo:
        """The repository containing ``start``, found upward like git does."""
        repo = _discover(Path(start))
        if repo is None:
            raise NotARepository(f"{start} is not a git repository", NOT_A_REPO_HINT)
        return cls(repo)

    @classmethod
    def init(cls, path: Path) -> LockRepo:
        """Open the repository containing ``path``, or create one at ``path``.

        A new repository's HEAD names ``init.defaultBranch`` if configured, else
        ``main`` (dulwich alone would pick ``master``).
        """
        path = Path(path)
        repo = _discover(path)
        if repo is not None:
            return cls(repo)
        try:
            path.mkdir(parents=True, exist_ok=True)
            repo = Repo.init(os.fspath(path), default_branch=_default_branch())
        except (OSError, ValueError) as exc:
            raise GitError(f"cannot create a git repository in {path}: {_line(exc)}",
                           "check the directory exists and is writable") from None
        return cls(repo)

    def close(self) -> None:
        """Release the repository's open files."""
        self._repo.close()

    def __enter__(self) -> LockRepo:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- reading ------------------------------------------------------------

    @_mapped
    def is_empty(self) -> bool:
        """True while HEAD has no commit (a new repository or an unborn branch)."""
        return gitrev.head_sha(self._repo) is None

    @_mapped
    def head_branch(self) -> str | None:
        """The branch HEAD names (also when unborn), or None when detached."""
        target = self._repo.refs.read_ref(b"HEAD") or b""
        prefix = b"ref: refs/heads/"
        return target[len(prefix):].decode("utf-8") if target.startswith(prefix) else None

    @_mapped
    def branch_exists(self, name: str) -> bool:
        """Whether ``refs/heads/<name>`` exists."""
        return _branch_ref(name) in self._repo.refs

    @_mapped
    def resolve(self, rev: str) -> str:
        """Full sha of the commit ``rev`` names (git syntax, see ``gitrev``)."""
        return gitrev.resolve(self._repo, rev).id.decode("ascii")

    @_mapped
    def read(self, rev: str, relpath: str) -> bytes | None:
        """The bytes of ``relpath`` at ``rev``, or None if it is absent there."""
        commit = gitrev.resolve(self._repo, rev)
        entry = gitrev.blob_id(self._repo, commit.tree, gitrev.git_path(relpath))
        return gitrev.read_blob(self._repo, entry[1]) if entry else None

    @_mapped
    def history(self, relpath: str, rev: str = "HEAD") -> list[Version]:
        """First-parent history of ``relpath`` from ``rev``, oldest first.

        Only commits that changed the path's bytes; a deletion has ``data=None``.
        An empty repository has no history (``[]``) when ``rev`` is HEAD.
        """
        path = gitrev.git_path(relpath)
        if rev == "HEAD" and self.is_empty():
            return []
        return gitrev.history(self._repo, gitrev.resolve(self._repo, rev), path)

    @_mapped
    def worktree_bytes(self, relpath: str) -> bytes | None:
        """The current work-tree file, or None if there is no file there."""
        target = self.root / gitrev.git_path(relpath).decode("utf-8")
        try:
            return target.read_bytes() if target.is_file() else None
        except OSError as exc:
            raise GitError(f"cannot read {target}: {_line(exc)}", "check file permissions") from None

    @_mapped
    def is_dirty(self, relpath: str) -> bool:
        """Whether ``git status`` would list ``relpath``: staged or unstaged edits.

        Decision: an untracked file that exists counts as dirty (HEAD has no
        copy, so overwriting it would lose it), also in an empty repository;
        a conflicted index entry is dirty. CRLF-only differences are clean
        (a Windows checkout with ``core.autocrlf``).
        """
        path = gitrev.git_path(relpath)
        head = gitrev.blob_id(self._repo, self._head_tree(), path)
        head_sha = head[1] if head else None
        staged = gitwrite.index_sha(self._repo, path)
        if staged is gitwrite.CONFLICT or staged != head_sha:
            return True
        return not _same_content(self.worktree_bytes(relpath), head_sha)

    # -- writing ------------------------------------------------------------

    @_mapped
    def commit_file(self, relpath: str, data: bytes, message: str, *,
                    branch: str | None = None, expected_parent: str | None = None) -> str:
        """Commit ``data`` as ``relpath`` and nothing else; return the commit sha.

        ``branch=None`` (or the branch HEAD names): commit on HEAD (an unborn
        branch gets the initial commit), then replace the work-tree file
        atomically and update only this path's index entry, so ``git status`` is
        clean for it and every other staged or unstaged change stays as it was.
        Refuses (DirtyTree) when the work tree or index holds content for the
        path that is neither HEAD's nor ``data`` -- that content would be lost.

        ``branch="B"`` (not HEAD's branch): commit on ``refs/heads/B``, created
        from HEAD when missing; work tree, index and HEAD are not touched.

        ``expected_parent``: full sha the branch tip must still have (GitError
        otherwise). The ref moves by compare-and-swap, so a concurrent commit
        gives GitError, never a lost commit.

        If the parent already has exactly ``data`` at ``relpath`` nothing is
        committed and no ref moves: the parent's sha is returned. Commits are
        never signed, hooks do not run, times are UTC "now"; the identity comes
        from GIT_AUTHOR_*/GIT_COMMITTER_*, then git config, then
        ``docker-kolla <docker-kolla@localhost>``.
        """
        path = gitrev.git_path(relpath)
        if not isinstance(data, bytes):
            raise TypeError("data must be bytes")
        text = gitwrite.clean_message(message)
        if branch is not None and branch != self.head_branch():
            return self._commit_on_branch(branch, path, data, text, expected_parent)
        return self._commit_on_head(path, data, text, expected_parent)

    @_mapped
    def write_worktree(self, relpath: str, data: bytes) -> None:
        """Replace the work-tree file atomically, committing nothing (``--no-commit``).

        The index is left alone, so ``git status`` shows the edit. Callers check
        ``is_dirty`` first if the user's edits must not be overwritten.
        """
        rel = gitrev.git_path(relpath).decode("utf-8")
        try:
            gitwrite.write_atomic(self.root / rel, data)
        except OSError as exc:
            raise GitError(f"cannot write {rel}: {_line(exc)}", "check the directory is writable") from None

    def _commit_on_head(self, path: bytes, data: bytes, text: bytes,
                        expected: str | None) -> str:
        repo = self._repo
        with gitwrite.IndexLock(repo) as index:
            old = gitrev.head_sha(repo)
            _check_expected(expected, old, "HEAD")
            head = gitrev.blob_id(repo, gitrev.tree_of(repo, old), path)
            self._refuse_losing_edits(path, head, data, index.staged(path))
            new = gitwrite.commit_path(repo, old, path, data, text)
            if new != old:
                target = b"HEAD" if old is not None else _unborn_target(repo)
                gitwrite.move_ref(repo, target, old, new, text)
            mode = head[0] if head else gitwrite.FILE_MODE
            gitwrite.sync_worktree(index, self.root, path, data, mode, new)
        return new.decode("ascii")

    def _commit_on_branch(self, name: str, path: bytes, data: bytes, text: bytes,
                          expected: str | None) -> str:
        repo = self._repo
        ref = _branch_ref(name)
        try:
            old = repo.refs[ref]
        except KeyError:
            old = None
        base = old if old is not None else gitrev.head_sha(repo)
        _check_expected(expected, base, name)
        new = gitwrite.commit_path(repo, base, path, data, text)
        if new != base:
            gitwrite.move_ref(repo, ref, old, new, text)
        return new.decode("ascii")

    def _refuse_losing_edits(self, path: bytes, head: tuple[int, bytes] | None,
                             data: bytes, staged: object) -> None:
        """DirtyTree if the index or work tree has bytes found neither in HEAD nor in ``data``."""
        keep = {head[1] if head else None, Blob.from_string(data).id}
        work = self.worktree_bytes(path.decode("utf-8"))
        lost_staged = staged is gitwrite.CONFLICT or (staged is not None and staged not in keep)
        lost_work = work is not None and not any(_same_content(work, k) for k in keep if k)
        if lost_staged or lost_work:
            rel = path.decode("utf-8")
            raise DirtyTree(f"{rel} has uncommitted changes",
                            f"commit or discard them first (`git diff HEAD -- {rel}`)")

    def _head_tree(self) -> bytes | None:
        return gitrev.tree_of(self._repo, gitrev.head_sha(self._repo))

    # -- pushing ------------------------------------------------------------

    @_mapped
    def push(self, remote: str, branch: str) -> None:
        """Push ``refs/heads/<branch>`` to the same name on ``remote``.

        ``remote`` is a configured remote name, a path, or a URL. The remote must
        be bare: dulwich would update a non-bare remote's checked-out branch
        behind its work tree's back, so local non-bare targets are refused.
        A non-fast-forward is refused (never forced).
        """
        ref = _branch_ref(branch)
        if ref not in self._repo.refs:
            raise UsageError(f"no branch {branch!r} to push", "commit on it first (`--branch`)")
        gitpush.push(self._repo, remote, ref)


def _discover(start: Path) -> Repo | None:
    """The non-bare repository containing ``start``, or None."""
    try:
        repo = Repo.discover(os.fspath(start))
    except (NotGitRepository, OSError, ValueError):
        return None
    if repo.bare:
        repo.close()
        raise NotARepository(f"{start} is a bare git repository",
                             "clone it and run in the clone, or pass --repo")
    return repo


def _unborn_target(repo: Repo) -> bytes:
    """The ref an unborn HEAD names (``refs/heads/main``): the initial commit's ref."""
    target = repo.refs.read_ref(b"HEAD") or b""
    if not target.startswith(b"ref: "):
        raise GitError("HEAD is broken: it names no branch and no commit",
                       "repair it, e.g. `git symbolic-ref HEAD refs/heads/main`")
    return target[len(b"ref: "):].strip()


def _default_branch() -> bytes:
    try:
        return StackedConfig.default().get((b"init",), b"defaultBranch") or _DEFAULT_BRANCH
    except KeyError:
        return _DEFAULT_BRANCH


def _branch_ref(name: str) -> bytes:
    ref = b"refs/heads/" + str(name).encode("utf-8")
    if not name or not check_ref_format(ref):
        raise UsageError(f"invalid branch name {name!r}", "use a name git accepts, e.g. kolla/lock-ocata")
    return ref


def _check_expected(expected: str | None, actual: bytes | None, where: str) -> None:
    if expected is not None and (actual is None or expected.encode("ascii") != actual):
        raise GitError(f"{where} moved: expected {expected[:12]}, found "
                       f"{actual.decode()[:12] if actual else 'no commit'}",
                       "another commit landed meanwhile; run the command again")


def _same_content(work: bytes | None, blob_sha: bytes | None) -> bool:
    """Work-tree bytes equal the blob, also after CRLF -> LF normalisation."""
    if work is None or blob_sha is None:
        return work is None and blob_sha is None
    if Blob.from_string(work).id == blob_sha:
        return True
    return b"\r\n" in work and Blob.from_string(work.replace(b"\r\n", b"\n")).id == blob_sha


def _line(exc: BaseException) -> str:
    """An exception as one short line."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
