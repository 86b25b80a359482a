"""Rendering result objects for humans (rich tables), pull requests (Markdown) and machines (JSON)."""

from __future__ import annotations

import datetime
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


def word(value) -> str:
    """A state or action as a JSON word: enum values unwrapped, kebab-case (``already present`` ->
    ``already-present``)."""
    return str(getattr(value, "value", value)).replace(" ", "-").replace("_", "-")


def revision(typed: str, commit: str | None) -> dict:
    """A lock revision as the user typed it and the full sha it resolved to (None: the work tree)."""
    return {"rev": typed, "commit": commit or None}


def rfc3339(epoch: int | float) -> str:
    """Seconds since the epoch as RFC 3339 UTC (``2026-12-01T09:00:00Z``)."""
    when = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _package(p) -> dict:
    return {"key": p.key, "old": p.old, "new": p.new, "downgrade": bool(getattr(p, "downgrade", False))}


def _diff_counts(d: LockDiff) -> dict:
    kinds = [c.kind for c in d.images]
    counts = {k: kinds.count(k) for k in ("changed", "added", "removed", "rebuilt", "moved")}
    counts["unchanged"] = d.unchanged
    return counts


def diff_json(diffs: list, old: dict, new: dict) -> str:
    """``diff --format json``; ``old``/``new`` from :func:`revision`."""
    channels = [
        {
            "channel": d.channel,
            "counts": _diff_counts(d),
            "images": [
                {
                    "name": c.name,
                    "change": word(c.kind),
                    "old": _pin(c.old),
                    "new": _pin(c.new),
                    "packages": [_package(p) for p in c.packages],
                }
                for c in d.images
            ],
            "package-changes": [{**_package(g.change), "count": g.count, "images": list(g.images)} for g in d.groups],
            "referrers": _referrers_json(d),
            "moves": [{"from": a, "to": b, "images": list(names)} for (a, b), names in d.moves],
        }
        for d in diffs
    ]
    return to_json({"from": old, "to": new, "channels": channels})


def log_json(image: str, channel: str, lock: dict, entries: list) -> str:
    """``log --format json``: the image's revisions, newest first."""

    def change(e) -> str:
        return e.change if e.change in ("added", "removed") else "packages" if e.packages else "digest-only"

    return to_json(
        {
            "image": image,
            "channel": channel,
            "lock": lock,
            "revisions": [
                {
                    "commit": e.commit,
                    "time": rfc3339(e.time),
                    "author": e.author,
                    "revision": e.revision,
                    "tag": e.tag or None,
                    "digest": e.digest or None,
                    "change": change(e),
                    "packages": [_package(p) for p in e.packages],
                }
                for e in entries
            ],
        }
    )


def verify_json(results: list) -> str:
    """``verify --format json``: ``results`` is ``(VerifyResult, remote problems, remote notes)`` per channel."""
    channels = [
        {
            "channel": r.channel,
            "ok": r.ok and not remote_problems,
            "versions": r.versions,
            "mismatches": [
                {"image": m.image, "commit": m.commit, "found": m.found, "expected": m.expected, "line": m.line()}
                for m in r.mismatches
            ],
            "problems": list(r.problems),
            "remote": None if remote_problems is None else {"problems": remote_problems, "notes": notes},
        }
        for r, remote_problems, notes in results
    ]
    problems = sum(
        len(c["mismatches"]) + len(c["problems"]) + len((c["remote"] or {}).get("problems", ())) for c in channels
    )
    return to_json({"channels": channels, "counts": {"channels": len(channels), "problems": problems}})


def inspect_json(image, report) -> str:
    r = report.resolved
    stored = r.to_toml()  # the platform tables keyed by their text, as the lockfile has them
    return to_json(
        {
            "reference": str(image),
            "digest": str(r.digest),
            "media-type": r.media_type,
            "platform": stored["platform"],
            "platforms": stored.get("platforms", {}),
            "manifesto": r.manifesto,
            "platform-manifestos": stored.get("platform-manifestos", {}),
            "labels": r.labels,
            "warnings": report.label_conflicts + report.notes,
        }
    )


