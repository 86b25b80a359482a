"""Rendering result objects for humans (rich tables), pull requests (Markdown) and machines (JSON)."""

from __future__ import annotations

import json

from docker_kolla.cli.base import out
from docker_kolla.core.diff import LockDiff

FORMATS = ("text", "markdown", "json")


def _v(value) -> str:
    return "(none)" if value is None else value


def _short(digest) -> str:
    text = str(digest) if digest else ""
    return text.split(":", 1)[-1][:12] if text else ""


def diff_json(diffs: list, old_rev: str, new_rev: str) -> str:
    doc = {"from": old_rev, "to": new_rev, "channels": []}
    for d in diffs:
        doc["channels"].append(
            {
                "channel": d.channel,
                "unchanged": d.unchanged,
                "images": [
                    {
                        "name": c.name,
                        "change": c.kind,
                        "old": {"tag": c.old.tag, "digest": str(c.old.digest)} if c.old else None,
                        "new": {"tag": c.new.tag, "digest": str(c.new.digest)} if c.new else None,
                        "packages": [{"key": p.key, "old": p.old, "new": p.new} for p in c.packages],
                    }
                    for c in d.images
                ],
                "referrers": _referrers_json(d),
                "groups": [
                    {
                        "key": g.change.key,
                        "old": g.change.old,
                        "new": g.change.new,
                        "count": g.count,
                        "images": list(g.images),
                    }
                    for g in d.groups
                ],
            }
        )
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _referrer_word(r) -> str:
    where = f"{r.platform} " if r.platform else ""
    how = f", verified by {_short(r.verified_by)}" if r.verified_by else (f", {r.note}" if r.note else "")
    return f"{where}{r.kind} {_short(r.digest)} ({r.found_via}{how})"


def referrer_lines(d: LockDiff) -> list:
    """One line per signature/attestation added (+) or removed (-), by image."""
    return [
        f"{c.name}: {sign} {_referrer_word(r)}"
        for c in d.referrers
        for sign, group in (("+", c.added), ("-", c.removed))
        for r in group
    ]


def _referrers_json(d: LockDiff) -> list:
    def one(r) -> dict:
        return {"kind": r.kind, **r.to_toml()}

    return [
        {"name": c.name, "added": [one(r) for r in c.added], "removed": [one(r) for r in c.removed]}
        for c in d.referrers
    ]


def _pin(entry) -> dict | None:
    if entry is None:
        return None
    return {"tag": entry.tag, "revision": entry.revision, "digest": str(entry.digest)}


def _packages(changes) -> list:
    return [{"key": p.key, "old": p.old, "new": p.new} for p in changes]


def lock_json(result, *, dry_run: bool, remote: str | None) -> str:
    """``lock --format json`` (documented in README, "lock in CI"): one object, kebab-case keys."""
    packages = {c.name: c.packages for c in result.diff.images}
    doc = {
        "schema": 1,
        "channel": result.channel,
        "summary": result.summary.splitlines()[0],
        "changed": result.changed,
        "dry-run": dry_run,
        "base": result.base,
        "commit": result.commit,
        "pushed": {"remote": remote, "branch": result.pushed} if result.pushed else None,
        "images": [
            {
                "image": d.entry.name,
                "outcome": d.outcome.value,
                "old": _pin(d.previous),
                "new": _pin(d.entry),
                "packages": _packages(packages.get(d.entry.name, ())),
            }
            for d in sorted(result.decisions, key=lambda d: d.entry.name)
        ],
        "removed": list(result.removed),
        "package-changes": [
            {"key": g.change.key, "old": g.change.old, "new": g.change.new, "images": list(g.images)}
            for g in result.diff.groups
        ],
        "warnings": list(result.warnings),
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _counts(d: LockDiff) -> str:
    kinds = [c.kind for c in d.images]
    return (
        f"{kinds.count('changed')} updated, {kinds.count('added')} added, {kinds.count('removed')} removed, "
        f"{kinds.count('rebuilt')} rebuilt (digest only), {d.unchanged} unchanged"
    )


def diff_markdown(diffs: list, old_rev: str, new_rev: str) -> str:
    lines = []
    for d in diffs:
        lines.append(f"### docker kolla: `{d.channel}` ({old_rev} → {new_rev})")
        lines.append("")
        if d.empty:
            lines += ["No image changed.", ""]
            continue
        if d.referrers:
            lines += ["#### Signatures and attestations", ""] + [f"- `{line}`" for line in referrer_lines(d)] + [""]
        if not d.images:
            continue
        lines += [_counts(d) + ".", "", "| image | change | tag | digest |", "| --- | --- | --- | --- |"]
        for c in d.images:
            tag = f"{c.old_tag or '—'} → {c.new_tag or '—'}" if c.old_tag != c.new_tag else c.new_tag
            old_d, new_d = _short(c.old.digest if c.old else ""), _short(c.new.digest if c.new else "")
            lines.append(f"| {c.name} | {c.kind} | {tag} | `{old_d or '—'}` → `{new_d or '—'}` |")
        if d.groups:
            lines += ["", "#### Package changes", "", "| package | from | to | images |", "| --- | --- | --- | --- |"]
            for g in d.groups:
                names = ", ".join(g.images[:8]) + (", …" if g.count > 8 else "")
                lines.append(f"| `{g.change.key}` | {_v(g.change.old)} | {_v(g.change.new)} | {g.count}: {names} |")
        lines.append("")
    return "\n".join(lines)


def diff_text(diffs: list, old_rev: str, new_rev: str) -> None:
    for d in diffs:
        out(f"{d.channel}: {old_rev} -> {new_rev}: {_counts(d)}")
        if d.referrers:
            out("signatures and attestations:")
            for line in referrer_lines(d):
                out(f"  {line}")
        if not d.images:
            continue
        rows = []
        for c in d.images:
            tag = f"{c.old_tag or '-'} -> {c.new_tag or '-'}" if c.old_tag != c.new_tag else c.new_tag
            digests = f"{_short(c.old.digest) if c.old else '-'} -> {_short(c.new.digest) if c.new else '-'}"
            rows.append((c.name, c.kind, tag, digests))
        table(["IMAGE", "CHANGE", "TAG", "DIGEST"], rows)
        for g in d.groups:
            out(
                f"  {g.change.key} {_v(g.change.old)} -> {_v(g.change.new)} in {g.count} "
                f"image{'s' if g.count != 1 else ''}"
            )


def plain_table(headers, rows) -> str:
    """Columns aligned with two spaces, never wrapped, cut or markup-parsed: stdout is often a
    pipe or a log, and cells hold image-controlled text (labels)."""
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [tuple(headers), *rows]]
    return "\n".join(lines)


def table(columns, rows) -> None:
    """A plain table on stdout."""
    out(plain_table([c.upper() for c in columns], rows))
