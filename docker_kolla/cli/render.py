"""Rendering result objects for humans (rich tables), pull requests (Markdown) and machines (JSON)."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

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


def log_text(entries: list) -> str:
    """``log``: one row per revision, newest first, the first package changes inline."""
    rows = []
    for e in entries:
        when = datetime.datetime.fromtimestamp(e.time, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        shown = () if e.change == "added" else e.packages[:3]
        what = e.change + "".join(f"; {p.key} {p.old or '-'} -> {p.new or '-'}" for p in shown)
        rows.append((e.tag or "-", e.commit[:7], when, e.digest.split(":")[-1][:12], what))
    return plain_table(["TAG", "COMMIT", "DATE (UTC)", "DIGEST", "CHANGE"], rows)


def inspect_text(image, r) -> str:
    """``inspect``: digests, then the manifesto per described platform, then the labels."""
    parts = [f"{image}\n  digest:     {r.digest}\n  media-type: {r.media_type}\n  platform:   {r.platform}"]
    stored = r.to_toml()  # the platform tables keyed by their text, as the lockfile has them
    parts += [f"  {plat}: {dig}" for plat, dig in stored.get("platforms", {}).items()]
    if r.platform_manifestos:  # several platforms described: head each table with its platform
        parts.append(f"\n{r.platform}:")
    parts.append(plain_table(["KEY", "VERSION"], sorted(r.manifesto.items())))
    for plat, facts in stored.get("platform-manifestos", {}).items():
        parts += [f"\n{plat}:", plain_table(["KEY", "VERSION"], sorted(facts.items()))]
    if r.labels:
        parts.append(plain_table(["LABEL", "VALUE"], sorted(r.labels.items())))
    return "\n".join(parts)


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


def size(n: float) -> str:
    """Bytes for humans: ``512 B``, ``1.5 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{int(n)} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


_ACTION_TEXT = {"copy": "copy", "tag": "move tag", "present": "already present", "refused": "refused"}
_STATUS_TEXT = {"present": "already present"}  # a promote outcome (core.states.Step.PRESENT) in text


def promote_plan_text(result, statuses: tuple = (), *, verbose: bool = False) -> str:
    """``promote --dry-run``: the images with work (all with ``verbose``), then the plan's counts."""
    plan = result.plan
    items = [i for i in plan.items if verbose or word(i.action) != "present"]
    rows = [
        (
            i.target.name,
            _ACTION_TEXT.get(word(i.action), word(i.action)),
            " ".join(i.put_tags) or "-",
            i.target.digest.short,
        )
        for i in items
    ]
    counts = {word(k): v for k, v in plan.counts().items()}
    summary = (
        f"plan for {plan.channel} -> {plan.destination}: {counts['copy']} to copy, "
        f"{counts['tag']} to re-tag, {counts['present']} already present, {counts['refused']} refused"
    )
    return "\n".join(([plain_table(["IMAGE", "PLAN", "TAGS TO PUT", "DIGEST"], rows)] if rows else []) + [summary])


def promote_result_text(result, statuses: tuple, *, verbose: bool = False) -> str:
    """``promote``: the images that changed (all with ``verbose``), then counts and bytes."""
    outcomes = [o for o in result.outcomes if verbose or word(o.status) != "present"]
    rows = [
        (
            o.item.target.name,
            _STATUS_TEXT.get(o.status, str(o.status)),
            " ".join(o.item.put_tags) or "-",
            o.item.target.digest.short,
            size(o.stats.bytes_moved),
            size(o.stats.bytes_mounted),
        )
        for o in outcomes
    ]
    t = result.totals
    counts = ", ".join(f"{len(result.by_status(s))} {_STATUS_TEXT.get(s, s)}" for s in statuses)
    summary = f"{counts}; {size(t.bytes_moved)} moved, {size(t.bytes_mounted)} mounted, {t.manifests_put} manifests put"
    table = plain_table(["IMAGE", "RESULT", "TAGS PUT", "DIGEST", "MOVED", "MOUNTED"], rows)
    return "\n".join(([table] if rows else []) + [summary])


def pull_text(result, rev: str, *, verbose: bool = False) -> str:
    """``pull``: the images pulled or failed (all with ``verbose``), then the counts."""
    rows = [
        (o.entry.name, o.entry.tag, o.entry.digest.short, word(o.action), o.error)
        for o in result.outcomes
        if verbose or word(o.action) != "present"
    ]
    summary = (
        f"{result.channel} at {rev} ({result.commit[:12]}): {result.count('pulled')} pulled, "
        f"{result.count('present')} already present, {len(result.failed)} failed"
    )
    return "\n".join(([plain_table(("IMAGE", "TAG", "DIGEST", "RESULT", "DETAIL"), rows)] if rows else []) + [summary])


def _status_word(row) -> str:
    state = word(row.state)
    if state == "behind":
        return f"behind {row.behind} ({row.running_tag or '?'} -> {row.entry.tag})"
    if state == "in-sync":
        return f"in sync ({row.entry.tag})"
    return state.replace("-", " ")


def _ellipsize(text: str, width: int, *, keep_end: bool) -> str:
    """``text`` cut to ``width`` with ``…`` where it was cut: at the front when the end matters
    (a reference's name:tag), else at the back (names)."""
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


def _image_cell(ref: str, trunc: bool) -> str:
    """A reference for the table: a digest shortened to 12 hex digits, so that cutting from the left keeps the name."""
    name, at, digest = ref.partition("@")
    return f"{name}@{digest[:19]}" if trunc and at and len(digest) > 19 else ref


