"""The summary of a ``lock`` run: its first line says what changed, then one line per image
changed, removed or held, then the package changes shared by several images. Printed on
stdout and used as the commit message, so a reviewer reads the same text in both places."""

from __future__ import annotations

from docker_kolla.core.revisions import Outcome


def summary_text(result) -> str:
    """The run's summary (an ``ops.lock.LockResult``): printed on stdout and used as the commit message."""
    counts = {o: len(result.by_outcome(o)) for o in Outcome}
    changed = [
        d
        for d in result.decisions
        if d.outcome in (Outcome.NEW, Outcome.BUMPED, Outcome.REPLACED, Outcome.ACCEPTED_MOVE)
    ]
    title = f"lock {result.channel}: "
    parts = []
    if counts[Outcome.NEW]:
        parts.append(f"{counts[Outcome.NEW]} new")
    bumped = counts[Outcome.BUMPED] + counts[Outcome.REPLACED] + counts[Outcome.ACCEPTED_MOVE]
    if bumped:
        parts.append(f"{bumped} updated")
    if result.removed:
        parts.append(f"{len(result.removed)} removed")
    moved = sum(1 for c in result.diff.images if c.kind == "moved")
    if moved:
        parts.append(f"{moved} moved")
    title += ", ".join(parts) if parts else "no change"
    lines = [title, ""]
    for d in sorted(changed, key=lambda d: d.entry.name):
        old = f"{d.previous.tag} -> " if d.previous else ""
        lines.append(f"- {d.entry.name}: {old}{d.entry.tag} ({d.entry.digest.short})")
    for name in result.removed:
        lines.append(f"- {name}: removed")
    for h in result.held:
        upstream = f"; tag moved upstream to {h['tag-now']}" if h["tag-now"] else ""
        lines.append(f"- {h['name']}: held at {h['tag']}" + (f" ({h['reason']})" if h["reason"] else "") + upstream)
    for group in result.diff.groups[:20]:
        c = group.change
        lines.append(
            f"  {c.key} {c.old or '(none)'} -> {c.new or '(none)'}{' (downgrade)' if c.downgrade else ''}"
            f" in {group.count} image{'s' if group.count != 1 else ''}"
        )
    return "\n".join(lines).rstrip() + "\n"
