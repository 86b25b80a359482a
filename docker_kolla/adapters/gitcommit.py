"""Committing one path: on HEAD (work tree and index kept in step) or on another branch.

Part of the git adapter behind ``gitstore.LockRepo``, which validates the
inputs and maps dulwich failures; the object, ref and index work itself is in
``gitwrite``. The rule here: never lose content git has nowhere else.
"""

from __future__ import annotations

from pathlib import Path

from dulwich.objects import Blob
from dulwich.repo import Repo

from docker_kolla.adapters import gitrev, gitwrite
from docker_kolla.adapters.giterrors import one_line
from docker_kolla.errors import DirtyTree, GitError


def on_head(repo: Repo, root: Path, path: bytes, data: bytes, text: bytes, expected: str | None) -> str:
    """Commit on HEAD (or its unborn branch), then sync the work-tree file and index entry."""
    with gitwrite.IndexLock(repo) as index:
        old = gitrev.head_sha(repo)
        check_expected(expected, old, "HEAD")
        head = gitrev.blob_id(repo, gitrev.tree_of(repo, old), path)
        _refuse_losing_edits(root, path, head, data, index.staged(path))
        new = gitwrite.commit_path(repo, old, path, data, text)
        if new != old:
            target = b"HEAD" if old is not None else _unborn_target(repo)
            gitwrite.move_ref(repo, target, old, new, text)
        mode = head[0] if head else gitwrite.FILE_MODE
        gitwrite.sync_worktree(index, root, path, data, mode, new)
    return new.decode("ascii")


def on_branch(repo: Repo, name: str, path: bytes, data: bytes, text: bytes, expected: str | None) -> str:
    """Commit on branch ``name``, created from HEAD when missing; work tree, index and HEAD stay."""
    ref = gitrev.branch_ref(name)
    try:
        old = repo.refs[ref]
    except KeyError:
        old = None
    base = old if old is not None else gitrev.head_sha(repo)
    check_expected(expected, base, name)
    new = gitwrite.commit_path(repo, base, path, data, text)
    if new != base:
        gitwrite.move_ref(repo, ref, old, new, text)
    return new.decode("ascii")


def worktree_bytes(root: Path, path: bytes) -> bytes | None:
    """The work-tree file at ``path``, or None if there is no file there."""
    target = root / path.decode("utf-8")
    try:
        return target.read_bytes() if target.is_file() else None
    except OSError as exc:
        raise GitError(f"cannot read {target}: {one_line(exc)}", "check file permissions") from None


def same_content(work: bytes | None, blob_sha: bytes | None) -> bool:
    """Work-tree bytes equal the blob, also after CRLF -> LF normalisation."""
    if work is None or blob_sha is None:
        return work is None and blob_sha is None
    if Blob.from_string(work).id == blob_sha:
        return True
    return b"\r\n" in work and Blob.from_string(work.replace(b"\r\n", b"\n")).id == blob_sha


def check_expected(expected: str | None, actual: bytes | None, where: str) -> None:
    """GitError unless the tip is still ``expected`` (no expectation: anything goes)."""
    if expected is not None and (actual is None or expected.encode("ascii") != actual):
        raise GitError(
            f"{where} moved: expected {expected[:12]}, found {actual.decode()[:12] if actual else 'no commit'}",
            "another commit landed meanwhile; run the command again",
        )


def _refuse_losing_edits(root: Path, path: bytes, head: tuple[int, bytes] | None, data: bytes, staged: object) -> None:
    """DirtyTree if the index or work tree has bytes found neither in HEAD nor in ``data``."""
    keep = {head[1] if head else None, Blob.from_string(data).id}
    work = worktree_bytes(root, path)
    lost_staged = staged is gitwrite.CONFLICT or (staged is not None and staged not in keep)
    lost_work = work is not None and not any(same_content(work, k) for k in keep if k)
    if lost_staged or lost_work:
        rel = path.decode("utf-8")
        raise DirtyTree(f"{rel} has uncommitted changes", f"commit or discard them first (`git diff HEAD -- {rel}`)")


def _unborn_target(repo: Repo) -> bytes:
    """The ref an unborn HEAD names (``refs/heads/main``): the initial commit's ref."""
    target = repo.refs.read_ref(b"HEAD") or b""
    if not target.startswith(b"ref: "):
        raise GitError(
            "HEAD is broken: it names no branch and no commit",
            "repair it, e.g. `git symbolic-ref HEAD refs/heads/main`",
        )
    return target[len(b"ref: ") :].strip()
