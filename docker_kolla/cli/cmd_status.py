"""``docker kolla status [CHANNEL]``: running containers against the lock, on one or more engines."""

from __future__ import annotations

import shutil
from typing import List, Optional

import typer

from docker_kolla.cli import base, render, render_status
from docker_kolla.cli.factory import engine_for, open_repo
from docker_kolla.errors import CheckFailed
from docker_kolla.ops.common import pick_channel
from docker_kolla.ops.status import load_history, run_status


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
    fmt: str = typer.Option(
        "text",
        "--format",
        "-f",
        help="text, json, or a template as docker's: '{{.Container}} {{.Tag}}', 'table {{.Name}}\\t{{.Status}}'; "
        "fields: Engine, Container, Image, Name, Tag, Digest, State, Status, Behind, RunningTag, Labels.",
    ),
    labels: bool = typer.Option(False, "--labels", help="Add a LABELS column (JSON always has them)."),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not cut image references to fit the terminal."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only container names."),
) -> None:
    """Report, per running container: image, lock entry, in sync / behind by N revisions / not in the lock.

    The table fits the terminal (COLUMNS, else 100 columns when not on one); labels only with --labels.
    """
    if "{{" not in fmt:
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
        contexts: list[str | None] = list(context) if context else [None]
        for ctx in contexts:
            engine = engine_for(state, ctx)
            engines.append((ctx or engine.endpoint.context, engine))
        report = run_status(engines, history, commit=commit)
    finally:
        for _, engine in engines:
            engine.close()
    if fmt == "json":
        base.out(render_status.status_json(report, render.revision(lock, commit)))
    elif "{{" in fmt:
        base.out(render_status.template_lines(fmt, [render_status.status_fields(r) for r in report.rows]))
    elif quiet:
        base.out("\n".join(r.container for r in report.rows))
    else:
        width = shutil.get_terminal_size((100, 24)).columns
        base.out(render_status.status_text(report, lock, labels=labels, width=width, trunc=not no_trunc))
    if exit_code and report.drift:
        raise CheckFailed(
            f"{len(report.drift)} container(s) not at the lock's pins",
            f"run `docker kolla pull {report.channel} --lock {lock}` and redeploy",
        )
