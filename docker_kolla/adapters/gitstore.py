"""The lock repository: a git work tree read and written through dulwich.

Together with ``gitrev`` (revisions, history), ``gitcommit`` (committing one
path), ``gitwrite`` (trees, refs, the work-tree file, the index entry),
``gitpush`` and ``giterrors`` this is the only code that imports dulwich; every
dulwich error leaves here as a ``docker_kolla.errors`` type with a one-line
message.

Promise: never lose or half-write a lockfile or a commit. Objects are written
before any ref moves; refs move by compare-and-swap; the work-tree file is
replaced atomically; the index changes under git's own ``index.lock``; a commit
refuses to overwrite content of the path that git has nowhere else.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from dulwich.config import StackedConfig
from dulwich.errors import NotGitRepository
from dulwich.repo import Repo

from docker_kolla import __version__
from docker_kolla.adapters import gitcommit, gitident, gitpush, gitrev, gitwrite
from docker_kolla.adapters.giterrors import mapped, one_line
from docker_kolla.adapters.gitrev import Version, VersionRef
from docker_kolla.adapters.revcache import RevisionCache
from docker_kolla.errors import GitError, NotARepository, UsageError

__all__ = ["LockRepo", "Version", "VersionRef"]

NOT_A_REPO_HINT = "run `docker kolla init` or `git init`, or pass --repo"
_DELTA_BASE_CACHE = 16 * 1024 * 1024
_DEFAULT_BRANCH = b"main"  # when init.defaultBranch is not configured


class LockRepo:
    """A non-bare git repository holding lockfiles.

    Use as a context manager (or call ``close``): dulwich warns about repos left open.
    """

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        store = repo.object_store
        if getattr(store, "delta_base_cache_limit", 0) is None:  # core.deltaBaseCacheLimit unset
            # dulwich's default keeps up to 96 MiB of resolved delta bases per pack; walking a
            # lockfile's history oldest first needs only the last few versions
            store.delta_base_cache_limit = _DELTA_BASE_CACHE
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
            raise GitError(
                f"cannot create a git repository in {path}: {one_line(exc)}",
                "check the directory exists and is writable",
            ) from None
        return cls(repo)

    def close(self) -> None:
        """Release the repository's open files."""
        self._repo.close()

    def __enter__(self) -> LockRepo:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- reading ------------------------------------------------------------

    @mapped
    def is_empty(self) -> bool:
        """True while HEAD has no commit (a new repository or an unborn branch)."""
        return gitrev.head_sha(self._repo) is None

    @mapped
    def head_branch(self) -> str | None:
        """The branch HEAD names (also when unborn), or None when detached."""
        target = self._repo.refs.read_ref(b"HEAD") or b""
        prefix = b"ref: refs/heads/"
        return target[len(prefix) :].decode("utf-8") if target.startswith(prefix) else None

    @mapped
    def branch_exists(self, name: str) -> bool:
        """Whether ``refs/heads/<name>`` exists."""
        return gitrev.branch_ref(name) in self._repo.refs

    @mapped
    def resolve(self, rev: str) -> str:
        """Full sha of the commit ``rev`` names (git syntax, see ``gitrev``)."""
        return gitrev.resolve(self._repo, rev).id.decode("ascii")

    @mapped
    def read(self, rev: str, relpath: str) -> bytes | None:
        """The bytes of ``relpath`` at ``rev``, or None if it is absent there."""
        commit = gitrev.resolve(self._repo, rev)
        entry = gitrev.blob_id(self._repo, commit.tree, gitrev.git_path(relpath))
        return gitrev.read_blob(self._repo, entry[1]) if entry else None

    @mapped
    def history(self, relpath: str, rev: str = "HEAD") -> list[Version]:
        """First-parent history of ``relpath`` from ``rev``, oldest first.

        Only commits that changed the path's bytes; a deletion has ``data=None``.
        An empty repository has no history (``[]``) when ``rev`` is HEAD.
        """
        path = gitrev.git_path(relpath)
        if rev == "HEAD" and self.is_empty():
            return []
        return gitrev.history(self._repo, gitrev.resolve(self._repo, rev), path)

    def walk(self, relpath: str, rev: str = "HEAD") -> Iterator[VersionRef]:
        """Like :meth:`history`, newest first and lazily: a caller may stop early.

        Each step names the version's blob (read it with :meth:`blob`); the
        walk reads only trees. Git failures raise GitError as the step is taken.
        """
        path = gitrev.git_path(relpath)
        if rev == "HEAD" and self.is_empty():
            return
        start = self._mapped_step(lambda: gitrev.resolve(self._repo, rev))
        steps = gitrev.walk(self._repo, start, path)
        while True:
            step = self._mapped_step(lambda: next(steps, None))
            if step is None:
                return
            yield gitrev.version_ref(*step)

    @mapped
    def _mapped_step(self, fn):
        return fn()

    @mapped
    def blob(self, sha: str) -> bytes:
        """The bytes of blob ``sha`` (from :meth:`walk`)."""
        return gitrev.read_blob(self._repo, sha.encode("ascii"))

    @property
    def revision_cache(self) -> RevisionCache:
        """The history cache in ``.git/docker-kolla/`` (never committed, safe to delete).

        Entries are tied to the product version and to the shallow boundary (a
        history walked in a shallow clone is not the one walked after a fetch
        deepens it).
        """
        common = Path(self._repo.commondir())
        try:
            boundary = (common / "shallow").read_bytes()
        except OSError:
            boundary = b""
        version = __version__ + ("+shallow-" + hashlib.sha256(boundary).hexdigest()[:16] if boundary else "")
        return RevisionCache(common / "docker-kolla" / "history", version)

    @mapped
    def worktree_bytes(self, relpath: str) -> bytes | None:
        """The current work-tree file, or None if there is no file there."""
        return gitcommit.worktree_bytes(self.root, gitrev.git_path(relpath))

    @mapped
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
        return not gitcommit.same_content(self.worktree_bytes(relpath), head_sha)

    def _head_tree(self) -> bytes | None:
        return gitrev.tree_of(self._repo, gitrev.head_sha(self._repo))

    # -- writing ------------------------------------------------------------

    @mapped
    def commit_file(
        self, relpath: str, data: bytes, message: str, *, branch: str | None = None, expected_parent: str | None = None
    ) -> str:
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
        sig = gitident.signature(self._repo, os.environ)
        if branch is not None and branch != self.head_branch():
            return gitcommit.on_branch(self._repo, branch, path, data, text, expected_parent, sig)
        return gitcommit.on_head(self._repo, self.root, path, data, text, expected_parent, sig)

    def missing_identity(self) -> list:
        """``user.name``/``user.email`` when git would refuse to commit for want of them."""
        missing = []
        for field in ("name", "email"):
            if any(
                gitident.configured_identity(self._repo, kind, os.environ)[field] is None
                for kind in ("AUTHOR", "COMMITTER")
            ):
                missing.append(f"user.{field}")
        return missing

    @mapped
    def write_worktree(self, relpath: str, data: bytes) -> None:
        """Replace the work-tree file atomically, committing nothing (``--no-commit``).

        The index is left alone, so ``git status`` shows the edit. Callers check
        ``is_dirty`` first if the user's edits must not be overwritten.
        """
        rel = gitrev.git_path(relpath).decode("utf-8")
        try:
            gitwrite.write_atomic(self.root / rel, data)
        except OSError as exc:
            raise GitError(f"cannot write {rel}: {one_line(exc)}", "check the directory is writable") from None

    @mapped
    def set_config(self, section: tuple[str, str], key: str, value: str) -> bool:
        """Set ``section.subsection.key`` in the repository's own ``.git/config``; False if already so."""
        config = self._repo.get_config()
        sect = tuple(s.encode("utf-8") for s in section)
        try:
            if config.get(sect, key.encode("utf-8")) == value.encode("utf-8"):
                return False
        except KeyError:
            pass
        config.set(sect, key.encode("utf-8"), value.encode("utf-8"))
        config.write_to_path()
        return True

    # -- pushing ------------------------------------------------------------

    @mapped
    def push(self, remote: str, branch: str) -> None:
        """Push ``refs/heads/<branch>`` to the same name on ``remote``.

        ``remote`` is a configured remote name, a path, or a URL. The remote must
        be bare: dulwich would update a non-bare remote's checked-out branch
        behind its work tree's back, so local non-bare targets are refused.
        A non-fast-forward is refused (never forced).
        """
        ref = gitrev.branch_ref(branch)
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
        raise NotARepository(f"{start} is a bare git repository", "clone it and run in the clone, or pass --repo")
    return repo


def _default_branch() -> bytes:
    try:
        return StackedConfig.default().get((b"init",), b"defaultBranch") or _DEFAULT_BRANCH
    except KeyError:
        return _DEFAULT_BRANCH
