"""Atomic file replacement: the one routine every writer of user-visible files uses; and
finding a work tree's files before git is opened."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from docker_kolla.errors import KollaError


def write_atomic(
    target: Path, data: bytes, *, executable: bool = False, mode: int | None = None, durable: bool = True
) -> None:
    """Replace ``target`` with ``data`` so readers see the old or the new file, never half.

    A temp file in the same directory (so the rename stays on one filesystem) is
    written (unbuffered: nothing is left to flush when a full disk fails a write),
    fsynced and renamed over the target; on any failure it is removed. It is
    created with mode 0666/0777 so the umask applies as for any new file; an
    existing file's permissions are kept; ``mode`` sets them outright. The
    parent directory must exist.

    ``durable=False`` skips the fsync: for files whose loss in a crash costs only
    recomputation and whose readers detect a torn or empty file themselves (the
    layer cache checksums every entry). The rename still makes the file appear whole
    to every other process.
    """
    target = Path(target)
    tmp = target.parent / f".{target.name}.{os.urandom(6).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o777 if executable else 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        elif target.is_file() and not target.is_symlink():
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output(path: Path, text: str) -> None:
    """Write a file the user named (``--output``) atomically; errors are one line with the fix."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise KollaError(
            f"cannot write {path}: directory {directory} does not exist", "create it or pick another --output"
        )
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise KollaError(f"cannot write {path}: {exc.strerror or exc}", "check the path and its permissions") from exc


def worktree_file(start: Path, relpath: str) -> bytes | None:
    """``relpath`` in the work tree containing ``start`` (the nearest directory upward with a
    ``.git``), without opening the repository; None when there is none or it cannot be read.

    A hint only (``lock`` starts its HEADs from it before git is loaded): whatever reads
    it must check it against what the repository itself says.
    """
    try:
        here = Path(start).resolve()
        for folder in (here, *here.parents):
            if (folder / ".git").exists():
                return (folder / relpath).read_bytes()
    except OSError:
        return None
    return None
