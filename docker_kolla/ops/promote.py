"""``docker kolla promote CHANNEL --to HOST[/NAMESPACE]``: copy a lock's images to another registry.

Plan, then act: the destination's tags are observed first (HEAD only) and the
plan (core.promote_plan) decides per image; only then are bytes copied. Each
image is copied by digest (adapters.copier) and tagged last, so an interrupted
run never leaves a tag on an incomplete image and a re-run picks up where it
stopped. One image failing does not stop the others; its tags stay untouched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from docker_kolla.core import promote_plan as pp
from docker_kolla.core.channels import Channel
from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.manifest import INDEX_TYPES, Index, Platform, parse_manifest
from docker_kolla.core.promote_plan import CopyStats
from docker_kolla.core.reference import Location
from docker_kolla.core.states import Step
from docker_kolla.core.trustpolicy import TrustPolicy
from docker_kolla.errors import KollaError, UsageError
from docker_kolla.ops.carry import MODES, Carrier
from docker_kolla.ops.common import load_channels, load_lock_at, pick_channel, tag_digest
from docker_kolla.ops.discover import Discoverer, plain
from docker_kolla.ops.parallel import parallel_map
from docker_kolla.ops.trustcheck import load_keys, reverify

if TYPE_CHECKING:  # the adapters a run is given, built in cli/factory.py
    from docker_kolla.adapters.copier import Copier
    from docker_kolla.adapters.registry import RegistryClient

log = logging.getLogger(__name__)

COPIED, TAGGED, PRESENT, REFUSED, FAILED = Step.COPIED, Step.TAGGED, Step.PRESENT, Step.REFUSED, Step.FAILED
UNVERIFIED = Step.UNVERIFIED  # promote --verify: its signature did not verify at the source; nothing copied
STATUSES = (COPIED, TAGGED, PRESENT, REFUSED, FAILED, UNVERIFIED)  # what a run did, per image
# Planning is HEADs only, before any copy: it may use the connections the copy will
# (cli/cmd_promote sizes the pool for jobs image workers and 2 x jobs blob workers).
OBSERVE_PER_JOB = 3


@dataclass
class PromoteOptions:
    channel: str
    to: str
    rev: str = "HEAD"
    images: tuple = ()
    platforms: tuple = ()
    dry_run: bool = False
    jobs: int = 8
    verify: bool = False  # re-fetch and verify signatures at the source first; fail closed
    referrers: str = "all"  # carry: all | signatures | none (ops.carry)
    discoverer: Any = None  # cli/factory.discoverer (keyless verification); None: ops.discover.plain


@dataclass
class ImageOutcome:
    item: pp.PlanItem
    status: Step
    stats: CopyStats = field(default_factory=CopyStats)
    error: str = ""
    carried: int = 0  # signatures, attestations and referrers copied for it


@dataclass
class PromoteResult:
    plan: pp.Plan
    outcomes: list = field(default_factory=list)  # ImageOutcome, plan order; empty for --dry-run
    totals: CopyStats = field(default_factory=CopyStats)
    commit: str = ""  # full sha of the lock commit promoted

    def by_status(self, status: Step) -> list[ImageOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def subsets(self) -> list[pp.Target]:
        """Images for which ``--platform`` made a new index (its digest differs from the lock)."""
        return [i.target for i in self.plan.items if i.target.subset]


Progress = Callable[[str, str], None]


def _channel(repo, name: str) -> Channel | None:
    try:
        return load_channels(repo).get(name)
    except KollaError:
        return None


def build_targets(
    lock: Lockfile, chan: Channel | None, dest: Location, names: list[str], platforms: tuple, src: RegistryClient
) -> tuple[list[pp.Target], dict]:
    """Targets for the selected images, and the bytes of every new (subset) index by name."""
    static = lock.static or bool(chan and chan.static)
    channel_tag = "" if static else (chan.tag if chan else lock.channel)
    wanted = tuple(Platform.parse(p) for p in platforms)
    targets, tops = [], {}
    for name in names:
        entry: LockEntry = lock.images[name]
        digest, subset, note = entry.digest, False, ""
        if wanted and entry.media_type in INDEX_TYPES:
            index = src.get_manifest(entry.repository, entry.digest)
            made = pp.subset_index(index.raw, wanted)
            if made is not None:
                if not made[1]:
                    note = f"{entry.repository}@{entry.digest} has none of the platforms {', '.join(platforms)}"
                else:
                    tops[name] = made[0]
                    digest, subset = Digest.of(made[0]), True
        elif wanted and entry.platform and entry.platform not in wanted:
            note = f"{entry.repository} is a single {entry.platform} image, not one of {', '.join(platforms)}"
        source = entry.repository
        targets.append(
            pp.Target(
                name=name,
                source=source,
                destination=dest.repository(source),
                digest=digest,
                locked=entry.digest,
                media_type=entry.media_type,
                rev_tag=entry.tag,
                channel_tag=channel_tag if channel_tag != entry.tag else "",
                subset=subset,
                note=note,
            )
        )
    return targets, tops


def observe(dst: RegistryClient, targets: list[pp.Target], jobs: int) -> dict[str, pp.Observed]:
    """HEAD each target's two tags at the destination (404 = absent)."""

    def one(t: pp.Target) -> pp.Observed:
        repo = t.destination
        rev = tag_digest(dst, repo.with_tag(t.rev_tag)) if not t.note else None
        chan = tag_digest(dst, repo.with_tag(t.channel_tag)) if t.channel_tag and rev == t.digest else None
        return pp.Observed(rev, chan)

    return dict(zip([t.name for t in targets], parallel_map(one, targets, jobs)))


