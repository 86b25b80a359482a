"""Rendering result objects for humans (plain tables) and machines (JSON): the shared helpers and
the per-verb formatters of lock, inspect, pull and promote. History (diff, log, verify) is in
:mod:`render_history`, ``status`` in :mod:`render_status`."""

from __future__ import annotations

import datetime
import json

from docker_kolla.cli.base import out
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


def shown(value) -> str:
    return "(none)" if value is None else value


def short(digest) -> str:
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


def package_json(p) -> dict:
    return {"key": p.key, "old": p.old, "new": p.new, "downgrade": bool(getattr(p, "downgrade", False))}


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


def pin(entry) -> dict | None:
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
                "old": pin(d.previous),
                "new": pin(d.entry),
                "packages": [package_json(p) for p in packages.get(d.entry.name, ())],
                "referrers": [{"kind": r.kind, **r.to_toml()} for r in d.entry.referrers],
            }
            for d in sorted(result.decisions, key=lambda d: d.entry.name)
        ],
        "removed": list(result.removed),
        "package-changes": [
            {**package_json(g.change), "count": g.count, "images": list(g.images)} for g in result.diff.groups
        ],
        "warnings": list(result.warnings),
        "held": list(result.held),
    }
    return to_json(doc)


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


def attach_table(outcomes) -> None:
    """``attach``: one row per image; a signature column when a key signed the artifacts."""
    signed = any(o.signature for o in outcomes)
    columns = ["image", "result", "artifact", "repository"] + (["signature"] if signed else [])
    rows = [
        (o.name, o.status, o.artifact.split(":")[1][:12], o.repository) + ((o.signature,) if signed else ())
        for o in outcomes
    ]
    table(columns, rows)
