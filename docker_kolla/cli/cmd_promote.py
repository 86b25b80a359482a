"""``docker kolla promote CHANNEL --to HOST[/NAMESPACE]``.

Destination repository: ``HOST/NAMESPACE/<last component of the source
repository>``; with ``--to HOST`` alone the source's path (namespace included)
is kept. Exit status: 0 done (or nothing to do); 1 ``--dry-run`` found work, or
an image was refused because its immutable ``:<tag-revision>`` already holds
another digest (a check failure: nothing was overwritten); 3 an image failed
to copy (its destination tags were left untouched; re-run to finish).
"""

from __future__ import annotations

from typing import List, Optional

import typer

from docker_kolla.cli import base, factory, render
from docker_kolla.cli.progress import ImageProgress
from docker_kolla.errors import CheckFailed, KollaError
from docker_kolla.ops import promote as op

_ACTION_TEXT = {"copy": "copy", "tag": "move tag", "present": "already present", "refused": "refused"}
_STATUS_TEXT = {op.PRESENT: "already present"}


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _print_plan(result: op.PromoteResult) -> None:
    rows = [
        (i.target.name, _ACTION_TEXT[i.action], " ".join(i.put_tags) or "-", i.target.digest.short)
        for i in result.plan.items
    ]
    render.table(["image", "plan", "tags to put", "digest"], rows)
    counts = result.plan.counts()
    base.out(
        f"plan for {result.plan.channel} -> {result.plan.destination}: {counts[op.pp.COPY]} to copy, "
        f"{counts[op.pp.TAG]} to re-tag, {counts[op.PRESENT]} already present, {counts[op.REFUSED]} refused"
    )


def _print_result(result: op.PromoteResult) -> None:
    rows = [
        (
            o.item.target.name,
            _STATUS_TEXT.get(o.status, str(o.status)),
            " ".join(o.item.put_tags) or "-",
            o.item.target.digest.short,
            _size(o.stats.bytes_moved),
            _size(o.stats.bytes_mounted),
        )
        for o in result.outcomes
    ]
    render.table(["image", "result", "tags put", "digest", "moved", "mounted"], rows)
    t = result.totals
    counts = ", ".join(f"{len(result.by_status(s))} {_STATUS_TEXT.get(s, s)}" for s in op.STATUSES)
    base.out(
        f"{counts}; {_size(t.bytes_moved)} moved, {_size(t.bytes_mounted)} mounted, {t.manifests_put} manifests put"
    )


def _report_notes(result: op.PromoteResult) -> None:
    for target in result.subsets:
        base.info(
            f"{target.name}: --platform selected a subset: new index {target.digest} (locked {target.locked.short})"
        )
    for item in result.plan.by_action(op.REFUSED):
        base.warn(f"{item.target.name}: refused: {item.reason}")
    for o in result.by_status(op.FAILED):
        base.warn(f"{o.item.target.name}: failed: {o.error}")


def _exit(result: op.PromoteResult, dry_run: bool) -> None:
    failed, refused = result.by_status(op.FAILED), result.plan.by_action(op.REFUSED)
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
) -> None:
    """Copy the images of a lock to another registry by digest; tag :<tag-revision> (immutable) and :<channel>."""
    render.check_format(fmt, ("text", "json"))
    state = base.state()
    client = factory.registry_client(state, insecure=insecure_registry or (), jobs=jobs, timeout=timeout)
    opts = op.PromoteOptions(
        channel=channel,
        to=to,
        rev=lock_rev,
        images=tuple(image or ()),
        platforms=tuple(platform or ()),
        dry_run=dry_run,
        jobs=jobs,
    )
    repo = factory.open_repo(state.repo)
    with repo, factory.copier(client, client, jobs=jobs) as copier, ImageProgress(f"promote {channel}") as progress:
        result = op.run_promote(repo, opts, client, client, copier, progress=progress.update)
    if fmt == "json":
        base.out(render.promote_json(result, render.revision(lock_rev, result.commit), op.STATUSES))
    elif dry_run:
        _print_plan(result)
    else:
        _print_result(result)
    _report_notes(result)
    _exit(result, dry_run)
