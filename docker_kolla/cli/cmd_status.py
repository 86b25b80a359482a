"""``docker kolla status [CHANNEL]``: running containers against the lock, on one or more engines."""

from __future__ import annotations

from typing import List, Optional

import typer

from docker_kolla.cli import base, render
from docker_kolla.cli.factory import engine_for, open_repo
from docker_kolla.errors import CheckFailed
from docker_kolla.ops.common import pick_channel
from docker_kolla.ops.status import BEHIND, IN_SYNC, load_history, run_status


@base.app.command("status")
def status(
    channel: Optional[str] = typer.Argument(None, help="Channel to compare with (default: the only locked channel)."),
    lock: str = typer.Option("HEAD", "--lock", metavar="REV", help="Lock revision: HEAD, HEAD~1, a tag, a SHA."),
    context: Optional[List[str]] = typer.Option(
        None,
        "--context",
        "-c",
        metavar="NAME",
        help="Docker context to scan (repeatable; default: the current engine).",
    ),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when a locked image is behind or unknown."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """Report, per running container: image, lock entry, in sync / behind by N revisions / not in the lock, labels."""
    render.check_format(fmt, ("text", "json"))
    state = base.state()
    repo = open_repo(state.repo)
    try:
        name = pick_channel(repo, channel, lock, example="docker kolla status {channel}")
        commit, history = load_history(repo, name, lock)
    finally:
        repo.close()
    engines = []
    try:
        for ctx in context or [None]:
            engine = engine_for(state, ctx)
            engines.append((ctx or engine.endpoint.context, engine))
        report = run_status(engines, history, commit=commit)
    finally:
        for _, engine in engines:
            engine.close()
    if fmt == "json":
        base.out(render.status_json(report, render.revision(lock, commit)))
    else:
        _table(report, lock)
    if exit_code and report.drift:
        raise CheckFailed(
            f"{len(report.drift)} container(s) not at the lock's pins",
            f"run `docker kolla pull {report.channel} --lock {lock}` and redeploy",
        )


def _state_text(row) -> str:
    if row.state == BEHIND:
        plural = "" if row.behind == 1 else "s"
        return f"behind by {row.behind} revision{plural} ({row.running_tag} -> {row.entry.tag})"
    if row.state == IN_SYNC:
        return f"in sync ({row.entry.tag})"
    return row.state.replace("-", " ")


def _table(report, rev: str) -> None:
    if not report.rows:
        base.out(f"no running containers ({report.channel} at {rev})")
        return
    rows = [
        (
            row.engine,
            row.container,
            row.entry.name if row.entry else "-",
            _state_text(row),
            row.image,
            ",".join(f"{k}={v}" for k, v in sorted(row.labels.items())) or "-",
        )
        for row in report.rows
    ]
    base.out(render.plain_table(("ENGINE", "CONTAINER", "LOCK ENTRY", "STATUS", "IMAGE", "LABELS"), rows))
    base.out(
        f"{report.channel} at {rev} ({report.commit[:12]}): {len(report.rows)} containers, {len(report.drift)} drifted"
    )
