"""``attach`` (and ``promote --attach-manifesto``): publish each locked digest's manifesto as an
OCI artifact with ``subject`` = that digest; and read it back (``inspect --attached``).

The artifact (core.attached) goes in by digest; a registry with the referrers API indexes
it by its subject, one without it gets the ``sha256-<hex>`` tag-schema index extended.
Re-attaching the same lock puts nothing: the artifact's bytes depend only on the entry.

With a signing key the artifact's digest is signed cosign-style (core.signing): a
simple-signing layer appended to its ``sha256-<hex>.sig`` tag, which ops.discover finds
and core.trust verifies like any other image signature. An artifact already carrying a
signature that the same key verifies is not signed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from docker_kolla.core import attached as at
from docker_kolla.core import referrers as rf
from docker_kolla.core import signing as sg
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import OCI_MANIFEST, Descriptor
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import NotFoundError, RegistryError
from docker_kolla.ops.carry import descriptor_of, list_in_tag_schema
from docker_kolla.ops.discover import Discoverer
from docker_kolla.ops.parallel import parallel_map

ATTACHED, PRESENT = "attached", "already attached"
SIGNED, SIGNED_BEFORE = "signed", "already signed"
MAX_MANIFESTO = 16 * 1024 * 1024


@dataclass(frozen=True)
class AttachOutcome:
    name: str
    repository: str
    artifact: str  # the artifact manifest digest
    status: str
    signature: str = ""  # SIGNED, SIGNED_BEFORE, or "" without a signing key
    signed_by: str = ""  # the signing key's fingerprint


class Signer:
    """A signing key, and discovery trusting only its public half (to find its own signatures)."""

    def __init__(self, client, key: sg.SigningKey) -> None:
        self.key = key
        self.verifier = Discoverer(client, (key.public,))


def sign_digest(client, signer: Signer, repo: ImageRef, digest: Digest) -> str:
    """Sign ``digest`` in ``repo`` under its ``.sig`` tag, unless ``signer``'s key already did."""
    found = signer.verifier.discover(repo, digest, {})
    if any(r.kind == rf.SIGNATURE and r.verified_by == signer.key.fingerprint for r in found):
        return SIGNED_BEFORE
    tag = repo.with_tag(rf.cosign_tag(digest, "sig"))
    try:
        layers = list(json.loads(client.get_manifest(tag).raw).get("layers") or [])
    except NotFoundError:
        layers = []
    payload = sg.payload(repo.repository, digest)
    layers.append(sg.signature_layer(signer.key, payload))
    manifest, config = sg.signature_manifest(layers)
    for blob in (payload, config):
        blob_digest = Digest.of(blob)
        if not client.blob_exists(repo, blob_digest):
            client.upload_blob(repo, blob_digest, len(blob), iter([blob]))
    client.put_manifest(tag, manifest, OCI_MANIFEST)
    return SIGNED


def attach_one(client, discoverer, repo: ImageRef, entry, commit: str, signer: Signer | None = None) -> AttachOutcome:
    """Push ``entry``'s manifesto artifact into ``repo`` (a repository holding ``entry.digest``);
    with ``signer``, sign the artifact's digest."""
    subject = client.get_manifest(repo, entry.digest)
    art = at.build(entry, len(subject.raw), commit)
    try:
        client.head_manifest(repo.with_digest(art.digest))
        status = PRESENT
    except NotFoundError:
        for blob in (art.config, art.layer):
            digest = Digest.of(blob)
            if not client.blob_exists(repo, digest):
                client.upload_blob(repo, digest, len(blob), iter([blob]))
        client.put_manifest(repo.with_digest(art.digest), art.manifest, OCI_MANIFEST)
        status = ATTACHED
    if not discoverer.has_api(repo, entry.digest):
        ref = rf.Referrer(str(entry.digest), str(art.digest), rf.TAG_SCHEMA, OCI_MANIFEST, rf.MANIFESTO_ARTIFACT)

        list_in_tag_schema(client, repo, entry.digest, [descriptor_of(ref, art.manifest)])
    if signer is None:
        return AttachOutcome(entry.name, repo.repository, str(art.digest), status)
    signed = sign_digest(client, signer, repo, art.digest)
    return AttachOutcome(entry.name, repo.repository, str(art.digest), status, signed, signer.key.fingerprint)


def attach_all(
    client, discoverer, targets: list, commit: str, jobs: int = 8, signer: Signer | None = None
) -> list[AttachOutcome]:
    """``targets``: (repository ImageRef, lock entry) pairs."""
    return parallel_map(lambda t: attach_one(client, discoverer, t[0], t[1], commit, signer), targets, jobs)


def read_attached(client, discoverer, repo: ImageRef, digest: Digest) -> at.Attached | None:
    """The manifesto artifact attached to ``digest``, verified against its own layer digest; None if absent."""
    found = [r for r in discoverer.discover(repo, digest, {}) if r.artifact_type == rf.MANIFESTO_ARTIFACT]
    for r in sorted(found, key=lambda r: r.digest):
        manifest = client.get_manifest(repo, Digest.parse(r.digest))
        parsed = at.layer_of(manifest.raw)
        if parsed is None or rf.subject_of(manifest.raw) != str(digest):
            continue
        layer, notes = parsed
        desc = Descriptor(rf.MANIFESTO_ARTIFACT, Digest.parse(layer), 0)
        raw = client.get_blob(repo, desc.digest, MAX_MANIFESTO)
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise RegistryError(
                f"attached manifesto {r.digest} is not JSON", "re-attach it with docker kolla attach"
            ) from exc
        return at.Attached(r.digest, layer, notes, value)
    return None
