"""Rendering ``status``: the table that fits the terminal, docker-style ``--format`` templates, JSON."""

from __future__ import annotations

import json
import re
from typing import Any

from docker_kolla.cli.render import plain_table, to_json, word
from docker_kolla.errors import UsageError

_ACTION = re.compile(r"{{\s*(.*?)\s*}}")


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
