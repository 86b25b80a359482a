"""``docker kolla promote CHANNEL --to HOST[/NAMESPACE]``.

Destination repository: ``HOST/NAMESPACE/<last component of the source
repository>``; with ``--to HOST`` alone the source's path (namespace included)
is kept. Exit status: 0 done (or nothing to do); 1 ``--dry-run`` found work, or
an image was refused because its immutable ``:<tag-revision>`` already holds
another digest (a check failure: nothing was overwritten); 3 an image failed
to copy (its destination tags were left untouched; re-run to finish).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from docker_kolla.cli import base, factory, render
from docker_kolla.cli.cmd_supply import SIGN_KEY_HELP, signing_key
from docker_kolla.cli.progress import ImageProgress
from docker_kolla.errors import CheckFailed, KollaError, UsageError
from docker_kolla.ops import promote as op


def _report_notes(result: op.PromoteResult) -> None:
    for target in result.subsets:
        base.info(
            f"{target.name}: --platform selected a subset: new index {target.digest} (locked {target.locked.short})"
        )
    for item in result.plan.by_action(op.REFUSED):
        base.warn(f"{item.target.name}: refused: {item.reason}")
    for o in result.by_status(op.FAILED):
        base.warn(f"{o.item.target.name}: failed: {o.error}")
    for o in result.by_status(op.UNVERIFIED):
        base.warn(f"{o.item.target.name}: not promoted: {o.error}")


def _exit(result: op.PromoteResult, dry_run: bool) -> None:
    failed, refused = result.by_status(op.FAILED), result.plan.by_action(op.REFUSED)
    unverified = result.by_status(op.UNVERIFIED)
    if unverified and not failed:
        raise CheckFailed(
            f"{len(unverified)} image(s) not promoted, signature not verified at the source: "
            + "; ".join(f"{o.item.target.name} ({o.error})" for o in unverified),
            "sign them with a key listed in the channel's [trust] keys; nothing was copied for them",
        )
    if failed:
        raise KollaError(
            f"{len(failed)} image(s) failed to copy; their destination tags are unchanged",
            "fix the cause above and run the same promote again: it copies only what is missing",
        )
    if refused:
        raise CheckFailed(
            f"{len(refused)} image(s) refused: the destination's immutable tag holds another digest",
            "delete that tag at the destination deliberately, or lock a new revision",
        )
    if dry_run and result.plan.has_work:
        raise CheckFailed()


def _attach(client, repo, result: op.PromoteResult, opts: op.PromoteOptions, jobs: int, key=None) -> list:
    """--attach-manifesto: for every image now at the destination with its locked digest
    (signed with ``key``, from --sign-key)."""
    from docker_kolla.cli.cmd_supply import attach_lock

    done = [
        o.item.target.name
        for o in result.outcomes
        if o.status in (op.COPIED, op.TAGGED, op.PRESENT) and not o.item.target.subset
    ]
    if not done:
        return []
    channel = result.plan.channel
    return attach_lock(client, repo, channel, opts.rev, opts.to, tuple(done), jobs, key)


@base.app.command("promote")
def promote(
    channel: str = typer.Argument(..., help="Channel whose lock to promote, e.g. ocata."),
    to: str = typer.Option(..., "--to", metavar="HOST[/NS]", help="Destination HOST[:PORT][/NAMESPACE]."),
    lock_rev: str = typer.Option("HEAD", "--lock", metavar="REV", help="Lock revision: HEAD, HEAD~1, a tag, a SHA."),
    image: Optional[List[str]] = typer.Option(None, "--image", "-i", help="Promote only this image (repeatable)."),
    platform: Optional[List[str]] = typer.Option(
        None, "--platform", help="Copy only this platform (repeatable); makes a new index."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; exit 1 if there is work to do."),
    jobs: int = typer.Option(8, "--jobs", "-j", min=1, max=64, help="Parallel images (and blobs per image)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    insecure_registry: Optional[List[str]] = typer.Option(
        None, "--insecure-registry", help="Plain HTTP to this host (repeatable)."
    ),
    timeout: Optional[float] = base.timeout_option(),
    verify: bool = typer.Option(
        False, "--verify", help="Re-fetch and verify each signature at the source first; copy nothing that fails."
    ),
    referrers: str = typer.Option(
        "all", "--referrers", help="Carry signatures, attestations and referrers: all, signatures or none."
    ),
    attach_manifesto: bool = typer.Option(
        False, "--attach-manifesto", help="Also push each promoted digest's manifesto as an OCI artifact (see attach)."
    ),
    sign_key: Optional[Path] = typer.Option(None, "--sign-key", metavar="FILE", help=SIGN_KEY_HELP),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="List every image, also those already present at the destination."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but warnings and errors."),
) -> None:
    """Copy the images of a lock to another registry by digest; tag :<tag-revision> (immutable) and :<channel>.

    Prints what changed (or, with --dry-run, what would) and a summary; --verbose lists every image.
    """
    render.check_format(fmt, ("text", "json"))
    if sign_key is not None and not attach_manifesto:
        raise UsageError("--sign-key signs the attached manifestos", "add --attach-manifesto, or drop --sign-key")
    key = signing_key(sign_key)  # before any copy: a bad key or password changes nothing
    state = base.state()
    # each of the `jobs` images waits on its blobs: the blob workers (HEADs, mounts, uploads)
    # are twice as many, and the pool keeps a connection for every worker of both kinds
    blob_jobs = 2 * jobs
    client = factory.registry_client(state, insecure=insecure_registry or (), jobs=jobs + blob_jobs, timeout=timeout)
    opts = op.PromoteOptions(
        channel=channel,
        to=to,
        rev=lock_rev,
        images=tuple(image or ()),
        platforms=tuple(platform or ()),
        dry_run=dry_run,
        jobs=jobs,
        verify=verify,
        referrers=referrers,
        discoverer=factory.discoverer,
    )
    repo = factory.open_repo(state.repo)
    with (
        repo,
        factory.copier(client, client, jobs=blob_jobs) as copier,
        ImageProgress(f"promote {channel}") as progress,
    ):
        result = op.run_promote(
            repo,
            opts,
            client,
            client,
            copier,
            progress=progress.update,
            on_plan=lambda p: progress.set_total(len(p.items)),
        )
        attached = _attach(client, repo, result, opts, jobs, key) if attach_manifesto and not dry_run else []
    if attached:
        signed = f", signed by {key.fingerprint}" if key is not None else ""
        base.info(f"attached the manifesto to {len(attached)} promoted image(s){signed}")
    carried = sum(o.carried for o in result.outcomes)
    if carried:
        base.info(f"carried {carried} signature, attestation and referrer manifest(s) to the destination")
    if fmt == "json":
        base.out(render.promote_json(result, render.revision(lock_rev, result.commit), op.STATUSES))
    elif not quiet:
        text = render.promote_plan_text if dry_run else render.promote_result_text
        base.out(text(result, op.STATUSES, verbose=verbose))
    _report_notes(result)
    _exit(result, dry_run)
