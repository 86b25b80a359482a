"""Rendering result objects for humans (rich tables), pull requests (Markdown) and machines (JSON)."""

from __future__ import annotations

import json

from docker_kolla.cli.base import out
from docker_kolla.core.diff import LockDiff
from docker_kolla.errors import UsageError

FORMATS = ("text", "markdown", "json")
SCHEMA = 1  # bumped when a documented key of docs/json.md changes meaning or goes away


def check_format(fmt: str, allowed=FORMATS) -> str:
    """One spelling of the unknown --format error for every verb."""
    if fmt not in allowed:
        raise UsageError(f"unknown format {fmt!r}", f"use --format {' or '.join(allowed)}")
    return fmt


def to_json(doc: dict) -> str:
    """Every verb's JSON: one object, ``"schema": 1`` first, kebab-case keys, sorted, indented."""
    return json.dumps({"schema": SCHEMA, **doc}, indent=2, sort_keys=True) + "\n"


def version_json(info: dict) -> str:
    return to_json({"version": info["version"], "python": info["python"], "libraries": info["libraries"]})


def version_text(info: dict) -> str:
    lines = [f"docker-kolla version {info['version']}", f" Python:   {info['python']}"]
    lines += [f" {name + ':':<9} {v or '(not installed)'}" for name, v in info["libraries"].items()]
    return "\n".join(lines)


def _v(value) -> str:
    return "(none)" if value is None else value


def _short(digest) -> str:
    text = str(digest) if digest else ""
    return text.split(":", 1)[-1][:12] if text else ""


def diff_json(diffs: list, old_rev: str, new_rev: str) -> str:
    def pin(entry):
        return {"tag": entry.tag, "digest": str(entry.digest), "repository": str(entry.repository)} if entry else None

    def pkg(p) -> dict:
        return {"key": p.key, "old": p.old, "new": p.new, "downgrade": p.downgrade}

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
                        "old": pin(c.old),
                        "new": pin(c.new),
                        "packages": [pkg(p) for p in c.packages],
                    }
                    for c in d.images
                ],
                "referrers": _referrers_json(d),
                "groups": [{**pkg(g.change), "count": g.count, "images": list(g.images)} for g in d.groups],
                "moves": [{"from": a, "to": b, "images": list(names)} for (a, b), names in d.moves],
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
    return to_json(doc)


GITHUB_BODY_LIMIT = 65_536  # characters GitHub accepts in a pull-request body or comment
DETAILS_AFTER = 20  # image rows shown before the table is folded into <details>
DOWNGRADE = "⚠ downgrade"


def _counts(d: LockDiff) -> str:
    kinds = [c.kind for c in d.images]
    text = (
        f"{kinds.count('changed')} updated, {kinds.count('added')} added, {kinds.count('removed')} removed, "
        f"{kinds.count('rebuilt')} rebuilt (digest only), "
    )
    if kinds.count("moved"):
        text += f"{kinds.count('moved')} moved (source only), "
    text += f"{d.unchanged} unchanged"
    downgrades = sum(1 for g in d.groups if g.change.downgrade)
    if downgrades:
        text += f"; {downgrades} package downgrade{'s' if downgrades != 1 else ''}"
    return text


def _who(names: tuple, everyone: tuple, *, short: bool = False) -> str:
    """Every image name, or "all but keystone" when that is shorter to read."""
    n, total = len(names), len(everyone)
    if n == total and n > 1:
        return f"all {n}" if short else f"all {n} images"
    others = [x for x in everyone if x not in set(names)]
    lead = f"{n}" if short else f"{n} image{'s' if n != 1 else ''}"
    if n >= 10 and others and len(others) <= 3:
        return f"{lead}: all but {', '.join(others)}"
    return f"{lead}: {', '.join(names)}"


def _tag(c, arrow: str, none: str) -> str:
    return f"{c.old_tag or none} {arrow} {c.new_tag or none}" if c.old_tag != c.new_tag else c.new_tag


def _kind(c) -> str:
    return c.kind + (f" {DOWNGRADE}" if c.downgrades else "")


