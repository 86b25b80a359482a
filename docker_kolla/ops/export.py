"""``export``: render a lock at a revision for deployers, to stdout or atomically to a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from docker_kolla.adapters import fsio
from docker_kolla.core.exports import render
from docker_kolla.errors import KollaError
from docker_kolla.ops.common import load_lock_at, open_repo, pick_channel


@dataclass(frozen=True)
class ExportResult:
    channel: str
    commit: str
    text: str
    images: int


def run_export(
    repo_path: Path, channel: str | None, fmt: str, *, rev: str = "HEAD", registry: str | None = None
) -> ExportResult:
    """The lock of ``channel`` at ``rev`` in format ``fmt``."""
    repo = open_repo(repo_path)
    try:
        name = pick_channel(repo, channel, rev, example="docker kolla export {channel}")
        commit, lock = load_lock_at(repo, name, rev)
    finally:
        repo.close()
    text = render(
        lock, fmt, registry=registry, source=f"lockfiles/{name}.toml at {commit[:12]} ({rev})", rev=rev, commit=commit
    )
    return ExportResult(channel=name, commit=commit, text=text, images=len(lock.images))


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never half of it."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise KollaError(
            f"cannot write {path}: directory {directory} does not exist", "create it or pick another --output"
        )
    try:
        fsio.write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise KollaError(f"cannot write {path}: {exc.strerror or exc}", "check the path and its permissions") from exc
