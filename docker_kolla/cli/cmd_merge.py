"""``docker kolla merge-driver %O %A %B %P`` and ``docker kolla merge-driver install``."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from docker_kolla.cli import base
from docker_kolla.cli.factory import open_repo
from docker_kolla.errors import CheckFailed, UsageError
from docker_kolla.ops.mergedriver import install, run_merge

USAGE = "docker kolla merge-driver %O %A %B %P, or docker kolla merge-driver install"


@base.app.command("merge-driver")
def merge_driver(
    args: List[str] = typer.Argument(..., metavar="%O %A %B %P | install", help="git's placeholders, or install."),
    command: str = typer.Option(
        "docker kolla", "--command", metavar="CMD", help="With install: how git should run docker-kolla."
    ),
) -> None:
    """Merge a channel's lockfile per image (git merge driver); `install` sets it up in this repository.

    An image changed on one side takes that side's whole entry; the same change on both
    sides is taken once; different changes are a conflict, reported per image, and the
    file keeps conflict markers that lock and verify refuse. Revisions are recomputed, so
    verify passes after a clean merge.
    """
    if args == ["install"]:
        with open_repo(base.state().repo) as repo:
            changed = install(repo, command)
        for line in changed:
            base.out(line)
        base.info("merge driver installed" if changed else "merge driver already installed")
        return
    if len(args) not in (3, 4):
        raise UsageError(f"merge-driver takes 3 or 4 arguments, got {len(args)}", f"use {USAGE}")
    paths = [Path(a) for a in args[:3]]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p} is not a file", f"git passes temporary files: {USAGE}")
    where = args[3] if len(args) == 4 else "lockfiles/CHANNEL.toml"
    base_b, ours_b, theirs_b = (p.read_bytes() for p in paths)
    with open_repo(base.state().repo) as repo:
        outcome = run_merge(repo, base_b, ours_b, theirs_b, where)
    from docker_kolla.adapters import fsio

    fsio.write_atomic(paths[1], outcome.text)
    for name in outcome.taken:
        base.info(f"{where}: {name}: taken from theirs")
    if outcome.conflicts:
        for c in outcome.conflicts:
            base.info(f"{where}: {c.line()}")
        names = " ".join(f"--image {c.name}" for c in outcome.conflicts)
        channel = where.rsplit("/", 1)[-1].removesuffix(".toml")
        raise CheckFailed(
            f"{where}: {len(outcome.conflicts)} image(s) changed differently on both sides",
            f"keep ours (`git checkout --ours {where} && git add {where}`), commit the merge, "
            f"then re-resolve them: `docker kolla lock {channel} {names}`",
        )
