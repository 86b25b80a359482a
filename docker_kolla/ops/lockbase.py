"""What a lock starts from: the base commit, its lockfile and each wanted image's last
entry, and the work-tree checks before anything is computed (``ops.lock``'s inputs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from docker_kolla.core.lockfile import conflicted_images
from docker_kolla.errors import DirtyTree, UsageError
from docker_kolla.ops import lockhistory
from docker_kolla.ops.common import lock_path, parse_lock

if TYPE_CHECKING:
    from docker_kolla.ops.lock import LockOptions


def previous(repo, channel: str, base: str | None, data: bytes | None, wanted: list, reader) -> tuple:
    """The lockfile at the base commit parsed (``data``: its bytes), and the last entry of
    every wanted image ever locked: ``(Lockfile | None, {name: entry})``.

    The history is read only when a wanted image is missing from the current lock (a
    re-added image continues its numbering instead of reusing revision numbers that
    were already published), so a routine re-lock costs one read, whatever the history;
    even then each distinct image text is parsed once, and only the missing images' entries.
    """
    if base is None:
        return None, {}
    path = lock_path(channel)
    current = reader.lock(data, path) if data is not None else None
    if current is not None and all(name in current.images for name in wanted):
        return current, dict(current.images)
    refs, _ = lockhistory.walk_back(repo, path, base, lambda _commit: None)
    history = lockhistory.new_reader()
    names = set(wanted)
    found: dict = {}  # name -> (bytes, where) of the newest version holding it
    for ref in refs:
        if ref.blob is None:
            continue
        version = repo.blob(ref.blob)
        where = lockhistory.where(path, ref.commit)
        for name in names.intersection(history.summary(version, where).images):
            found[name] = (version, where)
    return current, {name: history.entry(v, name, where) for name, (v, where) in found.items()}


def by_revision(repo, path: str, base: str | None) -> dict:
    """(image, revision) -> the entry that revision pinned, from the lockfile's history."""
    found: dict = {}
    if base is None:
        return found
    for version in repo.history(path, base):
        if version.data is not None:
            for name, entry in parse_lock(version.data, f"{path}@{version.commit[:7]}").images.items():
                found.setdefault((name, entry.revision), entry)
    return found


def base_commit(repo, branch: str | None) -> str | None:
    if repo.is_empty():
        return None
    if branch and repo.branch_exists(branch):
        return repo.resolve(branch)
    return repo.resolve("HEAD")


def committed(repo, path: str) -> bool:
    """Whether HEAD has ``path`` (False in a repository without commits)."""
    try:
        return repo.read(repo.resolve("HEAD"), path) is not None
    except UsageError:
        return False


def check_worktree(repo, opts: LockOptions, path: str) -> None:
    """The lockfile in the work tree: no conflict markers, and no edits a commit would overwrite."""
    work = repo.worktree_bytes(path)
    if work is not None and conflicted_images(work.decode("utf-8", "replace")) is not None:
        parse_lock(work, path)  # raises: names the conflicted images and the fix
    if not opts.branch and not opts.dry_run and repo.is_dirty(path):
        if committed(repo, path):
            raise DirtyTree(
                f"{path} has uncommitted edits",
                f"commit or discard them first (`git diff HEAD -- {path}`; `git checkout HEAD -- {path}`)",
            )
        raise DirtyTree(
            f"{path} was written but never committed (lock --no-commit?)",
            f"commit it (`git add {path} && git commit -m 'lock {opts.channel}'`) or remove it (`rm {path}`)",
        )
