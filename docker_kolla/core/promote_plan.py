"""The promote plan, as data: per image copy, move the channel tag, already present, or refused.

Pure: the destination's current tags are observed by the caller and passed in,
so ``--dry-run`` prints exactly what a real run would do. Rules (docs/design.md,
issue 4):

* ``:<tag-revision>`` (``ocata-3``, or the release tag of a static channel) is
  immutable. Absent: copy. Same digest: nothing to copy, no PUT. Another
  digest: refused, never overwritten.
* ``:<channel>`` (``ocata``) moves to the locked revision; static channels
  have no moving tag.
* Destination repository: ``HOST/NAMESPACE/<last component of the source
  path>``; with ``--to HOST`` alone the source path is kept as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Mapping, Sequence

from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.core.states import Step
from docker_kolla.errors import UsageError

COPY, TAG, PRESENT, REFUSED = Step.COPY, Step.TAG, Step.PRESENT, Step.REFUSED  # what a plan decides
ACTIONS = (COPY, TAG, PRESENT, REFUSED)

_ATTESTATION_REF = "vnd.docker.reference.digest"


@dataclass(frozen=True)
class Target:
    """What one image should look like at the destination.

    Attributes:
        digest: what the tags must point at: the locked digest, or the digest of
            the new index when ``--platform`` selected a subset.
        locked: the digest in the lockfile.
        subset: True when ``digest`` is a new index made for ``--platform``.
        rev_tag: the immutable tag (``ocata-3``, or ``4.0.0`` for static channels).
        channel_tag: the moving tag (``ocata``); "" for static channels.
    """

    name: str
    source: ImageRef  # repositories (no tag, no digest)
    destination: ImageRef
    digest: Digest
    locked: Digest
    media_type: str
    rev_tag: str
    channel_tag: str = ""
    subset: bool = False
    note: str = ""  # why an image cannot be promoted at all (no selected platform)

    @property
    def tags(self) -> tuple[str, ...]:
        return (self.rev_tag, self.channel_tag) if self.channel_tag else (self.rev_tag,)


@dataclass(frozen=True)
class Observed:
    """The destination's digests for the two tags now (None: tag absent)."""

    rev_tag: Digest | None = None
    channel_tag: Digest | None = None


@dataclass(frozen=True)
class PlanItem:
    target: Target
    action: Step
    put_tags: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    channel: str
    destination: str
    items: tuple[PlanItem, ...] = field(default_factory=tuple)

    def by_action(self, action: Step) -> list[PlanItem]:
        return [i for i in self.items if i.action == action]

    @property
    def has_work(self) -> bool:
        """True if a real run would write anything (or refuse something)."""
        return any(i.action != PRESENT for i in self.items)

    def counts(self) -> dict[Step, int]:
        return {a: len(self.by_action(a)) for a in ACTIONS}


@dataclass
class CopyStats:
    """What one copy did. ``bytes_moved`` counts blob bytes uploaded (read from the
    source and written to the destination); manifests are counted apart."""

    bytes_moved: int = 0
    bytes_mounted: int = 0
    bytes_present: int = 0
    blobs_uploaded: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    manifest_bytes: int = 0
    manifests_put: int = 0
    manifests_present: int = 0

    def add(self, other: CopyStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def plan_image(target: Target, observed: Observed) -> PlanItem:
    """Decide one image from the destination's current tags."""
    if target.note:
        return PlanItem(target, REFUSED, reason=target.note)
    have = observed.rev_tag
    if have is not None and have != target.digest:
        return PlanItem(
            target,
            REFUSED,
            reason=(
                f"{target.destination}:{target.rev_tag} is {have}, not {target.digest}; "
                "immutable tags are never overwritten"
            ),
        )
    if have is None:
        return PlanItem(target, COPY, put_tags=target.tags)
    if target.channel_tag and observed.channel_tag != target.digest:
        return PlanItem(target, TAG, put_tags=(target.channel_tag,))
    return PlanItem(target, PRESENT)


def make_plan(channel: str, destination: str, targets: Sequence[Target], observed: Mapping[str, Observed]) -> Plan:
    """The plan for every target, in the order given."""
    items = tuple(plan_image(t, observed.get(t.name, Observed())) for t in targets)
    return Plan(channel, destination, items)


def select_images(names: Iterable[str], wanted: Sequence[str]) -> list[str]:
    """The lock's images restricted to ``--image`` (all when none given)."""
    names = sorted(names)
    if not wanted:
        return names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise UsageError(f"not in the lock: {', '.join(unknown)}", "pick images listed by `docker kolla inspect`")
    return [n for n in names if n in set(wanted)]


def subset_index(raw: bytes, platforms: Sequence[Platform]) -> tuple[bytes, tuple[Digest, ...]] | None:
    """A new index holding only ``platforms`` (and their attestations).

    Returns (bytes, kept platform digests), or None when the index already holds
    exactly those platforms (the original bytes and digest are then kept).
    Deterministic: equal input gives equal bytes, so a re-run finds the same
    digest at the destination.
    """
    doc = json.loads(raw)
    entries = doc.get("manifests") or []
    wanted = set(platforms)
    kept, platform_count = [], 0
    for entry in entries:
        plat = entry.get("platform") or {}
        p = Platform.normalised(plat.get("os", ""), plat.get("architecture", ""), plat.get("variant", ""))
        if _is_attestation(entry, p):
            continue
        platform_count += 1
        if p in wanted:
            kept.append(entry)
    keep_digests = {e["digest"] for e in kept}
    attest = [e for e in entries if (e.get("annotations") or {}).get(_ATTESTATION_REF) in keep_digests]
    if len(kept) == platform_count:
        return None
    doc["manifests"] = [e for e in entries if e in kept or e in attest]
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    return data, tuple(Digest.parse(e["digest"]) for e in kept)


def _is_attestation(entry: dict[str, Any], platform: Platform) -> bool:
    annotations = entry.get("annotations") or {}
    return annotations.get("vnd.docker.reference.type") == "attestation-manifest" or platform.is_unknown
