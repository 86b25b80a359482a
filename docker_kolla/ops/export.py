"""``export``: render a lock at a revision for deployers, to stdout or atomically to a file."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from docker_kolla.core.exports import render
from docker_kolla.errors import KollaError
from docker_kolla.ops.common import load_lock_at, open_repo, pick_channel


@dataclass(frozen=True)
class ExportResult:
    channel: str
    commit: str
    text: str
    images: int


def run_export(repo_path: Path, channel: str | None, fmt: str, *, rev: str = "HEAD",
               registry: str | None = None) -> ExportResult:
    """The lock of ``channel`` at ``rev`` in format ``fmt``."""
    repo = open_repo(repo_path)
    try:
        name = pick_channel(repo, channel, rev)
        commit, lock = load_lock_at(repo, name, rev)
    finally:
        repo.close()
    text = render(lock, fmt, registry=registry, source=f"lockfiles/{name}.toml at {commit[:12]} ({rev})")
    return ExportResult(channel=name, commit=commit, text=text, images=len(lock.images))


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never half of it.

    A temporary file in the same directory is flushed, fsynced and renamed over
    the target (rename is atomic within one filesystem).
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise KollaError(f"cannot write {path}: directory {directory} does not exist", "create it or pick another --output")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise KollaError(f"cannot write {path}: {exc.strerror or exc}", "check the path and its permissions") from exc
