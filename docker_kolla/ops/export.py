"""``export``: render a lock at a revision for deployers.

kolla-ansible pins by tag, and a tag-revision exists only where ``promote`` put it
(or ``pull`` tagged it on a host), so a kolla-ansible export is checked: every
exported ``repository:tag-revision`` must exist at the export's registry and point
at the locked digest (one HEAD each), else the export fails naming the images.
"""

from __future__ import annotations

from dataclasses import dataclass

from docker_kolla import releases
from docker_kolla.core.channels import Channel, parse_channels
from docker_kolla.core.exports import KollaAnsible, relocate, render
from docker_kolla.core.kolla_eras import release_of
from docker_kolla.core.lockfile import Lockfile
from docker_kolla.errors import CheckFailed, ConfigError
from docker_kolla.ops.common import CHANNELS_PATH, load_lock_at, pick_channel, tag_digest
from docker_kolla.ops.parallel import parallel_map


@dataclass(frozen=True)
class ExportResult:
    channel: str
    commit: str
    text: str
    images: int
    checked: int = 0  # tag-revisions found at the registry with the locked digest


def run_export(
    repo,
    channel: str | None,
    fmt: str,
    *,
    rev: str = "HEAD",
    registry: str | None = None,
    kolla_ansible: str | None = None,
    full: bool = False,
    client=None,
    jobs: int = 8,
) -> ExportResult:
    """The lock of ``channel`` at ``rev`` in the open repository, in format ``fmt``.

    ``kolla_ansible`` overrides the channel's ``kolla-ansible`` release; ``client``
    (a registry client) checks a kolla-ansible export's tag-revisions, None skips that.
    """
    name = pick_channel(repo, channel, rev, example="docker kolla export {channel}")
    commit, lock = load_lock_at(repo, name, rev)
    config = _channel_at(repo, commit, name)
    options = None
    if fmt == "kolla-ansible":
        options = kolla_ansible_options(config, kolla_ansible, full)
    source = f"lockfiles/{name}.toml at {commit[:12]} ({rev})"
    text = render(lock, fmt, registry=registry, source=source, kolla_ansible=options, rev=rev, commit=commit)
    checked = 0
    if options is not None and client is not None:
        deployed = options.table.images
        checked = check_tags(client, lock, [n for n in sorted(lock.images) if n in deployed], registry, jobs)
    return ExportResult(channel=name, commit=commit, text=text, images=len(lock.images), checked=checked)


def _channel_at(repo, commit: str, name: str) -> Channel | None:
    """The channel's configuration at the lock's commit, else in the work tree, else None."""
    for data in (repo.read(commit, CHANNELS_PATH), repo.worktree_bytes(CHANNELS_PATH)):
        if data is None:
            continue
        try:
            return parse_channels(data.decode("utf-8", "replace")).channels.get(name)
        except ConfigError:
            continue
    return None


def kolla_ansible_options(channel: Channel | None, override: str | None, full: bool) -> KollaAnsible:
    """Which table (``--kolla-ansible``, else the channel's key, else Ocata) and distro key."""
    wanted = override or (channel.kolla_ansible if channel else "") or releases.DEFAULT_ERA
    table = releases.era_table(release_of(wanted, releases.era_names()))
    key = ""
    if channel is not None:
        arm = bool(channel.platforms) and channel.platforms[0] == "linux/arm64"
        key = channel.distro + ("+aarch64" if arm else "")
    return KollaAnsible(table=table, not_built_key=key, full=full)


def check_tags(client, lock: Lockfile, names: list[str], registry: str | None, jobs: int) -> int:
    """HEAD every exported ``repository:tag-revision``; CheckFailed naming those absent or elsewhere."""
    entries = [relocate(lock.images[n], registry) for n in names]

    def one(entry):
        return tag_digest(client, entry.repository.with_tag(entry.tag))

    found = parallel_map(one, entries, jobs)
    missing = [e for e, digest in zip(entries, found) if digest is None]
    moved = [e for e, digest in zip(entries, found) if digest is not None and digest != e.digest]
    if missing or moved:
        where = registry or "the locked registry"
        parts = []
        if missing:
            parts.append(f"{len(missing)} tag-revision(s) missing at {where}: {_names(missing)}")
        if moved:
            parts.append(f"{len(moved)} pointing at another digest than the lock: {_names(moved)}")
        dest = registry or "HOST/NAMESPACE"
        raise CheckFailed(
            "; ".join(parts),
            f"run `docker kolla promote {lock.channel} --to {dest}`, then `docker kolla export {lock.channel} "
            f"--registry {dest}` (or --no-check to skip this check offline)",
        )
    return len(entries)


def _names(entries: list) -> str:
    shown = ", ".join(f"{e.name}:{e.tag}" for e in entries[:10])
    return shown + (f" and {len(entries) - 10} more" if len(entries) > 10 else "")
