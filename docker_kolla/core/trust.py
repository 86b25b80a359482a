"""Offline signature verification with public keys (pure: bytes in, verdicts out); the policy
that says which keys and signers to trust is core/trustpolicy.py.

What is verified, and how (sigstore/cosign ``specs/SIGNATURE_SPEC.md`` and
``specs/BUNDLE_SPEC.md``; DSSE from secure-systems-lab/dsse ``protocol.md``):

- legacy simple signing: each ``application/vnd.dev.cosign.simplesigning.v1+json``
  layer of a ``.sig`` manifest is a JSON payload; the base64 annotation
  ``dev.cosignproject.cosign/signature`` is an ECDSA (or RSA, Ed25519) signature
  over the payload bytes. The payload must name the locked digest
  (``critical.image.docker-manifest-digest``), have the cosign ``type``, and its
  ``critical.identity.docker-reference`` must name the image's repository.
- a v0.3 sigstore bundle with a DSSE envelope: the signature is over the DSSE
  pre-authentication encoding of the payload; the in-toto statement's subject
  must list the locked digest.
- a v0.3 sigstore bundle with a message signature: the signed message is the
  image manifest itself, so ``messageDigest`` must be the locked digest (SHA2_256)
  and the signature is verified over that digest as a prehashed SHA-256 message
  (ECDSA, RSA PKCS#1 v1.5; Ed25519 cannot sign a prehash and is refused).

Keyless (Fulcio certificate) signatures need the sigstore trust root and the
transparency log: they are recognised here (:func:`is_keyless_bundle`) and left
to an optional verifier (``adapters.keyless``, the ``sigstore`` package) that the
caller passes in; without one they are recorded with :data:`KEYLESS`.
Transparency-log inclusion of key-based signatures is not checked.

Which repository a signature may name (``critical.identity.docker-reference``):
the one it was read from, or one of the ``also`` repositories the caller vouches
for (the lock's recorded source of the image, the channel's configured repository),
like containers-policy.json's ``matchRepository`` with ``remapIdentity``. The
verdict says which one matched when it was not the first (``Verdict.reference``).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from docker_kolla.core.digest import Digest
from docker_kolla.errors import ConfigError

COSIGN_TYPE = "cosign container image signature"
KEYLESS = "keyless signature: not verifiable offline (needs the sigstore extra)"
KEYLESS_NO_IDENTITY = "keyless signature: no trusted identity configured ([trust] identities)"
KEYLESS_LEGACY = "keyless signature in a cosign .sig tag: not verifiable offline (only v0.3 bundles are)"


# -- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """A trusted key and its fingerprint (sha256 of the DER SubjectPublicKeyInfo)."""

    path: str
    fingerprint: str
    key: Any = field(repr=False, compare=False)


# `cryptography` is imported where a key is read or a signature checked, not with this module:
# every command reads channels.toml (and so parses trust policies), few verify anything, and
# the import costs ~0.1-0.2 s of start-up on the warm re-lock's path.


def load_key(path: str, pem: bytes) -> PublicKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(
            f"trust key {path} is not a PEM public key", "export it with `cosign public-key` (a PEM file)"
        ) from exc
    if not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise ConfigError(f"trust key {path}: unsupported key type", "use an ECDSA, RSA or Ed25519 public key")
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return PublicKey(path, str(Digest.of(der)), key)


def _verifies(key: PublicKey, signature: bytes, data: bytes, *, prehashed: bool = False) -> bool:
    """``prehashed``: ``data`` is already the SHA-256 of the signed message."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    k = key.key
    algorithm: Any = Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256()
    try:
        if isinstance(k, ec.EllipticCurvePublicKey):
            k.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(k, rsa.RSAPublicKey):
            k.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif prehashed:
            return False  # Ed25519 signs the message itself, never a digest of it
        else:
            k.verify(signature, data)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def first_verifying(
    keys: tuple[PublicKey, ...], signature: bytes, data: bytes, *, prehashed: bool = False
) -> PublicKey | None:
    return next((k for k in keys if _verifies(k, signature, data, prehashed=prehashed)), None)


def _b64(text: object) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        return b""


