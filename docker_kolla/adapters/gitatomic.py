"""The git writes that must never be half done, whatever the disk does.

dulwich's ``GitFile`` flushes its buffer when it closes, also while aborting, so
on a full disk the flush fails before the ``.lock`` file is removed: a stale
``objects/xx/….lock`` or ``refs/heads/main.lock`` stays behind and every later
write fails. Everything here writes with unbuffered ``os.write`` into a file it
created exclusively, and removes that file on any failure:

- :func:`put_object`: a loose object (temp file, fsync, rename into place);
- :func:`swap_ref`: a ref moved by compare-and-swap under ``<ref>.lock``, with
  its reflog lines appended, and truncated back if the move does not happen;
- :class:`LockFile`: git's ``<file>.lock`` protocol (create exclusively, write,
  rename over the file to commit, unlink to abort);
- :class:`WorktreeSwap`: a work-tree file replaced atomically, restorable byte
  for byte (the old inode is kept by a hard link, so restoring needs no space).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from dulwich.objects import ShaFile
from dulwich.reflog import format_reflog_line
from dulwich.refs import ZERO_SHA
from dulwich.repo import Repo

from docker_kolla.adapters import fsio
from docker_kolla.errors import GitError

OBJECT_MODE = 0o444  # git's loose objects are read-only


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class LockFile:
    """``<path>.lock``, created exclusively; :meth:`commit` renames it over ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.lock = self.path + ".lock"
        self._fd = os.open(self.lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._open = True
        self._done = False  # committed or aborted: the lock path is no longer ours

    def write(self, data: bytes) -> None:
        """Write all of ``data`` and fsync; on failure the lock is removed."""
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except BaseException:
            self.abort()
            raise

    def commit(self) -> None:
        """Rename the lock over the file (the only step that makes the write visible)."""
        try:
            os.close(self._fd)
            self._open = False
            os.replace(self.lock, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True

    def abort(self) -> None:
        """Remove the lock (a no-op once committed or aborted)."""
        if self._done:
            return
        self._done = True
        if self._open:
            self._open = False
            with contextlib.suppress(OSError):
                os.close(self._fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.lock)


def put_object(repo: Repo, obj: ShaFile) -> None:
    """Store ``obj`` as a loose object unless the repository has it already."""
    store = repo.object_store
    if obj.id in store:
        return
    hexid = obj.id.decode("ascii")
    folder = Path(os.fsdecode(store.path)) / hexid[:2]
    folder.mkdir(exist_ok=True)
    fsio.write_atomic(folder / hexid[2:], obj.as_legacy_object(), mode=OBJECT_MODE)


def _reflog_path(repo: Repo, ref: bytes) -> str:
    base = repo.controldir() if ref == b"HEAD" else repo.commondir()
    return os.path.join(base, "logs", os.fsdecode(ref))


class _Reflogs:
    """Lines appended to reflogs, undone by truncating to the old size."""

    def __init__(self) -> None:
        self._done: list[tuple[str, int]] = []

    def append(self, path: str, line: bytes) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            size = os.fstat(fd).st_size
            self._done.append((path, size))
            _write_all(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def undo(self) -> None:
        for path, size in reversed(self._done):
            with contextlib.suppress(OSError):
                if size:
                    os.truncate(path, size)
                else:
                    os.unlink(path)
        self._done.clear()


def current(repo: Repo, realname: bytes) -> bytes | None:
    """The sha ``realname`` holds now (loose, else packed), None if it does not exist."""
    value = repo.refs.read_loose_ref(realname)
    if value is None:
        value = repo.refs.get_packed_refs().get(realname)
    return value


def swap_ref(
    repo: Repo, ref: bytes, old: bytes | None, new: bytes, *, committer: bytes, when: int, message: bytes
) -> bool:
    """Point ``ref`` (HEAD: the branch it names) at ``new`` if it still holds ``old`` (None: absent).

    Returns False, changing nothing, when the ref holds something else. The new
    value is written to ``<ref>.lock`` first, the reflog lines (of the branch,
    and of HEAD when moved through it) next, and the rename is last: a failure
    at any step removes the lock and the reflog lines.
    """
    realnames, _ = repo.refs.follow(ref)
    realname = realnames[-1]
    path = os.fsdecode(repo.refs.refpath(realname))  # type: ignore[attr-defined]  # a disk repository's refs
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        lock = LockFile(path)
    except FileExistsError:
        raise GitError(
            f"{realname.decode('utf-8', 'replace')} is locked by another git process ({path}.lock exists)",
            f"wait for it to finish; if none is running, remove the stale lock: rm {path}.lock",
        ) from None
    logs = _Reflogs()
    try:
        lock.write(new + b"\n")
        if current(repo, realname) != old:
            lock.abort()
            return False
        line = format_reflog_line(old or ZERO_SHA, new, committer, when, 0, message) + b"\n"
        for name in [realname] + ([ref] if ref != realname else []):
            logs.append(_reflog_path(repo, name), line)
        lock.commit()
    except BaseException:
        logs.undo()
        lock.abort()
        raise
    return True


class WorktreeSwap:
    """One work-tree file replaced atomically, and put back byte for byte if the commit fails.

    Before the replace the old file gets a second name inside ``.git`` (a hard
    link: no data is copied, so restoring works on a full disk); when links are
    impossible (another filesystem) its bytes are kept in memory instead.
    """

    def __init__(self, repo: Repo, target: Path) -> None:
        self.target = target
        self._backup: str | None = None
        self._old: bytes | None = None
        self._existed = target.is_file() and not target.is_symlink()
        self._replaced = False
        if self._existed:
            backup = os.path.join(repo.controldir(), f"docker-kolla-{secrets.token_hex(6)}.orig")
            try:
                os.link(target, backup)
                self._backup = backup
            except OSError:
                self._old = target.read_bytes()

    def replace(self, data: bytes, *, executable: bool = False) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fsio.write_atomic(self.target, data, executable=executable)
        self._replaced = True

    def restore(self) -> None:
        """Put the old file back (or remove the new one if there was none)."""
        try:
            if self._replaced and self._backup is not None:
                os.replace(self._backup, self.target)
                self._backup = None
            elif self._replaced and self._old is not None:
                fsio.write_atomic(self.target, self._old)
            elif self._replaced and not self._existed:
                self.target.unlink()
        finally:
            self.discard()

    def discard(self) -> None:
        """Forget the old file (the commit is done)."""
        if self._backup is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._backup)
            self._backup = None
