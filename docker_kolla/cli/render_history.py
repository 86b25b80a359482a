"""Rendering history for humans (plain tables), pull requests (Markdown) and machines (JSON):
``diff``, ``log`` (per image and per channel) and ``verify``."""

from __future__ import annotations

import datetime

from docker_kolla.cli.base import out
from docker_kolla.cli.render import package_json, pin, plain_table, rfc3339, short, shown, table, to_json, word
from docker_kolla.core.diff import LockDiff


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
                    "old": pin(c.old),
                    "new": pin(c.new),
                    "packages": [package_json(p) for p in c.packages],
                }
                for c in d.images
            ],
            "package-changes": [
                {**package_json(g.change), "count": g.count, "images": list(g.images)} for g in d.groups
            ],
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
                    "packages": [package_json(p) for p in e.packages],
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


def log_text(entries: list) -> str:
    """``log``: one row per revision, newest first, the first package changes inline."""
    rows = []
    for e in entries:
        when = datetime.datetime.fromtimestamp(e.time, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        shown = () if e.change == "added" else e.packages[:3]
        what = e.change + "".join(f"; {p.key} {p.old or '-'} -> {p.new or '-'}" for p in shown)
        rows.append((e.tag or "-", e.commit[:7], when, e.digest.split(":")[-1][:12], what))
    return plain_table(["TAG", "COMMIT", "DATE (UTC)", "DIGEST", "CHANGE"], rows)


def _referrer_word(r) -> str:
    where = f"{r.platform} " if r.platform else ""
    by = short(r.verified_by) if r.verified_by.startswith("sha256:") else r.verified_by  # a key, or keyless:ID
    how = f", verified by {by}" if r.verified_by else (f", {r.note}" if r.note else "")
    how += f", signed as {r.signed_as}" if r.signed_as else ""
    return f"{where}{r.kind} {short(r.digest)} ({r.found_via}{how})"


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


def diff_markdown(
    diffs: list, old_rev: str, new_rev: str, limit: int = GITHUB_BODY_LIMIT, held: dict | None = None
) -> str:
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
            ["| image | held at | reason | tag upstream |", "| --- | --- | --- | --- |"],
            [
                f"| {h.name} | {h.tag or '—'} `{short(h.digest)}` | {h.reason or '—'} | "
                f"{'moved to `' + short(h.tag_now) + '`' if h.tag_now else '—'} |"
                for h in (held or {}).get(d.channel, [])
            ],
            before=["#### Held", ""],
            after=[""],
        )
        page.table(
            ["| from | to | images |", "| --- | --- | --- |"],
            [f"| `{a}` | `{b}` | {_who(names, d.names, short=True)} |" for (a, b), names in d.moves],
            before=["#### Source changes", ""],
            after=[""],
        )
        page.table(
            ["| package | from | to | images |", "| --- | --- | --- | --- |"],
            [
                f"| `{g.change.key}` | {shown(g.change.old)} | {shown(g.change.new)}"
                f"{' ' + DOWNGRADE if g.change.downgrade else ''} | {_who(g.images, d.names, short=True)} |"
                for g in _downgrades_first(d.groups)
            ],
            before=["#### Package changes", ""],
            after=[""],
        )
        rows = []
        for c in d.images:
            old_d, new_d = short(c.old.digest if c.old else ""), short(c.new.digest if c.new else "")
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


def diff_text(diffs: list, old_rev: str, new_rev: str, held: dict | None = None) -> None:
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
        for h in (held or {}).get(d.channel, []):
            moved = f"; tag moved upstream to {short(h.tag_now)}" if h.tag_now else ""
            out(
                f"  held {h.name} at {h.tag or '-'} ({short(h.digest)})" + (f": {h.reason}" if h.reason else "") + moved
            )
        for g in _downgrades_first(d.groups):
            mark = f" ({DOWNGRADE})" if g.change.downgrade else ""
            out(f"  {g.change.key} {shown(g.change.old)} -> {shown(g.change.new)}{mark} in {_who(g.images, d.names)}")
        rows = []
        for c in d.images:
            digests = f"{short(c.old.digest) if c.old else '-'} -> {short(c.new.digest) if c.new else '-'}"
            rows.append((c.name, _kind(c), _tag(c, "->", "-"), digests))
        table(["IMAGE", "CHANGE", "TAG", "DIGEST"], rows)


def _brief(d: LockDiff) -> str:
    kinds = [c.kind for c in d.images]
    parts = [f"{kinds.count(k)} {word}" for k, word in _KINDS if kinds.count(k)]
    return ", ".join(parts) or "no image changed"


_KINDS = (
    ("added", "added"),
    ("changed", "updated"),
    ("rebuilt", "rebuilt"),
    ("moved", "moved"),
    ("removed", "removed"),
)


def channel_log_text(commits: list) -> None:
    """``log --channel C``: one line per lock commit, newest first."""
    import datetime

    rows = []
    for e in commits:
        when = datetime.datetime.fromtimestamp(e.time, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        rows.append((e.address, e.commit[:7], when, e.images, _brief(e.diff), e.subject))
    table(["lock", "commit", "date (UTC)", "images", "changes", "subject"], rows)


def channel_log_json(channel: str, lock: dict, commits: list) -> str:
    """``log --channel C --format json``: the channel's lock commits, newest first (docs/json.md)."""
    return to_json(
        {
            "channel": channel,
            "lock": lock,
            "locks": [
                {
                    "address": e.address,
                    "commit": e.commit,
                    "time": rfc3339(e.time),
                    "author": e.author,
                    "subject": e.subject,
                    "images": e.images,
                    "counts": {word: sum(1 for c in e.diff.images if c.kind == k) for k, word in _KINDS},
                }
                for e in commits
            ],
        }
    )
