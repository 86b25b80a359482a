"""``docker kolla lock CHANNEL``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import List, Optional

import typer

from docker_kolla.cli import base, factory, prestart, render
from docker_kolla.errors import CheckFailed


@base.app.command("lock")
def lock(
    channel: str = typer.Argument(..., help="Channel from lockfiles/channels.toml, e.g. ocata."),
    image: Optional[List[str]] = typer.Option(None, "--image", "-i", help="Lock only this image (repeatable)."),
    exclude: Optional[List[str]] = typer.Option(
        None, "--exclude", metavar="GLOB", help="Leave images matching GLOB as they are (repeatable)."
    ),
    registry: Optional[str] = typer.Option(None, "--registry", help="Resolve from this registry instead."),
    namespace: Optional[str] = typer.Option(None, "--namespace", help="Resolve from this namespace instead."),
    no_commit: bool = typer.Option(False, "--no-commit", help="Write the lockfile, do not commit."),
    branch: Optional[str] = typer.Option(None, "--branch", help="Commit on this branch; work tree and HEAD untouched."),
    push: Optional[str] = typer.Option(None, "--push", metavar="REMOTE", help="Push the branch to REMOTE (bare)."),
    bump_on: Optional[str] = typer.Option(None, "--bump-on", help="manifesto (default) or digest."),
    jobs: int = typer.Option(
        prestart.LOCK_JOBS,
        "--jobs",
        "-j",
        min=1,
        max=64,
        help="Parallel registry requests (latency-bound: a HEAD is ~1 round trip).",
    ),
    insecure_registry: Optional[List[str]] = typer.Option(None, "--insecure-registry", help="Plain HTTP to this host."),
    accept_moved: bool = typer.Option(False, "--accept-moved", help="Take moved release tags of static channels."),
    strict_labels: bool = typer.Option(
        False, "--strict-labels", help="Fail when a version label disagrees with the content."
    ),
    cache_dir: Optional[Path] = typer.Option(
        None,
        "--cache-dir",
        metavar="DIR",
        help="Layer scan cache (default: $DOCKER_KOLLA_CACHE, else ~/.cache/docker-kolla).",
    ),
    refresh_referrers: bool = typer.Option(
        False, "--refresh-referrers", help="Re-discover signatures and attestations of unchanged images too."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute and print the summary and diff; write nothing."),
    trust_attached: bool = typer.Option(
        False,
        "--trust-attached-manifesto",
        help="Use a new digest's attached manifesto instead of scanning its layers when a trusted key signed it.",
    ),
    exit_code: bool = typer.Option(
        False, "--exit-code", help="Exit 1 when the lock changed (or, with --dry-run, would change); 0 when not."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the summary line."),
    timeout: Optional[float] = base.timeout_option(),
) -> None:
    """Resolve every image of CHANNEL to a digest, read its manifesto, revision it, commit the lockfile."""
    if bump_on not in (None, "manifesto", "digest"):
        raise typer.BadParameter("must be 'manifesto' or 'digest'", param_hint="--bump-on")
    if no_commit and (branch or push):
        raise typer.BadParameter("--no-commit cannot be combined with --branch or --push", param_hint="--no-commit")
    render.check_format(fmt, ("text", "json"))
    state = base.state()
    # a re-lock's critical path is its first HEAD: start them from the work tree's channels.toml
    # now, and load git, the lockfile model and the renderers while they are on the wire
    with contextlib.ExitStack() as stack:
        client, early = prestart.take(
            state,
            channel,
            image=image or (),
            exclude=exclude or (),
            registry=registry,
            namespace=namespace,
            insecure=insecure_registry or (),
            jobs=jobs,
            timeout=timeout,
        )
        if early is not None:
            stack.callback(early.cancel)  # idempotent: plan_lock took them over or cancelled them
        from docker_kolla.cli.progress import ImageProgress
        from docker_kolla.ops.common import load_channels
        from docker_kolla.ops.lock import LockOptions, apply_lock, plan_lock

        repo = stack.enter_context(factory.open_repo(state.repo))
        config = load_channels(repo)
        chan = config.get(channel)
        client = client or factory.registry_client(state, insecure=insecure_registry or (), jobs=jobs, timeout=timeout)
        resolver = factory.resolver(state, client, chan, cache_dir=cache_dir)
        opts = LockOptions(
            channel=channel,
            images=tuple(image or ()),
            exclude=tuple(exclude or ()),
            registry=registry,
            namespace=namespace,
            commit=not no_commit,
            branch=branch,
            push=push,
            bump_on=bump_on,
            jobs=jobs,
            accept_moved=accept_moved,
            strict_labels=strict_labels,
            refresh_referrers=refresh_referrers,
            dry_run=dry_run,
            trust_attached=trust_attached,
            discoverer=factory.discoverer,
        )
        total = len(image or ()) or len(chan.images + chan.optional_images)
        with ImageProgress(f"lock {channel}", total) as progress, prestart.answers_first(early is not None):
            result = plan_lock(repo, resolver, opts, progress=progress.update, config=config, early=early)
        with base.uninterruptible():
            apply_lock(repo, result, opts)
    for line in result.warnings:
        base.warn(line)
    if fmt == "json":
        base.out(render.lock_json(result, dry_run=dry_run, remote=push))
    elif quiet:
        base.out(result.summary.splitlines()[0])
    else:
        _report(result, client, channel, branch, push, dry_run)
    for refusal in result.refused:
        base.warn(f"refused by the trust policy: {refusal.line()}")
    if result.refused:
        names = ", ".join(r.name for r in result.refused)
        raise CheckFailed(
            f"the trust policy of channel {channel} refused: {names}; kept their locked entries",
            "sign the images with a key listed in [trust] keys, or change the channel's trust policy",
        )
    if result.moved:
        names = ", ".join(d.entry.name for d in result.moved)
        raise CheckFailed(
            f"release tag {chan.tag} moved upstream for: {names}; kept the locked digests",
            "pass --accept-moved to take the new digests",
        )
    if exit_code and result.changed:
        raise CheckFailed()


def _report(result, client, channel: str, branch, push, dry_run: bool) -> None:
    """The human report: summary on stdout, what was written and pushed on stderr."""
    from docker_kolla.cli import render_history
    from docker_kolla.core.revisions import Outcome

    for d in result.by_outcome(Outcome.REBUILT):
        base.info(f"{d.entry.name}: rebuilt without version change (kept {d.entry.tag}, {d.entry.digest.short})")
    base.out(result.summary)
    if dry_run:
        if result.changed:
            render_history.diff_text([result.diff], (result.base or "")[:7] or "(none)", "dry run")
        base.info(
            f"dry run: lockfiles/{channel}.toml {'would change' if result.changed else 'unchanged'}; nothing written"
        )
        return
    if result.commit:
        where = f" on branch {branch}" if branch else ""
        base.info(f"committed {result.commit[:7]}{where}: lockfiles/{channel}.toml")
    elif result.written:
        base.info(f"wrote lockfiles/{channel}.toml (not committed)")
    else:
        base.info(f"lockfiles/{channel}.toml unchanged; nothing committed")
    limit = getattr(client.stats, "ratelimit_limit", "")
    if limit:  # Docker Hub counts manifest GETs; HEADs (all a warm re-lock makes) are free
        remaining = client.stats.ratelimit_remaining.split(";")[0]
        base.info(f"registry pull limit: {remaining} of {limit.split(';')[0]} left in this window")
    if result.pushed:
        base.info(f"pushed {result.pushed} to {push}")
    elif result.push_skipped:
        base.info("no change, nothing pushed")