def _execute_one(item: pp.PlanItem, tops: dict, copier: Copier) -> ImageOutcome:
    t = item.target
    if item.action == PRESENT:
        return ImageOutcome(item, PRESENT)
    if item.action == REFUSED:
        return ImageOutcome(item, REFUSED, error=item.reason)
    src, dst = t.source, t.destination
    try:
        if item.action == Step.TAG:
            raw = tops.get(t.name) or copier.dst.get_manifest(dst, t.digest).raw
            return ImageOutcome(item, TAGGED, copier.put_tags(dst, raw, t.media_type, item.put_tags))
        raw = tops.get(t.name) or copier.src.get_manifest(src, t.locked).raw
        stats = copier.copy_image(src, dst, raw, t.media_type, item.put_tags)
        return ImageOutcome(item, COPIED, stats)
    except KollaError as exc:
        log.debug("promote of %s failed: %s", t.name, exc.line())
        return ImageOutcome(item, FAILED, error=exc.line())


def _carry(outcome: ImageOutcome, entry: LockEntry | None, carrier: Carrier | None, tops: dict) -> ImageOutcome:
    """After the image is at the destination: its signatures, attestations and referrers too.

    An image that was there already (present, or only its channel tag moved) whose recorded
    referrers are all at the destination costs nothing more; else, and for every copied
    image, what the source has is carried and checked at the destination afterwards.
    For a --platform subset only the copied platforms' referrers go (the locked index is not there).
    """
    if carrier is None or entry is None or outcome.status not in (COPIED, TAGGED, PRESENT):
        return outcome
    t = outcome.item.target
    platforms = dict(entry.platforms)
    if t.subset and t.name in tops:
        top = parse_manifest(tops[t.name])
        kept = {str(d.digest) for d in top.manifests} if isinstance(top, Index) else set()
        platforms = {p: d for p, d in platforms.items() if str(d) in kept}
    try:
        if outcome.status != COPIED and carrier.settled(
            t.destination, entry.referrers, t.locked, platforms, top=not t.subset
        ):
            return outcome  # already promoted with what its lock records: nothing read at the source
        done = carrier.carry(t.source, t.destination, t.locked, platforms, outcome.stats, top=not t.subset)
    except KollaError as exc:
        return replace(outcome, status=FAILED, error=f"carrying signatures and referrers: {exc.line()}")
    outcome = replace(outcome, carried=done.copied)
    if done.missing:
        missing = ", ".join(done.missing)
        return replace(outcome, status=FAILED, error=f"missing at the destination after the copy: {missing}")
    return outcome


