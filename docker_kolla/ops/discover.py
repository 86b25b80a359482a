"""Discover and verify what is attached to a pinned digest (the requests; parsing is core.referrers).

Per image: one ``tags/list`` of its repository tells which tag-schema and cosign
tags exist for the locked digest and every platform digest, so an absent one
costs nothing; the referrers API is asked once per digest only on registries
that have it (the first 404 on a host turns it off for the run); BuildKit's
attestation manifests come from the index already read. Signatures are then
verified offline with the trusted keys (core.trust), reading each signature
manifest and payload once.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, replace

from docker_kolla.core import referrers as rf
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Index, Manifest
from docker_kolla.core.reference import ImageRef
from docker_kolla.core.referrers import Referrer
from docker_kolla.core.trust import KEYLESS, PublicKey, TrustPolicy, Verdict, load_key, verify_bundle, verify_dsse
from docker_kolla.core.trust import verify_simple_signing as verify_simple
from docker_kolla.errors import ConfigError, KollaError, NotFoundError, UsageError
from docker_kolla.ops.parallel import parallel_map

log = logging.getLogger(__name__)
PAYLOAD_MAX = 4 * 1024 * 1024  # a signature payload or bundle is a few KiB


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


def reverify(discoverer: Discoverer, entries: list, policy: TrustPolicy, jobs: int = 8) -> dict:
    """Fail closed before a pull or a copy: name -> Refusal for every lock entry whose locked
    digest has, at its repository now, no signature a trusted key verifies (or lacks a required
    attestation). Signatures are fetched again; nothing recorded in the lock is trusted."""
    if not discoverer.keys:
        raise UsageError(
            "--verify needs trusted keys", 'add keys = ["keys/kolla.pub"] to the channel\'s [trust] in channels.toml'
        )
    strict = replace(policy, require="signature")

    def one(entry) -> Refusal | None:
        try:
            found = discoverer.discover(entry.repository, entry.digest, entry.platforms)
        except KollaError as exc:
            return Refusal(entry.name, f"signatures could not be read: {exc.message}")
        return check_policy(entry.name, entry.digest, found, strict)

    results = parallel_map(one, entries, jobs)
    return {e.name: r for e, r in zip(entries, results) if r is not None}


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


class Discoverer:
    """Finds referrers of images; safe to share between threads (one per run)."""

    def __init__(self, client, keys: tuple[PublicKey, ...] = ()) -> None:
        self.client = client
        self.keys = keys
        self._guard = threading.Lock()
        self._api: dict[str, bool] = {}  # host -> has the referrers API
        self._probes: dict[str, threading.Lock] = {}

    # -- discovery --------------------------------------------------------------------
    def discover(self, ref: ImageRef, digest: Digest, platforms: dict, *, top: bool = True) -> tuple[Referrer, ...]:
        """Everything attached to ``digest`` and to each platform digest (platform -> digest).

        ``top=False``: only the platform digests (``digest`` itself need not exist there).
        """
        ref = ImageRef(ref.registry, ref.path)
        subjects = [(digest, "")] if top else []
        subjects += [(Digest.parse(str(d)), str(p)) for p, d in sorted(platforms.items())]
        tags = self._tags(ref)
        found: list[Referrer] = []
        for subject, platform in subjects:
            found += self._listed(ref, subject, platform, tags)
            found += self._cosign(ref, subject, platform, tags)
        index = self.client.get_manifest(ref, digest) if top else None
        if isinstance(index, Index):
            by_digest = {str(d): str(p) for p, d in platforms.items()}
            found += self._buildx(ref, index, by_digest)
        if self.keys:
            found = [self.verify(ref, r) for r in found]
        return rf.ordered(found)

    def _tags(self, ref: ImageRef) -> set | None:
        """The repository's tags; None when they cannot be listed (then each tag is asked for)."""
        try:
            return set(self.client.list_tags(ref))
        except NotFoundError:
            return set()
        except KollaError as exc:
            log.debug("tags of %s not listed (%s); asking for each tag", ref.repository, exc.line())
            return None

    def _has_api(self, ref: ImageRef, subject: Digest) -> list[dict] | None:
        """The referrers API answer, or None when the host has no API (found out once per host:
        the first digest on a host asks while the others wait; then all ask in parallel)."""
        host = ref.api_host
        known = self._api.get(host)
        if known is None:
            with self._guard:
                probe = self._probes.setdefault(host, threading.Lock())
            with probe:
                if host not in self._api:
                    listed = self.client.get_referrers(ref, subject)
                    self._api[host] = listed is not None
                    return listed
            known = self._api[host]
        return self.client.get_referrers(ref, subject) if known else None

    def has_api(self, ref: ImageRef, digest: Digest) -> bool:
        """Does ``ref``'s registry serve the referrers API (asked once per host)?"""
        if ref.api_host in self._api:
            return self._api[ref.api_host]
        self._has_api(ImageRef(ref.registry, ref.path), digest)
        return self._api.get(ref.api_host, False)

    def _listed(self, ref: ImageRef, subject: Digest, platform: str, tags: set | None) -> list[Referrer]:
        listed = self._has_api(ref, subject)
        if listed is not None:
            return rf.from_descriptors(listed, subject, platform, rf.API)
        tag = rf.schema_tag(subject)
        manifest = self._by_tag(ref, tag, tags)
        if manifest is None:
            return []
        descriptors = rf.index_descriptors(manifest.raw)
        return rf.from_descriptors(descriptors or [], subject, platform, rf.TAG_SCHEMA)

    def _by_tag(self, ref: ImageRef, tag: str, tags: set | None) -> Manifest | Index | None:
        if tags is not None and tag not in tags:
            return None
        try:
            return self.client.get_manifest(ref.with_tag(tag))
        except NotFoundError:
            return None

    def _cosign(self, ref: ImageRef, subject: Digest, platform: str, tags: set | None) -> list[Referrer]:
        out = []
        for suffix in rf.COSIGN_SUFFIXES:
            tag = rf.cosign_tag(subject, suffix)
            manifest = self._by_tag(ref, tag, tags)
            if manifest is None:
                continue
            kind, predicates = rf.describe_manifest(manifest.raw)
            out.append(
                Referrer(
                    subject=str(subject),
                    digest=str(manifest.digest),
                    found_via=rf.COSIGN_TAG,
                    media_type=manifest.media_type,
                    artifact_type=kind,
                    platform=platform,
                    predicate_types=predicates,
                    tag=tag,
                )
            )
        return out

    def _buildx(self, ref: ImageRef, index: Index, platforms: dict) -> list[Referrer]:
        out = []
        for att, media_type, subject in rf.attestation_entries(index.raw):
            manifest = self.client.get_manifest(ref, att)
            kind, predicates = rf.describe_manifest(manifest.raw)
            out.append(
                Referrer(
                    subject=str(subject),
                    digest=str(att),
                    found_via=rf.INDEX,
                    media_type=media_type,
                    artifact_type=kind,
                    platform=platforms.get(str(subject), ""),
                    predicate_types=predicates,
                )
            )
        return out

    # -- verification -------------------------------------------------------------------
    def verify(self, ref: ImageRef, referrer: Referrer, repository: str | None = None) -> Referrer:
        """``referrer`` with ``verified_by`` (a trusted key verified it) or a ``note`` saying why not.

        Only signatures and signed attestations are verified; other kinds come back as they are.
        """
        if referrer.artifact_type not in (rf.SIMPLE_SIGNING, rf.SIGSTORE_BUNDLE, rf.DSSE_ENVELOPE):
            return referrer
        ref = ImageRef(ref.registry, ref.path)
        repository = repository or ref.repository
        manifest = self.client.get_manifest(ref, Digest.parse(referrer.digest))
        if not isinstance(manifest, Manifest):
            return referrer.noted("not an image manifest")
        subject = Digest.parse(referrer.subject)
        if referrer.artifact_type == rf.SIGSTORE_BUNDLE and rf.subject_of(manifest.raw) not in ("", referrer.subject):
            return referrer.noted("its subject is another digest")
        verdicts = [self._layer(ref, layer, referrer.artifact_type, subject, repository) for layer in manifest.layers]
        good = next((v for v in verdicts if v.ok), None)
        if good is not None:
            return referrer.verified(good.by)
        reasons = [v.why for v in verdicts if v.why]
        return referrer.noted(reasons[0] if reasons else "no signature in it")

    def _layer(self, ref: ImageRef, layer, artifact_type: str, subject: Digest, repository: str) -> Verdict:
        notes = dict(layer.annotations)
        if artifact_type == rf.SIMPLE_SIGNING:
            if layer.media_type != rf.SIMPLE_SIGNING:
                return Verdict()
            if notes.get(rf.COSIGN_CERTIFICATE_ANNOTATION):
                return Verdict(why=KEYLESS)
            payload = self.client.get_blob(ref, layer.digest, PAYLOAD_MAX)
            return verify_simple(payload, notes.get(rf.COSIGN_SIGNATURE_ANNOTATION, ""), subject, repository, self.keys)
        raw = self.client.get_blob(ref, layer.digest, PAYLOAD_MAX)
        if artifact_type == rf.SIGSTORE_BUNDLE:
            return verify_bundle(raw, subject, self.keys)
        try:
            envelope = json.loads(raw)
        except ValueError:
            return Verdict(why="attestation layer is not JSON")
        return verify_dsse(envelope, subject, self.keys)[0]
