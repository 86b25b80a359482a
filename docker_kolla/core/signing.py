"""Signing a digest the way cosign's legacy layout does (pure: bytes and keys in, bytes out).

sigstore/cosign ``specs/SIGNATURE_SPEC.md``: a signature of ``sha256:<hex>`` lives in
the manifest at the tag ``sha256-<hex>.sig``; each of its layers is a simple-signing
payload (``application/vnd.dev.cosign.simplesigning.v1+json``) naming the signed
digest and the repository, with the base64 ECDSA P-256 / SHA-256 signature over the
payload bytes in the layer annotation ``dev.cosignproject.cosign/signature``. Several
signatures share one manifest: a new one is appended as a layer.

Verification is not here: core.trust verifies what this writes, as it verifies what
cosign writes. The private key is a PEM (PKCS#8 or SEC 1) EC P-256 key, optionally
encrypted; its password is never stored or printed.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import OCI_MANIFEST
from docker_kolla.core.referrers import COSIGN_SIGNATURE_ANNOTATION, SIMPLE_SIGNING
from docker_kolla.core.trust import COSIGN_TYPE, PublicKey, load_key
from docker_kolla.errors import UsageError

PASSWORD_ENV = "DOCKER_KOLLA_SIGN_PASSWORD"
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
_KEY_FIX = "give a PEM EC P-256 private key (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)"


@dataclass(frozen=True)
class SigningKey:
    """A private key and its public half (``public.fingerprint`` is what ``verified-by`` records)."""

    path: str
    public: PublicKey
    private: Any = field(repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        signature: bytes = self.private.sign(data, ec.ECDSA(hashes.SHA256()))
        return signature


def load_signing_key(path: str, pem: bytes, password: bytes | None) -> SigningKey:
    """Parse a PEM EC P-256 private key; ``password`` decrypts an encrypted one."""
    # imported here, as in core.trust: only a run that signs pays for `cryptography`
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if b"SIGSTORE PRIVATE KEY" in pem or b"COSIGN PRIVATE KEY" in pem:
        raise UsageError(f"signing key {path} is in cosign's own encrypted format, which is not read", _KEY_FIX)
    encrypted = b"ENCRYPTED PRIVATE KEY" in pem or b"Proc-Type: 4,ENCRYPTED" in pem
    if encrypted and not password:
        raise UsageError(f"signing key {path} is encrypted", f"set {PASSWORD_ENV} to its password")
    try:
        key = serialization.load_pem_private_key(pem, password=password if encrypted else None)
    except ValueError as exc:
        if encrypted:
            raise UsageError(f"signing key {path}: wrong password", f"set {PASSWORD_ENV} to its password") from exc
        raise UsageError(f"signing key {path} is not a PEM private key", _KEY_FIX) from exc
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise UsageError(f"signing key {path} is not a PEM private key", _KEY_FIX) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise UsageError(f"signing key {path} is not an EC P-256 key", _KEY_FIX)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return SigningKey(path, load_key(path, public), key)


def payload(reference: str, digest: Digest) -> bytes:
    """The simple-signing payload for ``digest`` in the repository ``reference``."""
    doc = {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": str(digest)},
            "type": COSIGN_TYPE,
        },
        "optional": None,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def signature_layer(key: SigningKey, signed: bytes) -> dict[str, Any]:
    """The ``.sig`` manifest layer for one payload, its signature in the annotation."""
    return {
        "mediaType": SIMPLE_SIGNING,
        "digest": str(Digest.of(signed)),
        "size": len(signed),
        "annotations": {COSIGN_SIGNATURE_ANNOTATION: base64.b64encode(key.sign(signed)).decode()},
    }


def signature_manifest(layers: list[dict[str, Any]]) -> tuple[bytes, bytes]:
    """(manifest, config) of a ``.sig`` tag holding ``layers``, in order (cosign: an image
    config whose rootfs lists the payloads)."""
    config = json.dumps(
        {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [str(layer["digest"]) for layer in layers]},
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": IMAGE_CONFIG, "digest": str(Digest.of(config)), "size": len(config)},
        "layers": layers,
    }
    return json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode(), config
