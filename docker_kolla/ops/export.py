"""``export``: render a lock at a revision for deployers, to stdout or atomically to a file."""

from __future__ import annotations

from dataclasses import dataclass

from docker_kolla.core.exports import render
from docker_kolla.ops.common import load_lock_at, pick_channel


@dataclass(frozen=True)
class ExportResult:
    channel: str
    commit: str
    text: str
    images: int


def run_export(repo, channel: str | None, fmt: str, *, rev: str = "HEAD", registry: str | None = None) -> ExportResult:
    """The lock of ``channel`` at ``rev`` in the open repository, in format ``fmt``."""
    name = pick_channel(repo, channel, rev, example="docker kolla export {channel}")
    commit, lock = load_lock_at(repo, name, rev)
    text = render(lock, fmt, registry=registry, source=f"lockfiles/{name}.toml at {commit[:12]} ({rev})")
    return ExportResult(channel=name, commit=commit, text=text, images=len(lock.images))