def fit(headers, rows, width: int, shrink) -> list:
    """``rows`` with the columns in ``shrink`` (``(index, floor, keep_end)``, in order) cut until the
    table is at most ``width`` wide, none below its floor."""
    rows = [tuple(str(c) for c in r) for r in rows]
    for index, floor, keep_end in shrink:
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
        excess = sum(widths) + 2 * (len(headers) - 1) - width
        if excess <= 0:
            break
        room = max(floor, len(headers[index]), widths[index] - excess)
        rows = [(*r[:index], _ellipsize(r[index], room, keep_end=keep_end), *r[index + 1 :]) for r in rows]
    return rows


def status_text(report, rev: str, *, labels: bool = False, width: int = 100, trunc: bool = True) -> str:
    """``status``: one row per container, at most ``width`` columns (the image reference is cut
    from the left) unless ``trunc`` is off; labels only when asked for."""
    if not report.rows:
        return f"no running containers ({report.channel} at {rev})"
    headers = ["ENGINE", "CONTAINER", "LOCK ENTRY", "STATUS", "IMAGE"] + (["LABELS"] if labels else [])
    rows = [
        (
            row.engine,
            row.container,
            row.entry.name if row.entry else "-",
            _status_word(row),
            _image_cell(row.image, trunc),
        )
        + ((",".join(f"{k}={v}" for k, v in sorted(row.labels.items())) or "-",) if labels else ())
        for row in report.rows
    ]
    if trunc and not labels:
        rows = fit(headers, rows, width, shrink=((4, 24, True), (1, 16, False), (0, 8, False), (2, 12, False)))
    summary = (
        f"{report.channel} at {rev} ({report.commit[:12]}): {len(report.rows)} containers, {len(report.drift)} drifted"
    )
    return plain_table(headers, rows) + "\n" + summary


def status_fields(row) -> dict:
    """What ``status --format '{{.Field}}'`` can name, per container."""
    entry = row.entry
    return {
        "Engine": row.engine,
        "Container": row.container,
        "Image": row.image,
        "Name": entry.name if entry else "",
        "Tag": entry.tag if entry else "",
        "Digest": str(entry.digest) if entry else "",
        "State": word(row.state),
        "Status": _status_word(row),
        "Behind": row.behind,
        "RunningTag": row.running_tag,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(row.labels.items())),
    }


_ACTION = re.compile(r"{{\s*(.*?)\s*}}")


def template_lines(template: str, records: list) -> str:
    """A small Go-template subset, as docker's ``--format``: ``{{.Field}}``, ``{{json .Field}}``,
    ``{{json .}}``, ``\\t``/``\\n``, and a leading ``table`` for aligned columns with a header."""
    table_mode = template.startswith("table")
    body = template[len("table") :].lstrip() if table_mode else template
    body = body.replace("\\t", "\t").replace("\\n", "\n")
    fields = sorted(records[0]) if records else []

    def value(action: str, record: dict) -> str:
        as_json = action.startswith("json ")
        name = action[5:].strip() if as_json else action
        if name == "." and as_json:
            return json.dumps(record, sort_keys=True)
        if not name.startswith(".") or name[1:] not in record:
            known = ", ".join("." + f for f in (fields or ["Container"]))
            raise UsageError(
                f"unsupported template action {{{{{action}}}}}",
                f"use {{{{.Field}}}} or {{{{json .Field}}}} with a field of: {known}",
            )
        v = record[name[1:]]
        return json.dumps(v) if as_json else str(v)

    def fill(record: dict[str, Any]) -> str:
        return _ACTION.sub(lambda m: value(m.group(1), record), body)

    lines = [fill(r) for r in records]
    if not table_mode:
        return "\n".join(lines)
    header = _ACTION.sub(lambda m: m.group(1).split(".")[-1].upper() or "VALUE", body)
    rows = [line.split("\t") for line in [header, *lines]]
    return plain_table(rows[0], rows[1:])


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
            "referrers": None,
        }
        outcome = by_name.get(i.target.name)
        if outcome is not None:
            row.update(status=word(outcome.status), error=outcome.error or None, stats=_stats(outcome.stats))
            row["referrers"] = outcome.carried  # signatures, attestations, referrers carried
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
    by = _short(r.verified_by) if r.verified_by.startswith("sha256:") else r.verified_by  # a key, or keyless:ID
    how = f", verified by {by}" if r.verified_by else (f", {r.note}" if r.note else "")
    how += f", signed as {r.signed_as}" if r.signed_as else ""
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
                "referrers": [{"kind": r.kind, **r.to_toml()} for r in d.entry.referrers],
            }
            for d in sorted(result.decisions, key=lambda d: d.entry.name)
        ],
        "removed": list(result.removed),
        "package-changes": [
            {**_package(g.change), "count": g.count, "images": list(g.images)} for g in result.diff.groups
        ],
        "warnings": list(result.warnings),
        "held": list(result.held),
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
                f"| {h.name} | {h.tag or '—'} `{_short(h.digest)}` | {h.reason or '—'} | "
                f"{'moved to `' + _short(h.tag_now) + '`' if h.tag_now else '—'} |"
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
            moved = f"; tag moved upstream to {_short(h.tag_now)}" if h.tag_now else ""
            out(
                f"  held {h.name} at {h.tag or '-'} ({_short(h.digest)})"
                + (f": {h.reason}" if h.reason else "")
                + moved
            )
        for g in _downgrades_first(d.groups):
            mark = f" ({DOWNGRADE})" if g.change.downgrade else ""
            out(f"  {g.change.key} {_v(g.change.old)} -> {_v(g.change.new)}{mark} in {_who(g.images, d.names)}")
        rows = []
        for c in d.images:
            digests = f"{_short(c.old.digest) if c.old else '-'} -> {_short(c.new.digest) if c.new else '-'}"
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
