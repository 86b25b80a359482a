"""What hangs off a pinned digest: signatures, attestations, SBOMs and other OCI 1.1 referrers.

Four places are read (pure parsing here; the requests are in ``ops.discover``):

- ``api``: the distribution-spec referrers API, ``GET /v2/<name>/referrers/<digest>``,
  an image index of descriptors (``artifactType``, annotations).
- ``tag-schema``: the same index stored under the tag ``sha256-<hex>`` by writers
  when the registry has no API (distribution 2.8, Docker Hub, GHCR).
- ``cosign-tag``: cosign's legacy tags ``sha256-<hex>.sig`` / ``.att`` / ``.sbom``.
- ``index``: BuildKit's attestation manifests inside the image index itself
  (``vnd.docker.reference.type: attestation-manifest``).

Each found manifest is one :class:`Referrer`, recorded per subject digest (the
locked digest, or one of its platform manifests) in a deterministic order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from docker_kolla.core.digest import Digest
from docker_kolla.errors import ConfigError, UsageError

API, TAG_SCHEMA, COSIGN_TAG, INDEX = "api", "tag-schema", "cosign-tag", "index"
FOUND_VIA = (API, TAG_SCHEMA, COSIGN_TAG, INDEX)

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"
MANIFESTO_ARTIFACT = "application/vnd.docker-kolla.manifesto.v1+json"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
COSIGN_CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
BUNDLE_CONTENT = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE = "dev.sigstore.bundle.predicateType"
BUILDX_REFERENCE_TYPE = "vnd.docker.reference.type"
BUILDX_REFERENCE_DIGEST = "vnd.docker.reference.digest"
PREDICATE_ANNOTATIONS = ("in-toto.io/predicate-type", "predicateType")
COSIGN_SUFFIXES = ("sig", "att", "sbom")

SIGNATURE, ATTESTATION, SBOM, MANIFESTO, OTHER = "signature", "attestation", "sbom", "manifesto", "other"
SBOM_PREDICATES = ("https://spdx.dev/Document", "https://cyclonedx.org/bom")

_HINT = "the lockfile was edited by hand: restore it with `git checkout -- lockfiles/` and re-lock"


def schema_tag(digest: Digest) -> str:
    """The referrers tag schema's tag for ``digest``: ``sha256-<hex>``."""
    return f"{digest.algorithm}-{digest.hex}"


def cosign_tag(digest: Digest, suffix: str) -> str:
    """cosign's legacy attachment tag, ``sha256-<hex>.sig`` (``.att``, ``.sbom``)."""
    return f"{schema_tag(digest)}.{suffix}"


