"""Known-answer vectors made by cosign and sigstore-python (tests/fixtures/cosign/README.md):
the product's verifier accepts them, a one-byte change is rejected, and the independent
test verifier (tests/support/signer.py) agrees."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import pytest

from docker_kolla.adapters.keyless import KeylessVerifier
from docker_kolla.core.digest import Digest
from docker_kolla.core.trust import (
    KEYLESS,
    KEYLESS_NO_IDENTITY,
    load_key,
    verify_bundle,
    verify_dsse,
    verify_simple_signing,
)
from docker_kolla.core.trustpolicy import Identity
from tests.support import signer

HERE = Path(__file__).resolve().parent.parent / "fixtures" / "cosign"


def flip(data: bytes, at: int) -> bytes:
    """``data`` with the byte at ``at`` changed (one byte, nothing else)."""
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


# -- cosign simple signing, as cosign wrote it (containers/image's fixture) -------------------


def simple_vector() -> tuple[bytes, str, Digest, bytes]:
    raw = (HERE / "containers-image" / "signature-1").read_bytes()
    assert raw.startswith(b"\x00sigstore-json\n")
    doc = json.loads(raw.split(b"\n", 1)[1])
    assert doc["mimeType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    payload = base64.b64decode(doc["payload"])
    signature = doc["annotations"]["dev.cosignproject.cosign/signature"]
    digest = Digest.of((HERE / "containers-image" / "manifest.json").read_bytes())
    return payload, signature, digest, (HERE / "containers-image" / "cosign.pub").read_bytes()


REFERENCE = "192.168.64.2:5000/cosign-signed-single-sample"


def test_cosign_simple_signing_vector():
    payload, signature, digest, pem = simple_vector()
    assert str(digest) == "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
    keys = (load_key("cosign.pub", pem),)
    assert verify_simple_signing(payload, signature, digest, REFERENCE, keys).by == keys[0].fingerprint
    # the signed reference's path, on another host (a mirror): still the same repository
    assert verify_simple_signing(payload, signature, digest, "mirror.example/cosign-signed-single-sample", keys).ok
    key = signer.load_public(pem)
    assert signer.simple_signature_ok(key, payload, signature, str(digest))


def test_cosign_simple_signing_vector_one_byte_changed():
    payload, signature, digest, pem = simple_vector()
    keys = (load_key("cosign.pub", pem),)
    key = signer.load_public(pem)
    at = payload.index(b"cosign-signed") + 3
    changed = flip(payload, at)
    assert verify_simple_signing(changed, signature, digest, REFERENCE, keys).why == (
        "no trusted key verifies the signature"
    )
    assert not signer.simple_signature_ok(key, changed, signature, str(digest))
    sig = base64.b64decode(signature)
    bad = base64.b64encode(flip(sig, len(sig) - 5)).decode()
    assert not verify_simple_signing(payload, bad, digest, REFERENCE, keys).ok
    assert not signer.simple_signature_ok(key, payload, bad, str(digest))
    other = Digest.of(flip((HERE / "containers-image" / "manifest.json").read_bytes(), 20))
    assert "not the locked digest" in verify_simple_signing(payload, signature, other, REFERENCE, keys).why
    assert not signer.simple_signature_ok(key, payload, signature, str(other))


# -- cosign DSSE attestations (cosign's verify-blob-attestation tests) -------------------------


def envelope(name: str) -> dict:
    text = (HERE / "cosign-blob-attestation" / f"{name}.dsse.b64").read_text().strip()
    return json.loads(base64.b64decode(text))


def blob_digest() -> Digest:
    digest = Digest.of((HERE / "cosign-blob-attestation" / "blob").read_bytes())
    assert digest.hex == "658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24"
    return digest


@pytest.mark.parametrize("name", ["slsa-provenance", "multiple-subjects"])
def test_cosign_dsse_vectors_that_name_the_blob(name):
    pem = (HERE / "cosign-blob-attestation" / "cosign.pub").read_bytes()
    keys, digest, env = (load_key("cosign.pub", pem),), blob_digest(), envelope(name)
    verdict, predicate = verify_dsse(env, digest, keys)
    assert verdict.by == keys[0].fingerprint and predicate == "https://slsa.dev/provenance/v0.2"
    assert signer.envelope_ok(signer.load_public(pem), env, str(digest))
    bundle = {"mediaType": signer.BUNDLE, "verificationMaterial": {"publicKey": {}}, "dsseEnvelope": env}
    assert verify_bundle(json.dumps(bundle).encode(), digest, keys).ok

    payload = base64.b64decode(env["payload"])
    changed = dict(env, payload=base64.b64encode(flip(payload, payload.index(b"builder") + 2)).decode())
    assert verify_dsse(changed, digest, keys)[0].why == "no trusted key verifies the signature"
    assert not signer.envelope_ok(signer.load_public(pem), changed, str(digest))


@pytest.mark.parametrize("name", ["multiple-subjects-invalid", "empty-subject", "missing-sha256"])
def test_cosign_dsse_vectors_signed_but_not_naming_the_blob(name):
    pem = (HERE / "cosign-blob-attestation" / "cosign.pub").read_bytes()
    keys, digest, env = (load_key("cosign.pub", pem),), blob_digest(), envelope(name)
    assert verify_dsse(env, digest, keys)[0].why == "the signed statement's subject is not the locked digest"
    assert not signer.envelope_ok(signer.load_public(pem), env, str(digest))


# -- keyless bundles, verified offline with the sigstore extra ------------------------------

OCI_EMPTY = Digest.parse("sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4")
CODY = Identity("https://github.com/login/oauth", "cody@soyland.com")
WHEEL = Digest.parse("sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201")
WORKFLOW = Identity(
    "https://token.actions.githubusercontent.com",
    "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
)


def test_keyless_dsse_bundle_from_cosign():
    raw = (HERE / "cosign-oci-attestation" / "oci-attestation.sigstore.json").read_bytes()
    assert KeylessVerifier((CODY,)).verify(raw, OCI_EMPTY).by == CODY.label()
    assert verify_bundle(raw, OCI_EMPTY, ()).why == KEYLESS  # the key-only verifier never accepts it
    other = Identity(CODY.issuer, "mallory@example.com")
    assert "SANs do not match" in KeylessVerifier((other,)).verify(raw, OCI_EMPTY).why
    assert KeylessVerifier((CODY,)).verify(raw, Digest.parse("sha256:" + "0" * 64)).why == (
        "the signed statement's subject is not the locked digest"
    )
    doc = json.loads(raw)
    payload = base64.b64decode(doc["dsseEnvelope"]["payload"])
    doc["dsseEnvelope"]["payload"] = base64.b64encode(flip(payload, payload.index(b"foo"))).decode()
    assert not KeylessVerifier((CODY,)).verify(json.dumps(doc).encode(), OCI_EMPTY).ok


def test_keyless_message_signature_bundle_from_sigstore_python():
    raw = (HERE / "sigstore-python" / "bundle_v3_github.whl.sigstore").read_bytes()
    assert KeylessVerifier((WORKFLOW,)).verify(raw, WHEEL).by == WORKFLOW.label()
    changed = Digest.parse("sha256:" + flip(bytes.fromhex(WHEEL.hex), 0).hex())
    assert not KeylessVerifier((WORKFLOW,)).verify(raw, changed).ok
    doc = json.loads(raw)
    sig = base64.b64decode(doc["messageSignature"]["signature"])
    doc["messageSignature"]["signature"] = base64.b64encode(flip(sig, len(sig) - 3)).decode()
    assert not KeylessVerifier((WORKFLOW,)).verify(json.dumps(doc).encode(), WHEEL).ok


def test_keyless_without_identities_or_without_the_extra(monkeypatch):
    raw = (HERE / "cosign-oci-attestation" / "oci-attestation.sigstore.json").read_bytes()
    assert KeylessVerifier(()).verify(raw, OCI_EMPTY).why == KEYLESS_NO_IDENTITY
    monkeypatch.setitem(sys.modules, "sigstore.verify", None)  # as if the extra were not installed
    assert KeylessVerifier((CODY,)).verify(raw, OCI_EMPTY).why == KEYLESS


# -- message signatures with a key (the test signer's, written from the bundle spec) ---------


def test_message_signature_bundle_with_a_key():
    key = signer.KeyPair.generate()
    keys = (load_key("k.pub", key.public_pem),)
    manifest = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
    digest = Digest.of(manifest)
    bundle = {
        "mediaType": signer.BUNDLE,
        "verificationMaterial": {"publicKey": {"hint": key.fingerprint}},
        "messageSignature": {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": base64.b64encode(hashlib.sha256(manifest).digest()).decode(),
            },
            "signature": base64.b64encode(key.sign(manifest)).decode(),
        },
    }
    raw = json.dumps(bundle).encode()
    assert verify_bundle(raw, digest, keys).by == key.fingerprint
    other = Digest.of(flip(manifest, 3))
    assert verify_bundle(raw, other, keys).why == "no trusted key verifies the signature"
    assert verify_bundle(raw, digest, (load_key("o.pub", signer.KeyPair.generate().public_pem),)).why == (
        "no trusted key verifies the signature"
    )
    lying = json.loads(raw)
    lying["messageSignature"]["messageDigest"]["digest"] = base64.b64encode(bytes(32)).decode()
    assert verify_bundle(json.dumps(lying).encode(), digest, keys).why == (
        "the bundle's message digest is not the locked digest"
    )
    lying["messageSignature"]["messageDigest"]["algorithm"] = "SHA2_384"
    assert "not SHA2_256" in verify_bundle(json.dumps(lying).encode(), digest, keys).why


def test_without_the_extra_keyless_bundles_are_noted_as_needing_it(monkeypatch):
    from docker_kolla.cli import factory
    from docker_kolla.core.trustpolicy import TrustPolicy

    raw = (HERE / "cosign-oci-attestation" / "oci-attestation.sigstore.json").read_bytes()
    keys_only = TrustPolicy(keys=("k.pub",))
    assert factory.keyless_verifier(keys_only) is not None  # the extra is installed for the tests
    monkeypatch.setitem(sys.modules, "sigstore", None)  # as if it were not
    monkeypatch.setitem(sys.modules, "sigstore.verify", None)  # (also when an earlier test imported it)
    assert factory.keyless_verifier(keys_only) is None  # then only core.trust sees the bundle:
    assert verify_bundle(raw, OCI_EMPTY, ()).why == KEYLESS
    with_ids = TrustPolicy(identities=(CODY,))
    assert factory.keyless_verifier(with_ids).verify(raw, OCI_EMPTY).why == KEYLESS
