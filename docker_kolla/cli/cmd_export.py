"""``docker kolla export CHANNEL --format F``: pinned image lists for deployers."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from docker_kolla.cli import base, factory
from docker_kolla.core.exports import FORMATS
from docker_kolla.ops.export import run_export


@base.app.command("export")
def export(
    channel: Optional[str] = typer.Argument(None, help="Channel to export (default: the only locked channel)."),
    fmt: str = typer.Option("kolla-ansible", "--format", "-f", help=f"One of: {', '.join(FORMATS)}."),
    lock: str = typer.Option("HEAD", "--lock", metavar="REV", help="Lock revision: HEAD, HEAD~1, a tag, a SHA."),
    registry: Optional[str] = typer.Option(
        None,
        "--registry",
        metavar="HOST[/NAMESPACE]",
        help="Where the images live for this deploy (e.g. after promote).",
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Write to FILE atomically instead of stdout.", dir_okay=False
    ),
) -> None:
    """Render the lock at REV as kolla-ansible vars (tag-revisions) or digest-pinned kolla-k8s/helm/compose/list/json."""
    state = base.state()
    with factory.open_repo(state.repo) as repo:
        result = run_export(repo, channel, fmt, rev=lock, registry=registry)
    if output is None:
        base.out(result.text)
        return
    from docker_kolla.adapters.fsio import write_output

    write_output(output, result.text)
    base.info(f"wrote {output}: {result.images} images of {result.channel} at {result.commit[:12]} as {fmt}")
