"""``diff``, ``log`` and ``verify``: commands that read locks back out of git history."""

from __future__ import annotations

from typing import List, Optional

import typer

from docker_kolla.cli import base, render, render_history
from docker_kolla.cli.factory import open_repo
from docker_kolla.errors import CheckFailed, UsageError
from docker_kolla.ops.common import load_channels, pick_channel, resolve_rev
from docker_kolla.ops.diff import run_diff
from docker_kolla.ops.log import run_channel_log, run_log
from docker_kolla.ops.verify import run_verify


@base.app.command("diff")
def diff(
    revs: Optional[List[str]] = typer.Argument(
        None,
        metavar="[REV [REV2]] | [A..B]",
        help="Revisions as git users type them (HEAD~2, main^, tags, short SHAs).",
    ),
    lock: Optional[str] = typer.Option(
        None, "--lock", metavar="REV", help="Compare the lock at REV with the work tree (same as `diff REV`)."
    ),
    channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, markdown (for a pull request) or json."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when anything changed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing; exit 1 when anything changed."),
) -> None:
    """What changed between two locks: images, tag-revisions, digests, package versions.

    `diff` alone compares HEAD with the work tree, `diff REV` REV with the work tree,
    `diff A B` or `diff A..B` two commits.
    """
    render.check_format(fmt)
    if lock and revs:
        raise UsageError("give the revision once", "use either `diff REV [REV2]` or `diff --lock REV`")
    with open_repo(base.state().repo) as repo:
        result = run_diff(repo, [lock] if lock else list(revs or []), channel)
    if quiet:
        if not result.empty:
            raise CheckFailed()
        return
    if fmt == "json":
        old = render.revision(result.old_rev, result.old_commit)
        base.out(render_history.diff_json(result.diffs, old, render.revision(result.new_rev, result.new_commit)))
    elif fmt == "markdown":
        base.out(render_history.diff_markdown(result.diffs, result.old_rev, result.new_rev, held=result.held))
    else:
        render_history.diff_text(result.diffs, result.old_rev, result.new_rev, held=result.held)
    if exit_code and not result.empty:
        raise CheckFailed()


@base.app.command("log")
def log(
    image: Optional[str] = typer.Argument(
        None, help="Image name as in the lock, e.g. nova-api; without it, one line per lock commit of the channel."
    ),
    channel: Optional[str] = typer.Option(None, "--channel", help="Channel (default: the only locked one)."),
    rev: str = typer.Option(
        "HEAD", "--lock", "--rev", metavar="REV", help="Start from the lock at this revision (--rev is an alias)."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the tag-revisions, newest first."),
) -> None:
    """The revision history of one image (revision, commit, date, digest, what changed), or of a channel."""
    render.check_format(fmt, ("text", "json"))
    with open_repo(base.state().repo) as repo:
        example = f"docker kolla log {image or ''} --channel {{channel}}".replace("  ", " ")
        name = pick_channel(repo, channel, rev, example=example)
        commit = resolve_rev(repo, rev)
        if image is None:
            commits = run_channel_log(repo, name, rev)
        else:
            entries = run_log(repo, image, name, rev)
    if image is None:
        if fmt == "json":
            base.out(render_history.channel_log_json(name, render.revision(rev, commit), commits))
        else:
            render_history.channel_log_text(commits)
        return
    if fmt == "json":
        base.out(render_history.log_json(image, name, render.revision(rev, commit), entries))
        return
    if quiet:
        base.out("\n".join(e.tag for e in entries if e.tag))
        return
    base.out(render_history.log_text(entries))


@base.app.command("verify")
def verify(
    channel: Optional[str] = typer.Argument(None, help="Channel (default: every locked channel)."),
    remote: bool = typer.Option(False, "--remote", help="Also check the registry: pinned digests exist, tags moved."),
    insecure_registry: Optional[List[str]] = typer.Option(
        None, "--insecure-registry", metavar="HOST", help="With --remote: plain HTTP to this registry (repeatable)."
    ),
    signatures: bool = typer.Option(
        False, "--signatures", help="Also re-fetch and verify each locked digest's signatures with the [trust] policy."
    ),
    at: Optional[str] = typer.Option(
        None, "--at", metavar="HOST[/NS]", help="With --signatures: check the copies `promote --to HOST[/NS]` made."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the problems found."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    timeout: Optional[float] = base.timeout_option(),
) -> None:
    """Recompute every revision from git history; exit 1 on any mismatch."""
    from docker_kolla.ops.common import channels_in, check_channel

    render.check_format(fmt, ("text", "json"))
    results = []  # (VerifyResult, remote problems or None, remote notes)
    with open_repo(base.state().repo) as repo:
        try:
            config = load_channels(repo)
        except UsageError:
            config = None
        if channel:
            check_channel(repo, channel)
        names = [channel] if channel else channels_in(repo, repo.resolve("HEAD"))
        if not names:
            raise UsageError("no lockfile to verify", "run `docker kolla lock CHANNEL` first")
        if at is not None and not signatures:
            raise UsageError("--at needs --signatures", "add --signatures to check the copies' signatures")
        for name in names:
            result = run_verify(repo, name, config)
            problems, notes = _verify_remote(repo, name, insecure_registry or (), timeout) if remote else (None, [])
            if signatures:
                more, said = _verify_signatures(repo, name, config, insecure_registry or (), at, timeout)
                problems, notes = (problems or []) + more, notes + said
            results.append((result, problems, notes))
    failures = sum(len(r.mismatches) + len(r.problems) + len(p or ()) for r, p, _ in results)
    if fmt == "json":
        base.out(render_history.verify_json(results))
    else:
        for result, problems, notes in results:
            name = result.channel
            for line in [m.line() for m in result.mismatches] + list(result.problems) + list(problems or ()):
                base.out(f"{name}: {line}")
            if result.ok and not quiet:
                base.info(f"{name}: {result.versions} lock version(s), every revision reproduces")
            for line in () if quiet else notes:
                base.info(f"{name}: {line}")
    if failures:
        raise CheckFailed(
            f"verify found {failures} problem(s)", "see the lines above; re-lock or revert the bad commit"
        )


def _verify_signatures(repo, channel: str, config, insecure, at: str | None, timeout: float | None) -> tuple:
    """``--signatures``: (problems, notes) of HEAD's lock, checked at its repositories or ``--at``."""
    from docker_kolla.cli import factory
    from docker_kolla.core.reference import Location
    from docker_kolla.ops.common import load_lock_at
    from docker_kolla.ops.trustcheck import load_keys, signature_report

    if config is None or channel not in config.channels:
        raise UsageError(
            f"--signatures: channel {channel!r} has no [trust] policy", "add it to lockfiles/channels.toml"
        )
    policy = config.channels[channel].trust
    where = Location.parse(at, "--at") if at else None
    _, lock = load_lock_at(repo, channel, "HEAD")
    entries = [lock.images[n] for n in sorted(lock.images)]
    with factory.registry_client(base.state(), insecure=insecure, timeout=timeout) as client:
        discoverer = factory.discoverer(client, load_keys(repo, policy), policy)
        return signature_report(discoverer, entries, policy, at=where)


def _verify_remote(repo, channel: str, insecure, timeout: float | None = None) -> tuple:
    from docker_kolla.cli import factory
    from docker_kolla.ops.verify import run_verify_remote

    with factory.registry_client(base.state(), insecure=insecure, timeout=timeout) as client:
        return run_verify_remote(repo, channel, client)
