"""A channel's trust policy applied to what discovery finds (ops.discover): the keys it names,
why it refuses an image, the fail-closed re-check before a pull or a copy, and the report of
``verify --signatures``."""

from __future__ import annotations

from dataclasses import dataclass, replace

from docker_kolla.core import referrers as rf
from docker_kolla.core.digest import Digest
from docker_kolla.core.reference import Location
from docker_kolla.core.referrers import Referrer
from docker_kolla.core.trust import PublicKey, load_key
from docker_kolla.core.trustpolicy import TrustPolicy
from docker_kolla.errors import ConfigError, KollaError, UsageError
from docker_kolla.ops.discover import Discoverer
from docker_kolla.ops.parallel import parallel_map


def load_keys(repo, policy: TrustPolicy) -> tuple[PublicKey, ...]:
    """The policy's PEM keys, read from the lock repository's work tree."""
    keys = []
    for path in policy.keys:
        data = repo.worktree_bytes(path)
        if data is None:
            raise ConfigError(f"trust key {path} does not exist in the lock repository", "add the PEM file or fix keys")
        keys.append(load_key(path, data))
    return tuple(keys)


@dataclass(frozen=True)
class Refusal:
    """Why a policy refuses an image."""

    name: str
    reason: str

    def line(self) -> str:
        return f"{self.name}: {self.reason}"


def reverify(
    discoverer: Discoverer, entries: list, policy: TrustPolicy, jobs: int = 8, at: Location | None = None
) -> dict:
    """Fail closed before a pull or a copy: name -> Refusal for every lock entry whose locked
    digest has, at its repository now, no signature a trusted key verifies (or lacks a required
    attestation). Signatures are fetched again; nothing recorded in the lock is trusted.

    ``at``: check the copies under this ``HOST[/NAMESPACE]`` (where ``promote --to`` put them)
    instead; their signatures may name the lock's recorded repository of the image. Anywhere,
    a signature may name a repository the lock recorded as ``signed-as`` for that image.
    """
    checked = recheck(discoverer, entries, policy, jobs, at)
    return {e.name: refusal for e, (refusal, _) in zip(entries, checked) if refusal is not None}


def recheck(
    discoverer: Discoverer, entries: list, policy: TrustPolicy, jobs: int = 8, at: Location | None = None
) -> list[tuple[Refusal | None, tuple[Referrer, ...]]]:
    """For each entry (in order): (why the policy refuses it now or None, what was found)."""
    if not (discoverer.keys or (discoverer.keyless is not None and policy.identities)):
        raise UsageError(
            "verifying signatures needs trusted keys",
            'add keys = ["keys/kolla.pub"] (or keyless identities) to the channel\'s [trust] in channels.toml',
        )
    strict = replace(policy, require="signature")

    def one(entry) -> tuple[Refusal | None, tuple[Referrer, ...]]:
        where = at.repository(entry.repository) if at is not None else entry.repository
        # accepted docker-references: the lock's repository (checking copies elsewhere) and
        # those the lock recorded signatures as signed for (signed-as, after a re-lock at a mirror)
        named = ([str(entry.repository)] if at is not None else []) + [r.signed_as for r in entry.referrers]
        also = tuple(dict.fromkeys(n for n in named if n))
        try:
            found = discoverer.discover(where, entry.digest, entry.platforms, also=also)
        except KollaError as exc:
            return Refusal(entry.name, f"signatures could not be read at {where}: {exc.message}"), ()
        return check_policy(entry.name, entry.digest, found, strict), found

    return parallel_map(one, entries, jobs)


def signature_report(
    discoverer: Discoverer, entries: list, policy: TrustPolicy, jobs: int = 8, at: Location | None = None
) -> tuple[list[str], list[str]]:
    """``verify --signatures``: (problems, notes), one line each, by image name."""
    problems, notes = [], []
    for entry, (refusal, found) in zip(entries, recheck(discoverer, entries, policy, jobs, at)):
        if refusal is not None:
            problems.append(refusal.line())
        for r in found:
            if r.kind != rf.SIGNATURE and not r.verified_by:
                continue
            on = f" ({r.platform})" if r.platform else ""
            if r.verified_by:
                named = f", signed as {r.signed_as}" if r.signed_as else ""
                notes.append(f"{entry.name}{on}: {r.kind} {r.digest[7:19]} verified by {r.verified_by}{named}")
            elif r.note and refusal is None:
                notes.append(f"{entry.name}{on}: {r.kind} {r.digest[7:19]}: {r.note}")
    return problems, notes


def check_policy(name: str, digest: Digest, referrers: tuple[Referrer, ...], policy: TrustPolicy) -> Refusal | None:
    """``require = "signature"``: a verified signature of the locked digest; required attestations present."""
    if policy.require == "signature":
        mine = [r for r in referrers if r.subject == str(digest) and r.kind == rf.SIGNATURE]
        if not any(r.verified_by for r in mine):
            notes = sorted({r.note for r in mine if r.note})
            why = f"signature not verified ({'; '.join(notes)})" if notes else "no signature"
            return Refusal(name, f"{why} for {digest.short}")
    have = {p for r in referrers for p in r.predicate_types}
    missing = [p for p in policy.attestations if p not in have]
    if missing:
        return Refusal(name, f"no {', '.join(missing)} attestation")
    return None
