"""``docker kolla merge-driver``: git's custom merge driver for lockfiles, and its installation.

git runs ``merge.docker-kolla.driver`` for paths whose ``.gitattributes`` say
``merge=docker-kolla`` when both sides changed the file: the driver gets the common
ancestor's (%O), our (%A) and their (%B) versions as temporary files, writes the result
to %A, and exits 0 for a clean merge, non-zero for a conflict (gitattributes(5),
"Defining a custom merge driver").
"""

from __future__ import annotations

from dataclasses import dataclass

from docker_kolla.core import lockfile
from docker_kolla.core.merge import Conflict, conflict_text, merge_locks
from docker_kolla.core.revisions import last_seen
from docker_kolla.errors import UsageError
from docker_kolla.ops.common import LOCK_DIR, load_channels, parse_lock

DRIVER = "docker-kolla"
ATTRIBUTE = f"{LOCK_DIR}/*.toml merge={DRIVER}"


@dataclass
class MergeOutcome:
    text: bytes
    conflicts: tuple[Conflict, ...]
    taken: tuple[str, ...]


def run_merge(repo, base: bytes, ours: bytes, theirs: bytes, path: str) -> MergeOutcome:
    """Merge one lockfile; ``path`` is its repository path (git's %P)."""
    a = parse_lock(ours, f"{path} (ours)")
    b = parse_lock(theirs, f"{path} (theirs)")
    o = parse_lock(base, f"{path} (base)") if base.strip() else None
    if a.channel != b.channel:
        raise UsageError(f"{path}: ours locks channel {a.channel!r}, theirs {b.channel!r}", "merge one channel's lock")
    channel = load_channels(repo).get(a.channel)
    history = []
    if not repo.is_empty():
        history = [parse_lock(v.data, f"{path}@{v.commit[:7]}") for v in repo.history(path, "HEAD") if v.data]
    result = merge_locks(o, a, b, channel, last_seen(history))
    if result.conflicts:
        text = conflict_text(result)
    else:
        text = lockfile.dumps(result.lock)
        lockfile.loads(text, path)  # never write what we cannot read back
    return MergeOutcome(text.encode(), result.conflicts, result.taken)


def install(repo, command: str) -> list[str]:
    """Write the .gitattributes line and the repository's ``merge.docker-kolla`` config; what changed."""
    changed = []
    current = repo.worktree_bytes(".gitattributes") or b""
    lines = current.decode("utf-8", "replace").splitlines()
    if ATTRIBUTE not in (line.strip() for line in lines):
        text = current.decode("utf-8", "replace")
        if text and not text.endswith("\n"):
            text += "\n"
        repo.write_worktree(".gitattributes", (text + ATTRIBUTE + "\n").encode())
        changed.append(f".gitattributes: {ATTRIBUTE}")
    settings = {
        "name": "docker-kolla lockfile merge, per image, revisions recomputed",
        "driver": f"{command} merge-driver %O %A %B %P",
        "recursive": "binary",
    }
    for key, value in settings.items():
        if repo.set_config(("merge", DRIVER), key, value):
            changed.append(f"git config merge.{DRIVER}.{key} {value!r}")
    return changed
