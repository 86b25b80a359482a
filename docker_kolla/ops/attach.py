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
from docker_kolla.core.manifest import OCI_MANIFEST
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


def _value(client, repo: ImageRef, artifact: str, layer: str, notes: dict) -> at.Attached:
    """The manifesto an artifact's layer holds (its bytes verified against the layer digest)."""
    raw = client.get_blob(repo, Digest.parse(layer), MAX_MANIFESTO)
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise RegistryError(
            f"attached manifesto {artifact} is not JSON", "re-attach it with docker kolla attach"
        ) from exc
    if not isinstance(value, dict):
        raise RegistryError(f"attached manifesto {artifact} is not an object", "re-attach it with docker kolla attach")
    return at.Attached(artifact, layer, notes, value)


def _candidates(referrers, digest: Digest) -> list[str]:
    """Manifesto artifacts listed for ``digest`` (API or tag-schema index), by digest."""
    return sorted({r.digest for r in referrers if r.kind == rf.MANIFESTO and r.subject == str(digest)})


def _checked(client, repo: ImageRef, artifact: str, digest: Digest) -> tuple[tuple[str, dict] | None, str]:
    """(layer digest, annotations) of an artifact that is a manifesto of ``digest``, else (None, why).

    A listing says which subject an artifact is for, but only the artifact's own
    ``subject`` is covered by its digest (and so by a signature of it)."""
    manifest = client.get_manifest(repo, Digest.parse(artifact))
    if rf.subject_of(manifest.raw) != str(digest):
        return None, "its subject is another digest"
    parsed = at.layer_of(manifest.raw)
    return (parsed, "") if parsed is not None else (None, "it is not a manifesto artifact")


def read_attached(client, discoverer, repo: ImageRef, digest: Digest) -> at.Attached | None:
    """The manifesto artifact attached to ``digest``, verified against its own layer digest; None if absent."""
    for artifact in _candidates(discoverer.discover(repo, digest, {}), digest):
        parsed, _ = _checked(client, repo, artifact, digest)
        if parsed is not None:
            return _value(client, repo, artifact, *parsed)
    return None


@dataclass(frozen=True)
class Trusted:
    """What ``--trust-attached-manifesto`` found for one image digest.

    Attributes:
        attached: the manifesto to use instead of scanning, or None (then scan).
        signed_by: the fingerprint of the trusted key whose signature verified.
        why: why no attached manifesto is used ("" when one is).
        artifact: the artifact considered ("" when none is attached).
        scanned: described platforms the artifact does not describe (scanned all the same).
    """

    attached: at.Attached | None
    signed_by: str = ""
    why: str = ""
    artifact: str = ""
    scanned: tuple[str, ...] = ()

    def note(self) -> str:
        short = Digest.parse(self.artifact).short if self.artifact else ""
        if self.attached is not None:
            read = (
                f"scanned {', '.join(self.scanned)}, which it does not describe" if self.scanned else "layers not read"
            )
            return f"manifesto from attached artifact {short}, signed by {self.signed_by} ({read})"
        return f"attached manifesto {short} not trusted ({self.why}): layers scanned"


def signed_by(discoverer, repo: ImageRef, artifact: Digest, also: tuple[str, ...] = ()) -> tuple[str, str]:
    """(fingerprint, "") when a trusted key's signature of ``artifact`` verifies, else ("", why).
    ``also``: other repositories the signature's docker-reference may name."""
    found = discoverer.discover(repo, artifact, {}, also=also)
    sigs = [r for r in found if r.kind == rf.SIGNATURE and r.subject == str(artifact)]
    good = next((r for r in sigs if r.verified_by), None)
    if good is not None:
        return good.verified_by, ""
    if not sigs:
        return "", "unsigned"
    notes = sorted({r.note for r in sigs if r.note})
    return "", f"signature not verified: {'; '.join(notes)}" if notes else "signature not verified"


def trusted_manifesto(
    client, discoverer, repo: ImageRef, digest: Digest, referrers, also: tuple[str, ...] = ()
) -> Trusted:
    """The attached manifesto of ``digest`` if one is signed by a key ``discoverer`` trusts.

    ``referrers``: what discovery found for ``digest``. Each listed manifesto artifact is
    checked (its subject is ``digest``, it is a manifesto) and its signatures verified
    (core.trust via ops.discover); only then is its manifesto read.
    """
    repo = ImageRef(repo.registry, repo.path)
    reasons = []
    for artifact in _candidates(referrers, digest):
        parsed, why = _checked(client, repo, artifact, digest)
        if parsed is None:
            reasons.append(Trusted(None, why=why, artifact=artifact))
            continue
        by, why = signed_by(discoverer, repo, Digest.parse(artifact), also)
        if not by:
            reasons.append(Trusted(None, why=why, artifact=artifact))
            continue
        return Trusted(_value(client, repo, artifact, *parsed), signed_by=by, artifact=artifact)
    return reasons[0] if reasons else Trusted(None, why="no manifesto is attached")
