"""Discover and verify what is attached to a pinned digest (the requests; parsing is core.referrers).

Per image: one ``tags/list`` of its repository tells which tag-schema and cosign
tags exist for the locked digest and every platform digest, so an absent one
costs nothing; the referrers API is asked once per digest only on registries
that have it (the first 404 on a host turns it off for the run); BuildKit's
attestation manifests come from the index already read. The requests of one
image run in parallel: first the tag list, the index and the API (one per
digest), then each existing tag-schema index and cosign tag, then the
verification of each signature found. Signatures are verified offline with the
trusted keys (core.trust), keyless bundles with the optional keyless verifier
(adapters.keyless, built in cli/factory.py), reading each manifest and payload once.
"""

from __future__ import annotations

import json
import logging
import threading

from docker_kolla.core import referrers as rf
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Index, Manifest
from docker_kolla.core.reference import ImageRef
from docker_kolla.core.referrers import Referrer
from docker_kolla.core.trust import (
    KEYLESS,
    KEYLESS_LEGACY,
    PublicKey,
    Verdict,
    is_keyless_bundle,
    verify_bundle,
    verify_dsse,
)
from docker_kolla.core.trust import verify_simple_signing as verify_simple
from docker_kolla.core.trustpolicy import TrustPolicy
from docker_kolla.errors import KollaError, NotFoundError
from docker_kolla.ops.parallel import parallel_map

log = logging.getLogger(__name__)
PAYLOAD_MAX = 4 * 1024 * 1024  # a signature payload or bundle is a few KiB


def plain(client, keys: tuple[PublicKey, ...] = (), policy: TrustPolicy | None = None) -> Discoverer:
    """A Discoverer without keyless verification: what ops use when cli/factory.py gave them
    no ``discoverer`` builder (same signature as ``factory.discoverer``)."""
    return Discoverer(client, keys)


def _each(fn, items: list, width: int) -> list:
    """``fn`` over ``items`` on up to ``width`` threads (inline for one item: no pool)."""
    if len(items) <= 1 or width <= 1:
        return [fn(x) for x in items]
    return parallel_map(fn, items, min(width, len(items)))


