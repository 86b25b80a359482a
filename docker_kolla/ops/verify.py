"""``verify``: every revision recomputed from history; ``--remote``: pinned digests still there."""

from __future__ import annotations

from dataclasses import dataclass, field

from docker_kolla.errors import ConfigError, UsageError
from docker_kolla.ops import lockhistory
from docker_kolla.ops.common import lock_path


@dataclass
class VerifyResult:
    channel: str
    versions: int = 0
    mismatches: list = field(default_factory=list)  # Mismatch
    problems: list = field(default_factory=list)  # one-line strings

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.problems


def run_verify(repo, channel: str, config=None) -> VerifyResult:
    """Recompute every revision of CHANNEL's lock from its first-parent history.

    Reads only the versions after the last ``verify`` (see ``lockhistory``).
    """
    path = lock_path(channel)
    state, reader = lockhistory.verify_history(repo, path)
    result = VerifyResult(channel, state.versions, list(state.mismatches), list(state.problems))
    if state.head is None and not result.problems:
        raise UsageError(f"{path} has no history", f"run `docker kolla lock {channel}` first")
    if result.mismatches:
        merges = {ref.commit for ref in repo.walk(path, "HEAD") if len(ref.parents) > 1}
        result.problems.extend(_merge_hints(channel, result.mismatches, merges))
    chan = config.channels.get(channel) if config else None
    if chan and state.head is not None:
        for name, entry in sorted(state.head.images.items()):
            expected = chan.revision_tag(entry.revision)
            if entry.tag != expected:
                result.problems.append(
                    f"{name}: tag {entry.tag!r} does not match revision {entry.revision} (expected {expected!r})"
                )
    work = repo.worktree_bytes(path)
    if work is not None:
        try:
            reader.summary(work, path)
        except ConfigError as exc:
            result.problems.append(exc.message)
    return result


def _merge_hints(channel: str, mismatches: list, merges: set) -> list:
    """A wrong revision at a merge commit: say what merged it wrongly and how to fix it."""
    by_commit: dict = {}
    for m in mismatches:
        if m.commit in merges:
            by_commit.setdefault(m.commit, []).append(m.image)
    lines = []
    for commit, names in by_commit.items():
        images = " ".join(f"--image {n}" for n in sorted(set(names)))
        lines.append(
            f"merge {commit[:7]} kept a branch's revisions for {', '.join(sorted(set(names)))}: a textual merge "
            "(a forge's merge button ignores merge drivers) or a branch with more than one lock commit; fix: "
            f"make the branch one commit on the target (`git checkout -B BRANCH main && docker kolla lock "
            f"{channel} {images}`) or `docker kolla rollback {channel}`, and merge locally after "
            "`docker kolla merge-driver install`"
        )
    return lines


def run_verify_remote(repo, channel: str, client) -> tuple[list, list]:
    """Check HEAD's lock against the registry: (problems, notes).

    A pinned digest that no longer exists (or a channel tag that vanished) is a
    problem; a channel tag that moved is a note: it is what the next `lock` reviews.
    """
    from docker_kolla.errors import NotFoundError
    from docker_kolla.ops.common import load_channels, load_lock_at

    _, lock = load_lock_at(repo, channel, "HEAD")
    try:
        chan = load_channels(repo).channels.get(channel)
    except UsageError:
        chan = None  # without channels.toml only the pinned digests can be checked
    problems, notes = [], []
    for name, entry in sorted(lock.images.items()):
        ref = entry.repository
        try:
            client.head_manifest(ref.with_digest(entry.digest))
        except NotFoundError:
            problems.append(f"{name}: pinned digest {entry.digest} no longer exists at {entry.repository}")
            continue
        if chan is None:
            continue
        try:
            now = client.head_manifest(ref.with_tag(chan.tag)).digest
        except NotFoundError:
            problems.append(f"{name}: tag {chan.tag} no longer exists at {entry.repository}")
            continue
        if now is not None and now != entry.digest:
            notes.append(f"{name}: {chan.tag} moved upstream ({now.short}); `docker kolla lock` to review")
    return problems, notes
