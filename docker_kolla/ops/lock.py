"""``docker kolla lock CHANNEL``: resolve, read manifestos, apply the revision policy, write, commit.

Compute, then act: everything is resolved and checked before a single byte is
written, so a failure (registry down, digest mismatch, bad config) leaves the
lock repository exactly as it was.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from docker_kolla.core.attached import PREFIX, layer_of
from docker_kolla.core.channels import Channel
from docker_kolla.core.diff import LockDiff, diff_locks
from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import Lockfile
from docker_kolla.core.reference import ImageRef
from docker_kolla.core.referrers import MANIFESTO
from docker_kolla.core.revisions import Decision, Outcome, decide
from docker_kolla.errors import CheckFailed, NotFoundError, UsageError
from docker_kolla.ops import lockbase, lockhistory
from docker_kolla.ops.attach import trusted_manifesto
from docker_kolla.ops.common import load_channels, lock_path
from docker_kolla.ops.discover import plain
from docker_kolla.ops.lockheads import EarlyHeads
from docker_kolla.ops.locksummary import summary_text
from docker_kolla.ops.parallel import Prefetch, map_quick_first
from docker_kolla.ops.resolve import Resolver
from docker_kolla.ops.trustcheck import check_policy, load_keys

log = logging.getLogger(__name__)


@dataclass
class LockOptions:
    channel: str
    images: tuple = ()
    registry: str | None = None
    namespace: str | None = None
    commit: bool = True
    branch: str | None = None
    push: str | None = None
    bump_on: str | None = None
    jobs: int = 32
    accept_moved: bool = False
    strict_labels: bool = False
    refresh_referrers: bool = False  # re-discover signatures of images whose digest did not change
    dry_run: bool = False  # compute and report everything, write and push nothing
    exclude: tuple = ()  # glob patterns of images to leave as they are
    trust_attached: bool = False  # use an attached manifesto signed by a trusted key instead of scanning
    discoverer: Any = None  # cli/factory.discoverer (keyless verification); None: ops.discover.plain


@dataclass
class LockResult:
    channel: str
    lock: Lockfile
    decisions: list
    diff: LockDiff
    removed: list = field(default_factory=list)
    written: bool = False
    commit: str | None = None
    pushed: str | None = None
    warnings: list = field(default_factory=list)
    text: bytes | None = None  # the new lockfile bytes, None when nothing changed
    base: str | None = None  # the commit the lock was computed from
    refused: list = field(default_factory=list)  # trustcheck.Refusal: images the trust policy refused
    push_skipped: bool = False  # --push on a quiet night: no new branch, so nothing pushed
    held: list = field(default_factory=list)  # dicts: image, digest, tag, reason, tag-now (None: tag not moved)

    @property
    def summary(self) -> str:
        return summary_text(self)

    @property
    def changed(self) -> bool:
        """The lockfile changed (or, with --dry-run, would change)."""
        return self.text is not None

    def by_outcome(self, outcome: Outcome) -> list:
        return [d for d in self.decisions if d.outcome == outcome]

    @property
    def moved(self) -> list:
        return self.by_outcome(Outcome.MOVED)


def plan_lock(
    repo, resolver: Resolver, opts: LockOptions, progress=None, config=None, early: EarlyHeads | None = None
) -> LockResult:
    """Resolve and decide everything; write nothing. ``progress(name, state)`` sees each image;
    ``config``: channels.toml as the caller already read it (read here when None); ``early``:
    HEADs the caller started before the repository was open (``ops.lockheads``), used when
    they are this run's (same references) and this is a re-lock, cancelled otherwise (the
    caller cancels them once more when it is done: whatever happened here, none outlives it)."""
    config = config if config is not None else load_channels(repo)
    channel: Channel = config.get(opts.channel)
    path = lock_path(opts.channel)
    configured = channel.images + channel.optional_images
    wanted = list(opts.images) or list(configured)
    unknown = [i for i in opts.images if i not in configured]
    if unknown:
        raise UsageError(
            f"image {unknown[0]!r} is not in channel {opts.channel!r}",
            "add it to the channel's images in lockfiles/channels.toml",
        )
    for pattern in opts.exclude:
        if not any(fnmatch.fnmatchcase(i, pattern) for i in wanted):
            raise UsageError(
                f"--exclude {pattern!r} matches no image of channel {opts.channel!r}",
                "give a glob over the channel's image names, e.g. --exclude 'nova-*'",
            )
    wanted = [i for i in wanted if not any(fnmatch.fnmatchcase(i, p) for p in opts.exclude)]
    if not wanted:
        if opts.exclude:
            raise UsageError(f"--exclude leaves no image of channel {opts.channel!r} to lock", "exclude fewer images")
        raise UsageError(f"channel {opts.channel!r} lists no images", "add images = [...] to lockfiles/channels.toml")
    refs = {name: channel.image_ref(name, opts.registry, opts.namespace) for name in wanted}
    base = lockbase.base_commit(repo, opts.branch)
    names = sorted(wanted)
    with contextlib.ExitStack() as stack:
        heads = None
        old_bytes = repo.read(base, path) if base is not None else None
        if old_bytes is not None and early is not None and early.refs == refs:
            heads = early.heads  # started before the repository was open: the same HEADs
        elif old_bytes is not None:
            # a re-lock: its HEADs need nothing from the lockfile, so they start now and the
            # work tree is checked and the lockfile parsed while they are on the wire (a
            # HEAD changes nothing: a failed check below only cancels the rest)
            heads = stack.enter_context(Prefetch(lambda n: resolver.head(refs[n]), names, opts.jobs))
        if early is not None and heads is not early.heads:
            early.cancel()  # not this run's: stop what did not start
        lockbase.check_worktree(repo, opts, path)
        return _decide_all(repo, resolver, opts, progress, channel, refs, base, heads, old_bytes)


def _decide_all(
    repo, resolver, opts, progress, channel: Channel, refs: dict, base, heads, old_bytes: bytes | None
) -> LockResult:
    """The rest of :func:`plan_lock`: ``refs`` name -> reference of every wanted image;
    ``heads`` the HEADs already on the wire (a re-lock) or None; ``old_bytes`` the lockfile at ``base``."""
    path = lock_path(opts.channel)
    wanted, names = list(refs), sorted(refs)
    tables = lockhistory.verified_tables(repo, path)
    reader = lockhistory.new_reader(keep_entries=True, tables=tables)
    current, seen = lockbase.previous(repo, opts.channel, base, old_bytes, wanted, reader)
    bump_on = opts.bump_on or channel.bump_on
    policy = channel.trust
    discoverer = (opts.discoverer or plain)(resolver.client, load_keys(repo, policy) if policy.keys else (), policy)
    if opts.trust_attached and not discoverer.keys:
        raise UsageError(
            "--trust-attached-manifesto needs trusted keys",
            f'add keys = ["keys/kolla.pub"] to [channels.{opts.channel}.trust] in lockfiles/channels.toml',
        )
    refusals: dict = {}
    attached_notes: dict = {}  # name -> what an attached docker-kolla manifesto says (lock still scans)
    trusted: dict = {}  # name -> ops.attach.Trusted (--trust-attached-manifesto)
    prefound: dict = {}  # name -> (digest, referrers) discovered before the scan, not asked twice

    def named(name: str, previous) -> tuple:
        """A signature may name the channel's configured repository or the one the lock recorded
        (a re-lock from a mirror in another namespace: `lock --registry --namespace`)."""
        names = [channel.image_ref(name).repository] + ([str(previous.repository)] if previous else [])
        return tuple(dict.fromkeys(names))

    def given(name: str, ref):
        """--trust-attached-manifesto: discover before scanning; a trusted attached manifesto
        is used for the platforms it describes (the resolver's ``given`` hook)."""

        def hook(digest: Digest, platforms: dict):
            also = named(name, seen.get(name))
            found = discoverer.discover(ref, digest, platforms, also=also)
            prefound[name] = (digest, found)
            verdict = trusted_manifesto(resolver.client, discoverer, ref, digest, found, also)
            if verdict.artifact:
                trusted[name] = verdict
            return verdict.attached.platforms if verdict.attached is not None else None

        return hook if opts.trust_attached else None

    def attach(decision: Decision, ref) -> Decision | None:
        """Referrers of the digest the decision locks: discovered when it is new (or on
        --refresh-referrers), kept from the lock otherwise; then the trust policy."""
        entry, previous = decision.entry, decision.previous
        fresh = previous is None or entry.digest != previous.digest
        if not fresh and not opts.refresh_referrers:
            return decision
        early = prefound.pop(entry.name, None)
        if early is not None and early[0] == entry.digest:
            found = early[1]
        else:
            found = discoverer.discover(ref, entry.digest, entry.platforms, also=named(entry.name, previous))
        decision = replace(decision, entry=replace(entry, referrers=found))
        verdict = trusted.get(entry.name)
        if verdict is not None and verdict.attached is not None:
            attached_notes[entry.name] = verdict.note()
            return police(decision, found, fresh)
        for r in found:
            if r.kind == MANIFESTO and r.subject == str(entry.digest):
                note = _attached_note(resolver.client, ref, r, entry)
                attached_notes[entry.name] = f"{verdict.note()}; {note}" if verdict is not None else note
        return police(decision, found, fresh)

    def police(decision: Decision, found, fresh: bool) -> Decision | None:
        entry, previous = decision.entry, decision.previous
        refusal = check_policy(entry.name, entry.digest, found, policy) if fresh and policy.active else None
        if refusal is None:
            return decision
        refusals[entry.name] = refusal
        return Decision(previous, Outcome.REFUSED, previous) if previous is not None else None

    holds = {h.name: h for h in channel.holds if h.name in wanted}
    by_revision = lockbase.by_revision(repo, path, base) if any(h.revision for h in holds.values()) else {}
    held: dict[str, dict[str, Any]] = {}

    def keep_held(name: str, ref, previous, hold) -> tuple[Decision | None, list, list]:
        """A held image stays at its hold's digest whatever the tag does (taken forward if needed)."""
        at = by_revision.get((name, hold.revision)) if hold.revision is not None else None
        if hold.revision is not None and at is None:
            raise UsageError(
                f"hold on {name}: revision {hold.revision} was never locked in channel {opts.channel!r}",
                f"fix [channels.{opts.channel}.holds] (`docker kolla log {name} --channel {opts.channel}`)",
            )
        target = at.digest if at is not None else Digest.parse(hold.digest)
        try:
            now = resolver.head(ref)
        except NotFoundError:
            now = None
        if previous is not None and previous.digest == target:
            decision = decide(channel, replace(previous, repository=ref.bare), previous, bump_on=bump_on)
        elif at is not None:
            # the held revision's image as if resolved now: its tag and referrers are the policy's to give
            fresh = replace(at, repository=ref.bare, tag="", revision=None, referrers=())
            decision = decide(channel, fresh, previous, bump_on="digest", accept_moved=True)
        else:
            if not resolver.exists(ref, target):
                raise UsageError(
                    f"hold on {name}: {target} does not exist at {ref.repository}",
                    f"fix the digest in [channels.{opts.channel}.holds] or remove the hold",
                )
            report = resolver.resolve(name, ref, target)
            decision = decide(channel, report.resolved, previous, bump_on="digest", accept_moved=True)
        moved = now is not None and now != target
        held[name] = {
            "name": name,
            "tag": decision.entry.tag,
            "digest": str(target),
            "reason": hold.reason,
            "tag-now": str(now) if moved else None,
        }
        note = f"held at {decision.entry.tag} ({target.short})" + (f": {hold.reason}" if hold.reason else "")
        if moved:
            note += f"; {channel.tag} moved upstream to {now.short}"
        return attach(decision, ref), [note], []

    def work(name: str) -> tuple[Decision | None, list, list]:
        ref = refs[name]
        previous = seen.get(name)
        if progress:
            progress(name, "resolving")
        if name in holds:
            return keep_held(name, ref, previous, holds[name])
        try:
            # Never locked: the manifest is needed anyway, so GET it by tag (one round trip,
            # verified against Docker-Content-Digest). Locked before: HEAD first, which is
            # free on Docker Hub and usually all a re-lock needs.
            head = (heads.take(name) if heads else resolver.head(ref)) if previous is not None else None
            if previous is not None and head is not None and head == previous.digest:
                bare = ref.bare
                now = previous if previous.repository == bare else replace(previous, repository=bare)
                return attach(decide(channel, now, previous, bump_on=bump_on), ref), [], []
            report = resolver.resolve(name, ref, head, given(name, ref))
        except NotFoundError:
            if name in channel.optional_images:
                return None, [f"{name}: skipped, optional image not found at {ref}"], []
            raise
        if name in trusted and report.given:
            scanned = tuple(p for p in report.described if p not in report.given)
            trusted[name] = replace(trusted[name], scanned=scanned)
        gone = False
        if (
            previous is not None
            and report.resolved.manifesto_digest == previous.manifesto_digest
            and not channel.static
        ):
            gone = not resolver.exists(ref, previous.digest)
        decision = attach(
            decide(
                channel, report.resolved, previous, bump_on=bump_on, previous_gone=gone, accept_moved=opts.accept_moved
            ),
            ref,
        )
        if progress:
            progress(name, decision.outcome.value if decision else Outcome.REFUSED.value)
        return decision, report.notes, report.label_conflicts

    def unchanged_here(name: str) -> tuple[Decision | None, list, list] | None:
        """``work(name)`` done in this thread when its HEAD answered the locked digest: deciding
        it asks nothing more, so no worker is needed (a re-lock is mostly such images)."""
        previous = seen.get(name)
        if heads is None or previous is None or name in holds or opts.refresh_referrers:
            return None
        return work(name) if heads.peek(name) == previous.digest else None

    order = heads.as_ready(names) if heads is not None else names
    results = map_quick_first(work, names, opts.jobs, unchanged_here, order)
    decisions = [r[0] for r in results if r[0] is not None]
    warnings = [
        f"{name}: {n}" if d is not None or name in refusals else n
        for name, (d, notes, _) in zip(names, results)
        for n in notes
    ]
    conflicts = [f"{name}: {c}" for name, (_, _, cs) in zip(names, results) for c in cs]
    if conflicts and opts.strict_labels:
        raise CheckFailed(
            f"{len(conflicts)} version label(s) disagree with the image content; first: {conflicts[0]}",
            "fix the image labels or drop --strict-labels (the content's value is what gets locked)",
        )
    warnings.extend(conflicts)

    partial = opts.images or opts.exclude
    kept = dict(current.images) if current is not None and partial else {}  # --image/--exclude: others stay
    kept.update((d.entry.name, d.entry) for d in decisions)
    new = Lockfile(channel=opts.channel, images=kept, static=channel.static)
    removed = sorted(set(current.images) - set(new.images)) if current else []
    result = LockResult(opts.channel, new, decisions, diff_locks(current, new), removed, warnings=warnings)
    result.refused = [refusals[n] for n in sorted(refusals)]
    result.warnings.extend(f"{n}: {attached_notes[n]}" for n in sorted(attached_notes))
    result.held = [held[n] for n in sorted(held)]
    # unchanged images reuse their text from the base lockfile, and reading back parses
    # only the images written anew; never write what does not read back as the lock
    text = reader.dumps(new)
    if reader.lock(text, path) != new:
        raise CheckFailed(f"{path}: the new lockfile does not read back as written", "report this as a bug")
    lockhistory.keep_verified_tables(repo, path, reader.verified_tables(), tables)
    nothing = current is None and not new.images  # every image refused or skipped: no empty lockfile
    result.text = text if text != old_bytes and not nothing else None
    result.base = base
    return result


def apply_lock(repo, result: LockResult, opts: LockOptions) -> LockResult:
    """Write and commit what :func:`plan_lock` computed; push if asked.

    ``--dry-run`` writes and pushes nothing. ``--branch B --push R`` with nothing
    changed and no branch B yet (a quiet night) pushes nothing and is not an error.
    """
    if opts.dry_run:
        return result
    path = lock_path(opts.channel)
    if result.text is not None:
        message = summary_text(result)
        if opts.commit:
            # compare-and-swap on the commit the lock was computed from: a concurrent
            # lock or commit makes this fail cleanly instead of stacking stale revisions
            result.commit = repo.commit_file(
                path, result.text, message, branch=opts.branch, expected_parent=result.base
            )
        else:
            repo.write_worktree(path, result.text)
        result.written = True
    if opts.push:
        if result.text is None and opts.branch and not repo.branch_exists(opts.branch):
            result.push_skipped = True
            return result
        branch = opts.branch or repo.head_branch()
        if not branch:
            raise UsageError("HEAD is detached: nothing to push", "pass --branch NAME")
        repo.push(opts.push, branch)
        result.pushed = branch
    return result


def _attached_note(client, ref, referrer, entry) -> str:
    """An attached manifesto artifact is read (one manifest GET) and compared, never trusted:
    the layers were scanned anyway."""
    manifest = client.get_manifest(ImageRef(ref.registry, ref.path), Digest.parse(referrer.digest))
    parsed = layer_of(manifest.raw)
    if parsed is None:
        return f"attached manifesto {Digest.parse(referrer.digest).short} is unreadable"
    layer, notes = parsed
    same = layer == str(entry.manifesto_digest)
    return (
        f"attached manifesto {Digest.parse(referrer.digest).short} (tag {notes.get(PREFIX + 'tag', '?')}) "
        f"{'matches' if same else 'differs from'} the scanned content"
    )