def execute(
    plan: pp.Plan,
    tops: dict,
    copier: Copier,
    jobs: int,
    progress: Progress | None = None,
    *,
    carrier: Carrier | None = None,
    entries: dict | None = None,
    refused: dict | None = None,
) -> PromoteResult:
    """Carry out a plan, ``jobs`` images at a time; failures are recorded per image.

    ``refused`` (name -> trustcheck.Refusal from ``--verify``): those images are not touched.
    ``carrier`` copies each image's referrers after it (``entries``: the lock entries by name).
    """
    refused, entries = refused or {}, entries or {}

    def run(item: pp.PlanItem) -> ImageOutcome:
        name = item.target.name
        if name in refused:
            outcome = ImageOutcome(item, UNVERIFIED, error=refused[name].reason)
        else:
            outcome = _carry(_execute_one(item, tops, copier), entries.get(name), carrier, tops)
        if progress:
            progress(item.target.name, outcome.status)
        return outcome

    outcomes = parallel_map(run, plan.items, jobs)
    totals = CopyStats()
    for o in outcomes:
        totals.add(o.stats)
    return PromoteResult(plan, outcomes, totals)


def plan_promote(
    lock: Lockfile, chan: Channel | None, opts: PromoteOptions, src: RegistryClient, dst: RegistryClient
) -> tuple[pp.Plan, dict]:
    """Observe the destination and decide: (plan, subset index bytes by image)."""
    dest = Location.parse(opts.to, "--to")
    names = pp.select_images(lock.images, opts.images)
    targets, tops = build_targets(lock, chan, dest, names, tuple(opts.platforms), src)
    observed = observe(dst, targets, opts.jobs * OBSERVE_PER_JOB)
    return pp.make_plan(lock.channel, opts.to, targets, observed), tops


def run_promote(
    repo,
    opts: PromoteOptions,
    src: RegistryClient,
    dst: RegistryClient,
    copier: Copier,
    progress: Progress | None = None,
    on_plan: Callable[[pp.Plan], None] | None = None,
) -> PromoteResult:
    """Plan and (unless ``dry_run``) copy with ``copier``. Never raises for one image's failure.

    ``on_plan(plan)`` is called once the plan is made, before any copy (a progress display
    learns its total there).
    """
    if opts.referrers not in MODES:
        raise UsageError(f"--referrers must be one of {', '.join(MODES)}", "use --referrers all, signatures or none")
    name = pick_channel(repo, opts.channel, opts.rev)
    commit, lock = load_lock_at(repo, name, opts.rev)
    chan = _channel(repo, lock.channel)
    policy = chan.trust if chan else TrustPolicy()
    keys = load_keys(repo, policy) if opts.verify else ()
    plan, tops = plan_promote(lock, chan, opts, src, dst)
    if on_plan:
        on_plan(plan)
    if opts.dry_run:
        return PromoteResult(plan, commit=commit)
    refused = {}
    if opts.verify:
        names = [i.target.name for i in plan.items]
        make = opts.discoverer or plain
        refused = reverify(make(src, keys, policy), [lock.images[n] for n in names], policy, opts.jobs)
    carrier = Carrier(copier, Discoverer(src), Discoverer(dst), opts.referrers) if opts.referrers != "none" else None
    result = execute(
        plan, tops, copier, opts.jobs, progress, carrier=carrier, entries=dict(lock.images), refused=refused
    )
    result.commit = commit
    return result