# -- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """``by``: the verifying key's fingerprint; otherwise ``why`` says what failed.

    ``reference``: the signed docker-reference's repository when it matched one of the
    ``also`` repositories rather than the one the signature was read from.
    """

    by: str = ""
    why: str = ""
    reference: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.by)


def repository_matches(reference: str, repository: str) -> bool:
    """Does a signed docker-reference name this repository (tag and digest ignored)?

    The host may differ (a mirror keeps the path), ``docker.io/library`` forms are equal.
    """

    def strip(ref: str) -> str:
        ref = ref.split("@", 1)[0]
        last = ref.rsplit("/", 1)
        if ":" in last[-1]:
            ref = ref[: len(ref) - len(last[-1]) + last[-1].index(":")]
        return ref

    def path(ref: str) -> str:
        first, _, rest = ref.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            ref = rest
        return ref.removeprefix("library/")

    a, b = strip(reference), strip(repository)
    return a == b or path(a) == path(b)


def matching_repository(reference: str, repository: str, also: tuple[str, ...] = ()) -> str | None:
    """Which accepted repository a signed docker-reference names: ``repository`` (then ""),
    the first of ``also`` it names, or None when it names none of them."""
    if repository_matches(reference, repository):
        return ""
    return next((r for r in also if repository_matches(reference, r)), None)


def verify_simple_signing(
    payload: bytes,
    signature_b64: str,
    digest: Digest,
    repository: str,
    keys: tuple[PublicKey, ...],
    also: tuple[str, ...] = (),
) -> Verdict:
    """One legacy cosign signature layer; ``also``: other repositories the payload may name."""
    try:
        doc = json.loads(payload)
        critical = doc["critical"]
        signed_digest = str(critical["image"]["docker-manifest-digest"])
        kind = str(critical.get("type", ""))
        reference = str((critical.get("identity") or {}).get("docker-reference", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return Verdict(why="payload is not a cosign simple-signing payload")
    if kind != COSIGN_TYPE:
        return Verdict(why=f"payload type is {kind!r}, not a cosign image signature")
    key = first_verifying(keys, _b64(signature_b64), payload)
    if key is None:
        return Verdict(why="no trusted key verifies the signature")
    if signed_digest != str(digest):
        return Verdict(why=f"signed payload names {signed_digest}, not the locked digest")
    matched = matching_repository(reference, repository, also) if reference else ""
    if matched is None:
        names = " or ".join(dict.fromkeys((repository, *also)))
        return Verdict(why=f"signed payload names {reference}, not {names}")
    return Verdict(by=key.fingerprint, reference=matched)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 " + str(len(kind)).encode() + b" " + kind + b" " + str(len(payload)).encode() + b" " + payload


def verify_dsse(envelope: object, digest: Digest, keys: tuple[PublicKey, ...]) -> tuple[Verdict, str]:
    """A DSSE envelope of an in-toto statement: (verdict, predicate type)."""
    if not isinstance(envelope, dict):
        return Verdict(why="not a DSSE envelope"), ""
    payload = _b64(envelope.get("payload", ""))
    payload_type = str(envelope.get("payloadType", ""))
    try:
        statement = json.loads(payload)
        subjects = [str((s.get("digest") or {}).get(digest.algorithm, "")) for s in statement.get("subject") or []]
        predicate = str(statement.get("predicateType", ""))
    except (ValueError, TypeError, AttributeError):
        return Verdict(why="DSSE payload is not an in-toto statement"), ""
    signed = pae(payload_type, payload)
    # every signature is tried whatever its keyid: cosign leaves keyid empty
    key = next(
        (
            k
            for s in envelope.get("signatures") or []
            if isinstance(s, dict)
            for k in keys
            if _verifies(k, _b64(s.get("sig")), signed)
        ),
        None,
    )
    if key is None:
        return Verdict(why="no trusted key verifies the signature"), predicate
    if digest.hex not in subjects:
        return Verdict(why="the signed statement's subject is not the locked digest"), predicate
    return Verdict(by=key.fingerprint), predicate


def is_keyless_bundle(raw: bytes) -> bool:
    """Does this sigstore bundle carry a (Fulcio) certificate instead of a public-key hint?"""
    try:
        material = json.loads(raw).get("verificationMaterial")
    except (ValueError, AttributeError):
        return False
    return isinstance(material, dict) and ("certificate" in material or "x509CertificateChain" in material)


def verify_message_signature(signed: object, digest: Digest, keys: tuple[PublicKey, ...]) -> Verdict:
    """A bundle's ``messageSignature`` over the image manifest: its ``messageDigest`` must be the
    locked digest, and a trusted key must verify the signature over that (prehashed) digest."""
    if not isinstance(signed, dict) or not isinstance(signed.get("messageDigest"), dict):
        return Verdict(why="message signature without a message digest")
    md = signed["messageDigest"]
    if md.get("algorithm") != "SHA2_256" or digest.algorithm != "sha256":
        return Verdict(why=f"message digest algorithm {md.get('algorithm')!r} is not SHA2_256")
    claimed = _b64(md.get("digest", ""))
    key = first_verifying(keys, _b64(signed.get("signature", "")), bytes.fromhex(digest.hex), prehashed=True)
    if key is None:
        return Verdict(why="no trusted key verifies the signature")
    if claimed != bytes.fromhex(digest.hex):
        return Verdict(why="the bundle's message digest is not the locked digest")
    return Verdict(by=key.fingerprint)


def verify_bundle(raw: bytes, digest: Digest, keys: tuple[PublicKey, ...]) -> Verdict:
    """A v0.3 sigstore bundle: key-based DSSE or message signature verified; keyless reported as such."""
    try:
        bundle = json.loads(raw)
        material = bundle.get("verificationMaterial") or {}
    except (ValueError, AttributeError):
        return Verdict(why="bundle is not JSON")
    if not isinstance(material, dict):
        return Verdict(why="bundle has no verification material")
    if "certificate" in material or "x509CertificateChain" in material:
        return Verdict(why=KEYLESS)
    if "dsseEnvelope" in bundle:
        return verify_dsse(bundle["dsseEnvelope"], digest, keys)[0]
    if "messageSignature" in bundle:
        return verify_message_signature(bundle["messageSignature"], digest, keys)
    return Verdict(why="bundle holds neither a DSSE envelope nor a message signature")
