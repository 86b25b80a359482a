"""Committing one path: on HEAD (work tree and index kept in step) or on another branch.

Part of the git adapter behind ``gitstore.LockRepo``, which validates the
inputs and maps dulwich failures; the object, ref and index work itself is in
``gitwrite``. The rule here: never lose content git has nowhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

from dulwich.index import index_entry_from_stat
from dulwich.objects import Blob
from dulwich.repo import Repo

from docker_kolla.adapters import gitatomic, gitrev, gitwrite
from docker_kolla.adapters.giterrors import one_line
from docker_kolla.adapters.gitwrite import write_hint
from docker_kolla.errors import DirtyTree, GitError


def on_head(
    repo: Repo, root: Path, path: bytes, data: bytes, text: bytes, expected: str | None, sig: gitwrite.Signature
) -> str:
    """Commit on HEAD (or its unborn branch) with the work-tree file and index entry: one transaction.

    Order: take ``index.lock``; write the objects; replace the work-tree file
    (atomically, the old one kept aside); write the new index into the lock;
    move the ref by compare-and-swap, last; then put the index in place and
    drop the old file. A failure before the ref moves puts the old work-tree
    file back byte for byte and leaves HEAD and the index as they were, so HEAD
    is never ahead of the work tree.
    """
    with gitwrite.IndexLock(repo) as index:
        old = gitrev.head_sha(repo)
        check_expected(expected, old, "HEAD")
        head = gitrev.blob_id(repo, gitrev.tree_of(repo, old), path)
        _refuse_losing_edits(root, path, head, data, index.staged(path))
        rel = path.decode("utf-8")
        try:
            new = gitwrite.commit_path(repo, old, path, data, text, sig)
        except OSError as exc:
            raise GitError(
                f"cannot write git objects: {one_line(exc)}; nothing was committed", write_hint(exc)
            ) from None
        mode = head[0] if head else gitwrite.FILE_MODE
        target = root / rel
        same = target.is_file() and not target.is_symlink() and target.read_bytes() == data
        swap = gitatomic.WorktreeSwap(repo, target)
        try:
            if not same:
                swap.replace(data, executable=mode == gitwrite.EXEC_MODE)
            sha = Blob.from_string(data).id
            if not same or index.staged(path) != sha:
                index.stage(path, index_entry_from_stat(os.lstat(target), sha, mode=mode))
            index.prepare()
            if new != old:
                ref = b"HEAD" if old is not None else _unborn_target(repo)
                gitwrite.move_ref(repo, ref, old, new, text, sig)
        except OSError as exc:
            swap.restore()
            raise GitError(f"cannot write {rel}: {one_line(exc)}; nothing was committed", write_hint(exc)) from None
        except BaseException:
            swap.restore()
            raise
        swap.discard()
        index.commit()
    return new.decode("ascii")


def on_branch(
    repo: Repo, name: str, path: bytes, data: bytes, text: bytes, expected: str | None, sig: gitwrite.Signature
) -> str:
    """Commit on branch ``name``, created from HEAD when missing; work tree, index and HEAD stay."""
    ref = gitrev.branch_ref(name)
    try:
        old = repo.refs[ref]
    except KeyError:
        old = None
    base = old if old is not None else gitrev.head_sha(repo)
    check_expected(expected, base, name)
    try:
        new = gitwrite.commit_path(repo, base, path, data, text, sig)
    except OSError as exc:
        raise GitError(f"cannot write git objects: {one_line(exc)}; nothing was committed", write_hint(exc)) from None
    if new != base:
        gitwrite.move_ref(repo, ref, old, new, text, sig)
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
