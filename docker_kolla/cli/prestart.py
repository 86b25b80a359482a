"""A re-lock's HEADs, started before typer is imported.

``docker kolla lock CHANNEL`` (the nightly job's call) spends most of its time on
~200 HEADs; everything before the first one is on its critical path. So
``cli/plugin.py`` calls :func:`start` right after docker's global flags are parsed:
when the arguments are exactly ``lock CHANNEL`` (``--repo DIR`` allowed), it starts
the HEADs from the work tree's channels.toml and only then lets typer load.
``cmd_lock`` calls :func:`take`: it gets those HEADs when they were started for exactly
its run (same repository, channel, client settings), else they are cancelled and it
starts its own (``ops/lockheads.py``; ``ops.lock.plan_lock`` checks the references).
Any other command line starts nothing here, so no usage error waits on a HEAD.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from docker_kolla.cli.state import State, build_state

LOCK_JOBS = 32  # `lock --jobs` default
SWITCH_INTERVAL = 0.0005  # while HEADs are on the wire (answers_first)


@dataclass(frozen=True)
class Started:
    """What the HEADs were started for: ``take`` hands them over only to that run."""

    repo: Path
    config_dir: Path
    channel: str
    registry: str | None = None
    namespace: str | None = None
    insecure: tuple = ()
    jobs: int = LOCK_JOBS
    timeout: float | None = None


_pending: tuple | None = None  # (Started, client, ops.lockheads.EarlyHeads)
_switch_interval = sys.getswitchinterval()  # the interpreter's own, restored by answers_first


def lock_args(args: list, env: dict) -> tuple[str | None, str] | None:
    """(repository or None, CHANNEL) when ``args`` are ``lock CHANNEL`` and at most ``--repo DIR``; else None."""
    repo, words, i = env.get("DOCKER_KOLLA_REPO") or None, [], 0
    while i < len(args):
        arg = args[i]
        if arg == "--repo" and i + 1 < len(args):
            repo, i = args[i + 1], i + 2
            continue
        if arg.startswith("--repo="):
            repo = arg.partition("=")[2]
        elif arg.startswith("-"):
            return None
        else:
            words.append(arg)
        i += 1
    if len(words) != 2 or words[0] != "lock":
        return None
    return repo, words[1]


def start(flags, args: list) -> None:
    """Start the HEADs of ``lock CHANNEL`` now (see the module's text); anything else: nothing."""
    global _pending
    parsed = lock_args(args, dict(os.environ))
    if parsed is None:
        return
    repo, channel = parsed
    state = build_state(flags, dict(os.environ))
    if repo:
        state = replace(state, repo=Path(repo))
    client, early = early_heads(state, channel)
    if early is not None:
        _pending = (started_for(state, channel), client, early)
        sys.setswitchinterval(SWITCH_INTERVAL)


def cancel() -> None:
    """Stop HEADs that no command took (the run failed before ``lock`` asked for them)."""
    global _pending
    pending, _pending = _pending, None
    if pending is not None:
        pending[2].cancel()


def started_for(state: State, channel: str, **settings) -> Started:
    settings["insecure"] = tuple(settings.get("insecure") or ())
    return Started(Path(state.repo).resolve(), Path(state.config_dir), channel, **settings)


def take(state: State, channel: str, *, image=(), exclude=(), **settings) -> tuple:
    """(client, EarlyHeads) for this run of ``lock``, or (None, None) when it gets no early HEADs.

    ``settings``: registry, namespace, insecure, jobs, timeout as the command has them.
    """
    global _pending
    pending, _pending = _pending, None
    whole = not (image or exclude)  # only a re-lock of the whole channel starts early
    if pending is not None:
        started, client, early = pending
        if whole and started == started_for(state, channel, **settings):
            return client, early
        early.cancel()
    return early_heads(state, channel, **settings) if whole else (None, None)


def early_heads(
    state: State, channel: str, registry=None, namespace=None, insecure=(), jobs=LOCK_JOBS, timeout=None
) -> tuple:
    """(client, ops.lockheads.EarlyHeads) for a re-lock of a whole channel, else (None, None).

    Read from the work tree without git (``fsio.worktree_file``); anything unexpected
    (no lockfile yet, a channels.toml that does not parse) means no early start: the
    normal path then reads and reports it."""
    from docker_kolla.adapters.fsio import worktree_file
    from docker_kolla.cli import factory
    from docker_kolla.core.channels import parse_channels
    from docker_kolla.errors import KollaError
    from docker_kolla.ops.lockheads import start_heads

    if worktree_file(state.repo, f"lockfiles/{channel}.toml") is None:
        return None, None
    try:
        config = parse_channels((worktree_file(state.repo, "lockfiles/channels.toml") or b"").decode("utf-8"))
        client = factory.registry_client(state, insecure=tuple(insecure or ()), jobs=jobs, timeout=timeout)
    except (KollaError, UnicodeDecodeError):
        return None, None
    # what ops.resolve.Resolver.head asks, without loading the resolver
    early = start_heads(lambda ref: client.head_manifest(ref).digest, config, channel, registry, namespace, jobs)
    return (client, early) if early is not None else (None, None)


@contextlib.contextmanager
def answers_first(on: bool):
    """While a re-lock's HEADs are on the wire the main thread imports and parses: a HEAD whose
    answer arrived gets the interpreter within 0.5 ms, not after a 5 ms slice of that work."""
    if on:
        sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(_switch_interval)