class _Page:
    """Markdown lines under a character budget; table rows are added whole or not at all."""

    def __init__(self, limit: int) -> None:
        self.lines: list = []
        self.size = 0
        self.limit = limit
        self.dropped = 0
        self.full = False

    def add(self, *lines: str) -> None:  # headings and closers: always (the budget reserves room)
        for line in lines:
            self.lines.append(line)
            self.size += len(line) + 1

    def table(self, head: list, rows: list, *, before=(), after=()) -> None:
        """``before`` + ``head`` + as many whole rows as fit + ``after``."""
        if not rows:
            return
        if self.full:
            self.dropped += len(rows)
            return
        fixed = sum(len(x) + 1 for x in (*before, *head, *after))
        if self.size + fixed + len(rows[0]) + 1 > self.limit:
            self.full = True
            self.dropped += len(rows)
            return
        self.add(*before, *head)
        for i, row in enumerate(rows):
            if self.size + len(row) + 1 + sum(len(x) + 1 for x in after) > self.limit:
                self.full = True
                self.dropped += len(rows) - i
                break
            self.add(row)
        self.add(*after)


def _downgrades_first(groups) -> list:
    """Downgrades are what a reviewer must not miss, so a truncated table keeps them."""
    return [g for g in groups if g.change.downgrade] + [g for g in groups if not g.change.downgrade]


def diff_markdown(diffs: list, old_rev: str, new_rev: str, limit: int = GITHUB_BODY_LIMIT) -> str:
    """A pull-request body: the counts, source moves (registry, namespace or repository), package
    changes grouped across images (downgrades first), then the per-image table (folded past 20 rows). Fits ``limit`` characters: rows that do not fit
    are left out whole and a note says how many."""
    note_room = 400
    page = _Page(limit - note_room)
    for d in diffs:
        page.add(f"### docker kolla: `{d.channel}` ({old_rev} → {new_rev})", "")
        if d.empty:
            page.add("No image changed.", "")
            continue
        if d.referrers:
            page.add("#### Signatures and attestations", "", *[f"- `{line}`" for line in referrer_lines(d)], "")
        if not d.images:
            continue
        page.add(_counts(d) + ".", "")
        page.table(
            ["| from | to | images |", "| --- | --- | --- |"],
            [f"| `{a}` | `{b}` | {_who(names, d.names, short=True)} |" for (a, b), names in d.moves],
            before=["#### Source changes", ""],
            after=[""],
        )
        page.table(
            ["| package | from | to | images |", "| --- | --- | --- | --- |"],
            [
                f"| `{g.change.key}` | {_v(g.change.old)} | {_v(g.change.new)}"
                f"{' ' + DOWNGRADE if g.change.downgrade else ''} | {_who(g.images, d.names, short=True)} |"
                for g in _downgrades_first(d.groups)
            ],
            before=["#### Package changes", ""],
            after=[""],
        )
        rows = []
        for c in d.images:
            old_d, new_d = _short(c.old.digest if c.old else ""), _short(c.new.digest if c.new else "")
            rows.append(f"| {c.name} | {_kind(c)} | {_tag(c, '→', '—')} | `{old_d or '—'}` → `{new_d or '—'}` |")
        head = ["| image | change | tag | digest |", "| --- | --- | --- | --- |"]
        title = f"#### Images ({len(rows)} changed)"
        if len(rows) > DETAILS_AFTER:
            summary = f"<details><summary>{len(rows)} images changed</summary>"
            page.table(head, rows, before=[title, "", summary, ""], after=["", "</details>", ""])
        else:
            page.table(head, rows, before=[title, ""], after=[""])
    if page.dropped:
        page.add(
            f"_{page.dropped} more table row{'s' if page.dropped != 1 else ''} not shown, to stay under "
            f"GitHub's {limit:,}-character limit; `docker kolla diff {old_rev} {new_rev}` prints them all._",
            "",
        )
    return "\n".join(page.lines)


def diff_text(diffs: list, old_rev: str, new_rev: str) -> None:
    """The counts, source moves, grouped package changes (downgrades first), then the image table."""
    for d in diffs:
        out(f"{d.channel}: {old_rev} -> {new_rev}: {_counts(d)}")
        if d.referrers:
            out("signatures and attestations:")
            for line in referrer_lines(d):
                out(f"  {line}")
        if not d.images:
            continue
        for (a, b), names in d.moves:
            out(f"  moved {a} -> {b}: {_who(names, d.names)}")
        for g in _downgrades_first(d.groups):
            mark = f" ({DOWNGRADE})" if g.change.downgrade else ""
            out(f"  {g.change.key} {_v(g.change.old)} -> {_v(g.change.new)}{mark} in {_who(g.images, d.names)}")
        rows = []
        for c in d.images:
            digests = f"{_short(c.old.digest) if c.old else '-'} -> {_short(c.new.digest) if c.new else '-'}"
            rows.append((c.name, _kind(c), _tag(c, "->", "-"), digests))
        table(["IMAGE", "CHANGE", "TAG", "DIGEST"], rows)


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