@dataclass(frozen=True, order=True)
class Referrer:
    """One manifest attached to a pinned digest.

    Attributes:
        subject: the digest it is attached to (the locked digest or a platform manifest).
        digest: the attached manifest's digest (for a cosign tag: what the tag holds now).
        found_via: ``api``, ``tag-schema``, ``cosign-tag`` or ``index``.
        media_type: the attached manifest's media type.
        artifact_type: its ``artifactType`` (else config media type; for cosign tags and
            buildx attestations: the payload layers' media type).
        platform: the subject's platform when the subject is a platform manifest.
        predicate_types: in-toto predicate types, where known, sorted.
        verified_by: fingerprint of the trusted key that verified it, if any.
        note: why it was not verified (``keyless signature: not verifiable offline ...``).
        signed_as: the repository a verified signature's docker-reference names, when it is
            not the one the signature was read from (the image's source, after a promote
            into another namespace).
    """

    subject: str
    digest: str
    found_via: str
    media_type: str = ""
    artifact_type: str = ""
    platform: str = ""
    predicate_types: tuple[str, ...] = ()
    verified_by: str = ""
    note: str = ""
    signed_as: str = ""
    tag: str = field(default="", compare=False)  # the cosign tag it was read from (not recorded)

    @property
    def kind(self) -> str:
        """signature, attestation, sbom, manifesto or other."""
        return kind_of(self.artifact_type, self.predicate_types)

    @property
    def identity(self) -> tuple[str, str, str]:
        """What makes two records "the same referrer" in a diff: subject, digest, place."""
        return (self.subject, self.digest, self.found_via)

    def verified(self, by: str, signed_as: str = "") -> Referrer:
        return replace(self, verified_by=by, note="", signed_as=signed_as)

    def noted(self, note: str) -> Referrer:
        return replace(self, verified_by="", note=note, signed_as="")

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {"subject": self.subject}
        if self.platform:
            table["platform"] = self.platform
        table.update(digest=self.digest, found_via=self.found_via)
        for key, value in (("media-type", self.media_type), ("artifact-type", self.artifact_type)):
            if value:
                table[key] = value
        if self.predicate_types:
            table["predicate-types"] = list(self.predicate_types)
        if self.verified_by:
            table["verified-by"] = self.verified_by
        if self.note:
            table["note"] = self.note
        if self.signed_as:
            table["signed-as"] = self.signed_as
        return {k.replace("_", "-"): v for k, v in table.items()}

    @classmethod
    def from_toml(cls, table: object, where: str) -> Referrer:
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: each referrers entry must be a table", _HINT)
        allowed = {
            "subject",
            "platform",
            "digest",
            "found-via",
            "media-type",
            "artifact-type",
            "predicate-types",
            "verified-by",
            "note",
            "signed-as",
        }
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise ConfigError(f"{where}: unknown referrers key {unknown[0]!r}", _HINT)
        text = {k: v for k, v in table.items() if k != "predicate-types"}
        if not all(isinstance(v, str) for v in text.values()):
            raise ConfigError(f"{where}: referrers values must be strings", _HINT)
        predicates = table.get("predicate-types", [])
        if not isinstance(predicates, list) or not all(isinstance(p, str) for p in predicates):
            raise ConfigError(f"{where}: predicate-types must be a list of strings", _HINT)
        if text.get("found-via") not in FOUND_VIA:
            raise ConfigError(f"{where}: found-via must be one of {', '.join(FOUND_VIA)}", _HINT)
        try:
            subject, digest = Digest.parse(text.get("subject", "")), Digest.parse(text.get("digest", ""))
        except UsageError as exc:
            raise ConfigError(f"{where}: {exc.message}", _HINT) from exc
        return cls(
            subject=str(subject),
            digest=str(digest),
            found_via=text["found-via"],
            media_type=text.get("media-type", ""),
            artifact_type=text.get("artifact-type", ""),
            platform=text.get("platform", ""),
            predicate_types=tuple(sorted(predicates)),
            verified_by=text.get("verified-by", ""),
            note=text.get("note", ""),
            signed_as=text.get("signed-as", ""),
        )


def kind_of(artifact_type: str, predicate_types: tuple[str, ...] = ()) -> str:
    if artifact_type == MANIFESTO_ARTIFACT:
        return MANIFESTO
    if artifact_type in (SIMPLE_SIGNING, NOTARY_SIGNATURE):
        return SIGNATURE
    if artifact_type == SIGSTORE_BUNDLE and (not predicate_types or COSIGN_SIGN_PREDICATE in predicate_types):
        return SIGNATURE
    if any(p in SBOM_PREDICATES for p in predicate_types):
        return SBOM
    if artifact_type in (SIGSTORE_BUNDLE, DSSE_ENVELOPE, IN_TOTO) or predicate_types:
        return ATTESTATION
    return OTHER


def ordered(referrers: list[Referrer] | tuple[Referrer, ...]) -> tuple[Referrer, ...]:
    """Deterministic order (subject, digest, place), one record per identity."""
    unique = {r.identity: r for r in referrers}
    return tuple(sorted(unique.values(), key=lambda r: (r.platform != "", r.platform, r.identity)))