def pull_json(result, lock: dict) -> str:
    outcomes = result.outcomes
    counts = {a: sum(1 for o in outcomes if word(o.action) == a) for a in ("pulled", "present", "failed")}
    return to_json(
        {
            "channel": result.channel,
            "lock": lock,
            "counts": counts,
            "images": [
                {
                    "name": o.entry.name,
                    "pinned": o.entry.pinned,
                    "tag": o.entry.tag,
                    "action": word(o.action),
                    "error": o.error or None,
                    "tags": list(o.tags),
                }
                for o in outcomes
            ],
        }
    )


def status_json(report, lock: dict) -> str:
    rows = report.rows
    states = ("in-sync", "behind", "unknown-digest", "not-in-lock")
    counts = {s: sum(1 for r in rows if word(r.state) == s) for s in states}
    counts.update(containers=len(rows), drifted=len(report.drift))
    return to_json(
        {
            "channel": report.channel,
            "lock": lock,
            "counts": counts,
            "containers": [
                {
                    "engine": r.engine,
                    "container": r.container,
                    "image": r.image,
                    "digests": list(r.digests),
                    "state": word(r.state),
                    "behind": r.behind,
                    "running-tag": r.running_tag or None,
                    "locked": {"name": r.entry.name, "tag": r.entry.tag, "digest": str(r.entry.digest)}
                    if r.entry
                    else None,
                    "labels": dict(sorted(r.labels.items())),
                }
                for r in rows
            ],
        }
    )


def _stats(stats) -> dict:
    return {word(k): v for k, v in stats.as_dict().items()}


def promote_json(result, lock: dict, statuses: tuple) -> str:
    """``promote --format json``: the plan, each image's outcome (not with --dry-run), the byte counts."""
    plan = result.plan
    by_name = {o.item.target.name: o for o in result.outcomes}
    images = []
    for i in plan.items:
        row = {
            "name": i.target.name,
            "action": word(i.action),
            "source": str(i.target.source),
            "destination": str(i.target.destination),
            "digest": str(i.target.digest),
            "locked": str(i.target.locked),
            "subset": i.target.subset,
            "tags": list(i.target.tags),
            "put-tags": list(i.put_tags),
            "reason": i.reason or None,
            "status": None,
            "error": None,
            "stats": None,
        }
        outcome = by_name.get(i.target.name)
        if outcome is not None:
            row.update(status=word(outcome.status), error=outcome.error or None, stats=_stats(outcome.stats))
        images.append(row)
    return to_json(
        {
            "channel": plan.channel,
            "destination": plan.destination,
            "lock": lock,
            "dry-run": not result.outcomes,
            "counts": {word(k): v for k, v in plan.counts().items()},
            "statuses": {word(s): len(result.by_status(s)) for s in statuses} if result.outcomes else None,
            "totals": _stats(result.totals),
            "images": images,
        }
    )


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
    """An image as pinned in a lock."""
    if entry is None:
        return None
    return {
        "repository": str(entry.repository),
        "tag": entry.tag,
        "revision": entry.revision,
        "digest": str(entry.digest),
    }


def lock_json(result, *, dry_run: bool, remote: str | None) -> str:
    """``lock --format json`` (documented in README, "lock in CI"): one object, kebab-case keys."""
    from docker_kolla.core.revisions import Outcome

    packages = {c.name: c.packages for c in result.diff.images}
    outcomes = [word(d.outcome) for d in result.decisions]
    doc = {
        "channel": result.channel,
        "counts": {**{word(o): outcomes.count(word(o)) for o in Outcome}, "removed": len(result.removed)},
        "summary": result.summary.splitlines()[0],
        "changed": result.changed,
        "dry-run": dry_run,
        "base": result.base,
        "commit": result.commit,
        "pushed": {"remote": remote, "branch": result.pushed} if result.pushed else None,
        "images": [
            {
                "name": d.entry.name,
                "outcome": word(d.outcome),
                "old": _pin(d.previous),
                "new": _pin(d.entry),
                "packages": [_package(p) for p in packages.get(d.entry.name, ())],
            }
            for d in sorted(result.decisions, key=lambda d: d.entry.name)
        ],
        "removed": list(result.removed),
        "package-changes": [
            {**_package(g.change), "count": g.count, "images": list(g.images)} for g in result.diff.groups
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
