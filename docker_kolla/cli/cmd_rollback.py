"""``docker kolla rollback CHANNEL --to REV``."""

from __future__ import annotations

from typing import List, Optional

import typer

from docker_kolla.cli import base
from docker_kolla.cli.factory import open_repo
from docker_kolla.ops.rollback import run_rollback


@base.app.command("rollback")
def rollback(
    channel: str = typer.Argument(..., help="Channel from lockfiles/channels.toml, e.g. ocata."),
    to: str = typer.Option(..., "--to", metavar="REV", help="The lock to return to: ocata~1, a tag, a SHA."),
    image: Optional[List[str]] = typer.Option(
        None, "--image", "-i", metavar="NAME", help="Roll back only this image (repeatable; default: all)."
    ),
    reason: Optional[str] = typer.Option(None, "--reason", metavar="TEXT", help="Why (goes into the commit message)."),
) -> None:
    """Commit a new lock whose chosen images pin the digests and manifestos of the lock at REV.

    Revisions go forward: nova-api at ocata-3 rolled back to ocata-2's content becomes
    ocata-4 with ocata-2's digest, so published tags are never reused and verify passes.
    """
    with open_repo(base.state().repo) as repo, base.uninterruptible():
        result = run_rollback(repo, channel, to, tuple(image or ()), reason or "")
    base.out(result.message.splitlines()[0])
    for r in result.changed:
        base.out(
            f"- {r.name}: {r.current.tag if r.current else '(not locked)'} -> {r.entry.tag} ({r.entry.digest.short})"
        )
    for name in result.same:
        base.info(f"{name}: already at the content of {to}; unchanged")
    base.info(f"committed {(result.commit or '')[:7]}: lockfiles/{channel}.toml")