def referrers_from_toml(value: object, where: str) -> tuple[Referrer, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: referrers must be an array of tables", _HINT)
    return ordered([Referrer.from_toml(t, f"{where} referrers[{i}]") for i, t in enumerate(value)])


# -- parsing what registries send -------------------------------------------------------


def _object(raw: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def index_descriptors(raw: bytes) -> list[dict[str, Any]] | None:
    """The ``manifests`` of a referrers index; None when ``raw`` is not an image index."""
    doc = _object(raw)
    if doc is None or not isinstance(doc.get("manifests"), list):
        return None
    return [d for d in doc["manifests"] if isinstance(d, dict) and isinstance(d.get("digest"), str)]


def predicates_of(annotations: object) -> tuple[str, ...]:
    if not isinstance(annotations, dict):
        return ()
    found = {str(annotations[k]) for k in (BUNDLE_PREDICATE, *PREDICATE_ANNOTATIONS) if annotations.get(k)}
    return tuple(sorted(found))


def from_descriptors(
    descriptors: list[dict[str, Any]], subject: Digest, platform: str, found_via: str, artifact_type: str = ""
) -> list[Referrer]:
    """Referrers listed by the API or a tag-schema index.

    ``artifact_type`` filters on the client when the registry did not say it
    applied the filter (no ``OCI-Filters-Applied``).
    """
    out = []
    for desc in descriptors:
        try:
            digest = Digest.parse(str(desc["digest"]))
        except UsageError:
            continue
        kind = str(desc.get("artifactType") or "")
        if artifact_type and kind != artifact_type:
            continue
        out.append(
            Referrer(
                subject=str(subject),
                digest=str(digest),
                found_via=found_via,
                media_type=str(desc.get("mediaType") or ""),
                artifact_type=kind,
                platform=platform,
                predicate_types=predicates_of(desc.get("annotations")),
            )
        )
    return out


def describe_manifest(raw: bytes) -> tuple[str, tuple[str, ...]]:
    """(artifact type, predicate types) of an attached manifest's bytes.

    The artifact type is the manifest's ``artifactType``, else the media type its
    layers share (cosign tags, buildx attestations: the payload type says what it
    is), else the config media type (distribution-spec's rule).
    """
    doc = _object(raw) or {}
    layers = [layer for layer in doc.get("layers") or [] if isinstance(layer, dict)]
    predicates = set(predicates_of(doc.get("annotations")))
    for layer in layers:
        predicates.update(predicates_of(layer.get("annotations")))
    explicit = doc.get("artifactType")
    layer_types = {str(layer.get("mediaType") or "") for layer in layers}
    if isinstance(explicit, str) and explicit:
        kind = explicit
    elif len(layer_types) == 1 and next(iter(layer_types)) in (SIMPLE_SIGNING, DSSE_ENVELOPE, IN_TOTO):
        kind = next(iter(layer_types))
    else:
        kind = str((doc.get("config") or {}).get("mediaType") or "")
    return kind, tuple(sorted(predicates))


def subject_of(raw: bytes) -> str:
    """The ``subject`` digest of a manifest, or ""."""
    doc = _object(raw) or {}
    subject = doc.get("subject")
    return str(subject.get("digest", "")) if isinstance(subject, dict) else ""


def attestation_entries(index_raw: bytes) -> list[tuple[Digest, str, Digest]]:
    """BuildKit attestation entries of an index: (attestation digest, media type, platform digest)."""
    doc = _object(index_raw) or {}
    out = []
    for entry in doc.get("manifests") or []:
        if not isinstance(entry, dict):
            continue
        notes = entry.get("annotations") or {}
        if not isinstance(notes, dict) or notes.get(BUILDX_REFERENCE_TYPE) != "attestation-manifest":
            continue
        try:
            out.append(
                (
                    Digest.parse(str(entry.get("digest", ""))),
                    str(entry.get("mediaType") or ""),
                    Digest.parse(str(notes.get(BUILDX_REFERENCE_DIGEST, ""))),
                )
            )
        except UsageError:
            continue
    return out


@dataclass(frozen=True)
class ReferrerChange:
    """Referrers of one image added or removed between two locks."""

    name: str
    added: tuple[Referrer, ...] = ()
    removed: tuple[Referrer, ...] = ()


def referrer_changes(name: str, old: tuple[Referrer, ...], new: tuple[Referrer, ...]) -> ReferrerChange | None:
    before = {r.identity: r for r in old}
    after = {r.identity: r for r in new}
    added = tuple(after[k] for k in sorted(set(after) - set(before)))
    removed = tuple(before[k] for k in sorted(set(before) - set(after)))
    changed = tuple(after[k] for k in sorted(set(after) & set(before)) if after[k] != before[k])
    if not (added or removed or changed):
        return None
    return ReferrerChange(name, added + changed, removed)
