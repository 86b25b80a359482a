"""A re-lock's HEADs, started before git and the lockfile model are loaded.

A warm re-lock is ~200 HEADs and little else, so its critical path is the first
HEAD: the CLI starts them from the work tree's channels.toml as soon as the
arguments are parsed, and ``ops.lock.plan_lock`` takes them over when they are
the ones it would make (same references), or cancels them. Light on purpose:
the channel model and a thread pool, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from docker_kolla.core.channels import ChannelsConfig
from docker_kolla.ops.parallel import Prefetch


@dataclass
class EarlyHeads:
    """``heads`` started for ``refs`` (name -> reference); a context manager through ``heads``."""

    refs: dict
    heads: Prefetch

    def cancel(self) -> None:
        """Stop what has not started; wait for what has (HEADs change nothing)."""
        self.heads.__exit__(None, None, None)


def start_heads(
    head: Callable, config: ChannelsConfig, channel: str, registry: str | None, namespace: str | None, jobs: int
) -> EarlyHeads | None:
    """``head(ref)`` for every image of ``channel``, started now; None when it is not configured."""
    if channel not in config.channels:
        return None
    chan = config.get(channel)
    refs = {n: chan.image_ref(n, registry, namespace) for n in chan.images + chan.optional_images}
    return EarlyHeads(refs, Prefetch(lambda n: head(refs[n]), sorted(refs), jobs))
