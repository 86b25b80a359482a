"""core.signing: what the product signs, core.trust verifies, and so does the independent
test signer's verifier (tests/support/signer.py) on the same bytes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from docker_kolla.core import signing as sg
from docker_kolla.core.digest import Digest
from docker_kolla.core.referrers import COSIGN_SIGNATURE_ANNOTATION
from docker_kolla.core.trust import verify_simple_signing
from docker_kolla.errors import UsageError
from tests.support.signer import KeyPair, _good, _payload_digest

DIGEST = Digest.parse("sha256:" + "ab" * 32)


def test_a_signed_payload_verifies_with_both_verifiers():
    pair = KeyPair.generate()
    key = sg.load_signing_key("k.pem", pair.private_pem(), None)
    assert key.fingerprint == pair.fingerprint
    payload = sg.payload("localhost:5000/kolla/nova-api", DIGEST)
    layer = sg.signature_layer(key, payload)
    signature = layer["annotations"][COSIGN_SIGNATURE_ANNOTATION]
    verdict = verify_simple_signing(payload, signature, DIGEST, "mirror:5000/kolla/nova-api", (key.public,))
    assert verdict.by == pair.fingerprint
    assert _good(pair.private.public_key(), base64.b64decode(signature), payload)  # the independent side
    assert _payload_digest(payload) == str(DIGEST)
    other = Digest.parse("sha256:" + "cd" * 32)
    assert not verify_simple_signing(payload, signature, other, "kolla/nova-api", (key.public,)).ok
    manifest, config = sg.signature_manifest([layer])
    assert Digest.of(config).hex in manifest.decode() and layer["digest"] in config.decode()


def test_encrypted_keys_need_their_password():
    pair = KeyPair.generate()
    pem = pair.private_pem(b"s3cret")
    assert sg.load_signing_key("k.pem", pem, b"s3cret").fingerprint == pair.fingerprint
    with pytest.raises(UsageError, match="is encrypted") as missing:
        sg.load_signing_key("k.pem", pem, None)
    assert sg.PASSWORD_ENV in missing.value.hint
    with pytest.raises(UsageError, match="wrong password") as wrong:
        sg.load_signing_key("k.pem", pem, b"guess")
    assert "guess" not in wrong.value.line()


@pytest.mark.parametrize(
    "pem, message",
    [
        (b"not a key", "not a PEM private key"),
        (b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nxx\n", "cosign's own encrypted format"),
        (
            ed25519.Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "not an EC P-256 key",
        ),
        (
            ec.generate_private_key(ec.SECP384R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "not an EC P-256 key",
        ),
    ],
)
def test_what_is_not_a_signing_key_is_named(pem, message):
    with pytest.raises(UsageError, match=message):
        sg.load_signing_key("k.pem", pem, None)