class Discoverer:
    """Finds referrers of images; safe to share between threads (one per run).

    ``keyless``: verifies keyless bundles (``verify(raw, digest) -> Verdict``), or None.
    ``width``: parallel requests within one image (images themselves run in parallel too).
    """

    def __init__(self, client, keys: tuple[PublicKey, ...] = (), keyless=None, width: int = 4) -> None:
        self.client = client
        self.keys = keys
        self.keyless = keyless
        self.width = width
        self._guard = threading.Lock()
        self._api: dict[str, bool] = {}  # host -> has the referrers API
        self._probes: dict[str, threading.Lock] = {}

    @property
    def verifying(self) -> bool:
        return bool(self.keys) or self.keyless is not None

    # -- discovery --------------------------------------------------------------------
    def discover(
        self, ref: ImageRef, digest: Digest, platforms: dict, *, top: bool = True, also: tuple[str, ...] = ()
    ) -> tuple[Referrer, ...]:
        """Everything attached to ``digest`` and to each platform digest (platform -> digest).

        ``top=False``: only the platform digests (``digest`` itself need not exist there).
        ``also``: other repositories a signature's docker-reference may name (core.trust).
        """
        ref = ImageRef(ref.registry, ref.path)
        subjects = [(digest, "")] if top else []
        subjects += [(Digest.parse(str(d)), str(p)) for p, d in sorted(platforms.items())]
        # first wave: the tag list, the index, the referrers API for each digest
        first: list = [("tags", None), ("index", None)] if top else [("tags", None)]
        first += [("api", s) for s in subjects]

        def wave1(job):
            kind, subject = job
            if kind == "tags":
                return self._tags(ref)
            if kind == "index":
                return self.client.get_manifest(ref, digest)
            return self._has_api(ref, subject[0])

        answers = self._first_wave(ref, digest, first, wave1)
        tags = answers[0]
        index = answers[1] if top else None
        listed = dict(zip(subjects, answers[len(first) - len(subjects) :]))
        # second wave: the tag-schema index where there is no API, each existing cosign
        # tag, each BuildKit attestation manifest of the index
        second: list = []
        for subject in subjects:
            if listed[subject] is None:
                second.append(("schema", subject, rf.schema_tag(subject[0])))
            second += [("cosign", subject, rf.cosign_tag(subject[0], x)) for x in rf.COSIGN_SUFFIXES]
        second = [job for job in second if tags is None or job[2] in tags]
        if isinstance(index, Index):
            by_digest = {str(d): str(p) for p, d in platforms.items()}
            second += [("buildx", entry, by_digest) for entry in rf.attestation_entries(index.raw)]

        def wave2(job) -> list[Referrer]:
            kind, what, extra = job
            if kind == "schema":
                return self._schema(ref, what[0], what[1], extra)
            if kind == "cosign":
                return self._cosign(ref, what[0], what[1], extra)
            return [self._buildx(ref, what, extra)]

        found: list[Referrer] = []
        for subject in subjects:
            if listed[subject] is not None:
                found += rf.from_descriptors(listed[subject], subject[0], subject[1], rf.API)
        for part in _each(wave2, second, self.width):
            found += part
        if self.verifying:
            found = _each(lambda r: self.verify(ref, r, also=also), found, self.width)
        return rf.ordered(found)

    def _first_wave(self, ref: ImageRef, digest: Digest, jobs: list, wave1) -> list:
        """``wave1`` over ``jobs``; answers known without a request (a host known to have no
        referrers API, an index the client holds already, as after a promote copied it) are
        given here, so threads start only for requests."""
        index = self.client.cached_manifest(digest)
        answers: dict = {}
        pending = []
        for i, (kind, _subject) in enumerate(jobs):
            if kind == "api" and self._api.get(ref.api_host) is False:
                answers[i] = None
            elif kind == "index" and index is not None:
                answers[i] = index
            else:
                pending.append(i)
        for i, answer in zip(pending, _each(wave1, [jobs[i] for i in pending], self.width)):
            answers[i] = answer
        return [answers[i] for i in range(len(jobs))]

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

    def _schema(self, ref: ImageRef, subject: Digest, platform: str, tag: str) -> list[Referrer]:
        manifest = self._by_tag(ref, tag)
        if manifest is None:
            return []
        descriptors = rf.index_descriptors(manifest.raw)
        return rf.from_descriptors(descriptors or [], subject, platform, rf.TAG_SCHEMA)

    def _by_tag(self, ref: ImageRef, tag: str) -> Manifest | Index | None:
        try:
            return self.client.get_manifest(ref.with_tag(tag))
        except NotFoundError:
            return None

    def _cosign(self, ref: ImageRef, subject: Digest, platform: str, tag: str) -> list[Referrer]:
        manifest = self._by_tag(ref, tag)
        if manifest is None:
            return []
        kind, predicates = rf.describe_manifest(manifest.raw)
        return [
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
        ]

    def _buildx(self, ref: ImageRef, entry: tuple, platforms: dict) -> Referrer:
        att, media_type, subject = entry
        manifest = self.client.get_manifest(ref, att)
        kind, predicates = rf.describe_manifest(manifest.raw)
        return Referrer(
            subject=str(subject),
            digest=str(att),
            found_via=rf.INDEX,
            media_type=media_type,
            artifact_type=kind,
            platform=platforms.get(str(subject), ""),
            predicate_types=predicates,
        )

    # -- verification -------------------------------------------------------------------
    def verify(
        self, ref: ImageRef, referrer: Referrer, repository: str | None = None, also: tuple[str, ...] = ()
    ) -> Referrer:
        """``referrer`` with ``verified_by`` (a trusted key or identity verified it) or a ``note``
        saying why not. ``also``: other repositories a signed docker-reference may name.

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
        layers = list(manifest.layers)
        verdicts = _each(
            lambda layer: self._layer(ref, layer, referrer.artifact_type, subject, repository, also), layers, self.width
        )
        good = next((v for v in verdicts if v.ok), None)
        if good is not None:
            return referrer.verified(good.by, good.reference)
        reasons = [v.why for v in verdicts if v.why]
        return referrer.noted(reasons[0] if reasons else "no signature in it")

    def _layer(
        self, ref: ImageRef, layer, artifact_type: str, subject: Digest, repository: str, also: tuple[str, ...]
    ) -> Verdict:
        notes = dict(layer.annotations)
        if artifact_type == rf.SIMPLE_SIGNING:
            if layer.media_type != rf.SIMPLE_SIGNING:
                return Verdict()
            payload = self.client.get_blob(ref, layer.digest, PAYLOAD_MAX)
            signature = notes.get(rf.COSIGN_SIGNATURE_ANNOTATION, "")
            verdict = verify_simple(payload, signature, subject, repository, self.keys, also)
            if not verdict.ok and notes.get(rf.COSIGN_CERTIFICATE_ANNOTATION):
                # a certificate instead of a trusted key (keyless): its chain and log entry are not checked
                return Verdict(why=KEYLESS_LEGACY if self.keyless is not None else KEYLESS)
            return verdict
        raw = self.client.get_blob(ref, layer.digest, PAYLOAD_MAX)
        if artifact_type == rf.SIGSTORE_BUNDLE:
            if self.keyless is not None and is_keyless_bundle(raw):
                return self.keyless.verify(raw, subject)
            return verify_bundle(raw, subject, self.keys)
        try:
            envelope = json.loads(raw)
        except ValueError:
            return Verdict(why="attestation layer is not JSON")
        return verify_dsse(envelope, subject, self.keys)[0]
