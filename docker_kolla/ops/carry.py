"""``promote`` carries what hangs off each promoted digest: signatures, attestations, referrers.

For a promoted image, what discovery finds at the source is copied to the
destination byte for byte: each attached manifest (and its blobs) keeps its
digest, so its signatures stay valid. cosign's ``.sig`` / ``.att`` / ``.sbom``
tags are put under the same tag; OCI 1.1 referrers are put by digest (their
``subject`` links them) and, when the destination has no referrers API, listed in
its ``sha256-<hex>`` tag-schema index (an unsigned list, built or extended here,
as writers do). BuildKit attestations live inside the image index, so they travel
with it. Afterwards the destination is discovered again and every carried
manifest must be there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from docker_kolla.core import referrers as rf
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import OCI_INDEX
from docker_kolla.core.reference import ImageRef
from docker_kolla.core.referrers import Referrer
from docker_kolla.errors import NotFoundError, RegistryError

log = logging.getLogger(__name__)
MODES = ("all", "signatures", "none")


def selected(referrer: Referrer, mode: str) -> bool:
    """Does ``--referrers MODE`` carry this one? Index attestations travel with the index anyway."""
    if mode == "none" or referrer.found_via == rf.INDEX:
        return False
    return mode == "all" or referrer.kind == rf.SIGNATURE


@dataclass
class Carried:
    """What carrying did for one image."""

    copied: int = 0  # attached manifests put at the destination
    present: int = 0  # already there with the same bytes
    missing: list = field(default_factory=list)  # "sha256:… (kind)" not found at the destination afterwards


class Carrier:
    """Copies referrers with a :class:`~docker_kolla.adapters.copier.Copier`; thread-safe like it."""

    def __init__(self, copier, source, destination, mode: str = "all") -> None:
        self.copier = copier
        self.source = source  # ops.discover.Discoverer on the source client
        self.destination = destination  # and on the destination client
        self.mode = mode

    def carry(
        self, src: ImageRef, dst: ImageRef, digest: Digest, platforms: dict, stats, *, top: bool = True
    ) -> Carried:
        """Carry the referrers of ``digest`` (unless ``top`` is False: a --platform subset) and of
        each platform digest, adding the copies to ``stats`` (a CopyStats); then check the
        destination has them all."""
        done = Carried()
        if self.mode == "none":
            return done
        found = [r for r in self.source.discover(src, digest, platforms, top=top) if selected(r, self.mode)]
        if not found:
            return done
        listed: dict = {}  # subject -> descriptors to list in the destination's tag-schema index
        for r in found:
            if r.found_via == rf.COSIGN_TAG:
                self._tag(src, dst, r, done, stats)
            else:
                raw = self._by_digest(src, dst, r, done, stats)
                listed.setdefault(r.subject, []).append(descriptor_of(r, raw))
        if listed and not self.destination.has_api(dst, digest):
            for subject, descriptors in sorted(listed.items()):
                self._list(dst, Digest.parse(subject), descriptors, stats)
        there = {(r.subject, r.digest) for r in self.destination.discover(dst, digest, platforms, top=top)}
        done.missing = [f"{r.digest} ({r.kind})" for r in found if (r.subject, r.digest) not in there]
        return done

    def settled(self, dst: ImageRef, recorded, digest: Digest, platforms: dict, *, top: bool = True) -> bool:
        """Is every referrer in ``recorded`` (a lock entry's, those this mode carries) at ``dst``?

        Only the subjects carried count (``digest`` unless ``top`` is False, and the platform
        digests). cosign tags: one HEAD each, holding the recorded digest; the others: one
        listing per subject (the referrers API where the destination has it, else its
        tag-schema index) naming every recorded digest. False on any doubt: the caller then
        discovers at the source and carries in full.
        """
        subjects = {str(d) for d in platforms.values()} | ({str(digest)} if top else set())
        wanted = [r for r in recorded if selected(r, self.mode) and r.subject in subjects]
        listed: dict = {}
        for r in wanted:
            if r.found_via == rf.COSIGN_TAG:
                if not self._tag_holds(dst, r):
                    return False
            else:
                listed.setdefault(r.subject, set()).add(r.digest)
        client = self.copier.dst
        for subject, digests in sorted(listed.items()):
            if self.destination.has_api(dst, digest):
                descriptors = client.get_referrers(dst, Digest.parse(subject))
            else:
                try:
                    raw = client.get_manifest(dst.with_tag(rf.schema_tag(Digest.parse(subject)))).raw
                except NotFoundError:
                    return False
                descriptors = rf.index_descriptors(raw)
            if not digests <= {d["digest"] for d in descriptors or []}:
                return False
        return True

    def _tag_holds(self, dst: ImageRef, r: Referrer) -> bool:
        """Does one of cosign's tags for ``r.subject`` (the one its payload type names first) hold ``r.digest``?"""
        by_type = {rf.SIMPLE_SIGNING: "sig", rf.DSSE_ENVELOPE: "att", rf.IN_TOTO: "att"}
        first = by_type.get(r.artifact_type, "sbom" if r.kind == rf.SBOM else "att")
        for suffix in (first, *(s for s in rf.COSIGN_SUFFIXES if s != first)):
            try:
                held = self.copier.dst.head_manifest(dst.with_tag(rf.cosign_tag(Digest.parse(r.subject), suffix)))
            except NotFoundError:
                continue
            if held.digest is not None and str(held.digest) == r.digest:
                return True
        return False

    def _tag(self, src: ImageRef, dst: ImageRef, r: Referrer, done: Carried, stats) -> None:
        """A cosign tag: same tag, same bytes; a destination tag with other signatures is not overwritten."""
        at = dst.with_tag(r.tag)
        try:
            held = self.copier.dst.head_manifest(at).digest
        except NotFoundError:
            held = None
        if held is not None and str(held) == r.digest:
            done.present += 1
            return
        if held is not None:
            raise RegistryError(
                f"{dst.repository}:{r.tag} holds other signatures ({held.short}); not overwritten",
                "merge them deliberately (e.g. re-sign at the destination) or delete that tag",
            )
        manifest = self.copier.src.get_manifest(src, Digest.parse(r.digest))
        stats.add(self.copier.copy_image(src, dst, manifest.raw, manifest.media_type, [r.tag]))
        done.copied += 1

    def _by_digest(self, src: ImageRef, dst: ImageRef, r: Referrer, done: Carried, stats) -> bytes:
        manifest = self.copier.src.get_manifest(src, Digest.parse(r.digest))
        copied = self.copier.copy_manifest(src, dst, manifest)
        stats.add(copied)
        if copied.manifests_put:
            done.copied += 1
        else:
            done.present += 1
        return manifest.raw

    def _list(self, dst: ImageRef, subject: Digest, descriptors: list, stats) -> None:
        put = list_in_tag_schema(self.copier.dst, dst, subject, descriptors)
        if put:
            stats.manifests_put += 1
            stats.manifest_bytes += put


def list_in_tag_schema(client, dst: ImageRef, subject: Digest, descriptors: list) -> int:
    """Add descriptors to ``dst``'s ``sha256-<hex>`` tag-schema index (read, extend, put), as
    writers do on a registry without the referrers API; returns the bytes put (0: already listed)."""
    at = dst.with_tag(rf.schema_tag(subject))
    try:
        old = rf.index_descriptors(client.get_manifest(at).raw) or []
    except NotFoundError:
        old = []
    have = {d["digest"] for d in old}
    new = [d for d in descriptors if d["digest"] not in have]
    if not new:
        return 0
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": old + new}, indent=2).encode()
    client.put_manifest(at, body, OCI_INDEX)
    return len(body)


def descriptor_of(r: Referrer, raw: bytes) -> dict:
    """The index descriptor of an attached manifest (distribution-spec: artifactType and annotations)."""
    doc = json.loads(raw)
    desc = {"mediaType": r.media_type or doc.get("mediaType", ""), "digest": r.digest, "size": len(raw)}
    if r.artifact_type:
        desc["artifactType"] = r.artifact_type
    if isinstance(doc.get("annotations"), dict) and doc["annotations"]:
        desc["annotations"] = doc["annotations"]
    return desc
