"""``docker kolla export CHANNEL --format F``: pinned image lists for deployers."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

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
    kolla_ansible: Optional[str] = typer.Option(
        None,
        "--kolla-ansible",
        metavar="RELEASE",
        help="Write variables for this kolla-ansible release or version (default: the channel's kolla-ansible key).",
    ),
    full: bool = typer.Option(False, "--full", help="kolla-ansible: one <container>_image_full line per container."),
    no_check: bool = typer.Option(
        False, "--no-check", help="kolla-ansible: do not check that the tag-revisions exist at the registry."
    ),
    insecure_registry: Optional[List[str]] = typer.Option(
        None, "--insecure-registry", help="Plain HTTP to this host (repeatable)."
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Write to FILE atomically instead of stdout.", dir_okay=False
    ),
) -> None:
    """Render the lock at REV as kolla-ansible vars (tag-revisions) or digest-pinned kolla-k8s/helm/compose/list/json.

    A kolla-ansible export first checks (one HEAD per image) that every tag-revision it names
    exists at the export's registry with the locked digest: they exist only after `promote`.
    """
    state = base.state()
    client = None
    if fmt == "kolla-ansible" and not no_check:
        client = factory.registry_client(state, insecure=insecure_registry or ())
    try:
        with factory.open_repo(state.repo) as repo:
            result = run_export(
                repo, channel, fmt, rev=lock, registry=registry, kolla_ansible=kolla_ansible, full=full, client=client
            )
    finally:
        if client is not None:
            client.close()
    if output is None:
        base.out(result.text)
        return
    from docker_kolla.adapters.fsio import write_output

    write_output(output, result.text)
    checked = f"; {result.checked} tag-revisions found at the registry with the locked digest" if result.checked else ""
    base.info(f"wrote {output}: {result.images} images of {result.channel} at {result.commit[:12]} as {fmt}{checked}")
