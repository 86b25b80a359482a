"""core.trust and core.referrers: policy parsing, offline verdicts, lockfile records."""

from __future__ import annotations

import base64
import json

import pytest

from docker_kolla.core import referrers as rf
from docker_kolla.core.channels import parse_channels
from docker_kolla.core.digest import Digest
from docker_kolla.core.trust import (
    KEYLESS,
    load_key,
    pae,
    repository_matches,
    verify_bundle,
    verify_dsse,
    verify_simple_signing,
)
from docker_kolla.errors import ConfigError
from tests.support.signer import KeyPair, envelope, simple_signing_payload, statement

DIGEST = Digest.parse("sha256:" + "ab" * 32)
REPO = "registry.example/kolla/centos-binary-keystone"


def test_pae_is_the_dsse_encoding():
    assert pae("t", b"hello") == b"DSSEv1 1 t 5 hello"


def test_simple_signing_verdicts():
    key, other = KeyPair.generate(), KeyPair.generate()
    keys = (load_key("k.pub", key.public_pem),)
    payload = simple_signing_payload(REPO + ":ocata", str(DIGEST))
    good = base64.b64encode(key.sign(payload)).decode()
    assert verify_simple_signing(payload, good, DIGEST, REPO, keys).by == key.fingerprint
    bad = base64.b64encode(other.sign(payload)).decode()
    assert verify_simple_signing(payload, bad, DIGEST, REPO, keys).why == "no trusted key verifies the signature"
    elsewhere = Digest.parse("sha256:" + "cd" * 32)
    assert "not the locked digest" in verify_simple_signing(payload, good, elsewhere, REPO, keys).why
    assert "not other/repo" in verify_simple_signing(payload, good, DIGEST, "other/repo", keys).why
    assert verify_simple_signing(b"{}", good, DIGEST, REPO, keys).why.startswith("payload is not")


def test_repository_matching_ignores_tag_digest_and_mirror_host():
    assert repository_matches("docker.io/kolla/x:ocata", "docker.io/kolla/x")
    assert repository_matches("registry.example:5000/kolla/x@sha256:" + "0" * 64, "mirror.local/kolla/x")
    assert not repository_matches("docker.io/kolla/y", "docker.io/kolla/x")


def test_bundles_with_key_and_keyless():
    key = KeyPair.generate()
    keys = (load_key("k.pub", key.public_pem),)
    stmt = statement(REPO, str(DIGEST), "https://sigstore.dev/cosign/sign/v1", {})
    bundle = {
        "mediaType": rf.SIGSTORE_BUNDLE,
        "verificationMaterial": {"publicKey": {}},
        "dsseEnvelope": envelope(key, stmt),
    }
    assert verify_bundle(json.dumps(bundle).encode(), DIGEST, keys).by == key.fingerprint
    other = Digest.parse("sha256:" + "cd" * 32)
    assert "subject" in verify_bundle(json.dumps(bundle).encode(), other, keys).why
    keyless = dict(bundle, verificationMaterial={"certificate": {"rawBytes": "MII="}})
    assert verify_bundle(json.dumps(keyless).encode(), DIGEST, keys).why == KEYLESS


def test_trust_policy_inherits_and_validates():
    base = '[defaults]\nimages = ["keystone"]\n[defaults.trust]\nkeys = ["keys/a.pub"]\n'
    config = parse_channels(base + '[channels.ocata]\n[channels.ocata.trust]\nrequire = "signature"\n[channels.x]\n')
    assert config.get("ocata").trust.keys == ("keys/a.pub",) and config.get("ocata").trust.require == "signature"
    assert config.get("x").trust.require == "none"
    for bad in ('require = "always"', "keys = 3", "colour = 1", 'require-attestations = [""]'):
        with pytest.raises(ConfigError):
            parse_channels(base + f"[channels.ocata]\n[channels.ocata.trust]\n{bad}\n")
    with pytest.raises(ConfigError, match="needs keys"):
        parse_channels('[channels.ocata]\n[channels.ocata.trust]\nrequire = "signature"\n')


def test_referrer_records_round_trip_and_reject_hand_edits():
    r = rf.Referrer(
        str(DIGEST), "sha256:" + "01" * 32, rf.INDEX, "m", "a", "linux/arm64", ("p",), "sha256:" + "02" * 32
    )
    assert rf.referrers_from_toml([r.to_toml()], "x") == (r,)
    with pytest.raises(ConfigError):
        rf.referrers_from_toml([dict(r.to_toml(), **{"found-via": "guess"})], "x")
    with pytest.raises(ConfigError):
        rf.referrers_from_toml([dict(r.to_toml(), extra="1")], "x")
    assert r.kind == rf.ATTESTATION and rf.kind_of("application/x-unknown") == rf.OTHER
    assert rf.kind_of(rf.SIMPLE_SIGNING) == rf.SIGNATURE
    assert rf.kind_of(rf.IN_TOTO, ("https://spdx.dev/Document",)) == rf.SBOM


def test_dsse_from_an_independent_producer_securesystemslib():
    """securesystemslib (secure-systems-lab) signs the envelope: the product follows the DSSE spec, not our signer."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    signer = CryptoSigner.generate_ecdsa()
    keys = (load_key("sslib.pub", signer.public_key.keyval["public"].encode()),)
    stmt = statement(REPO, str(DIGEST), "https://slsa.dev/provenance/v1", {"builder": {"id": "test"}})
    env = Envelope(payload=stmt, payload_type="application/vnd.in-toto+json", signatures={})
    env.sign(signer)
    doc = env.to_dict()
    assert doc["signatures"][0]["keyid"]  # a keyid cosign would leave empty: verification ignores it
    verdict, predicate = verify_dsse(doc, DIGEST, keys)
    assert verdict.ok and predicate == "https://slsa.dev/provenance/v1"
    bundle = {"mediaType": rf.SIGSTORE_BUNDLE, "verificationMaterial": {"publicKey": {}}, "dsseEnvelope": doc}
    assert verify_bundle(json.dumps(bundle).encode(), DIGEST, keys).ok
    doc["payload"] = base64.b64encode(stmt.replace(b"test", b"evil")).decode()
    assert verify_dsse(doc, DIGEST, keys)[0].why == "no trusted key verifies the signature"


def test_keyless_identities_in_the_policy():
    ident = '[channels.ocata.trust]\nidentities = [{issuer = "https://i.example", subject = "me@example.com"}]\n'
    config = parse_channels('[channels.ocata]\nimages = ["keystone"]\n' + ident + 'require = "signature"\n')
    trust = config.get("ocata").trust
    assert [(i.issuer, i.subject) for i in trust.identities] == [("https://i.example", "me@example.com")]
    assert trust.active and trust.require == "signature"  # identities alone satisfy require = signature
    for bad in ('identities = ["me"]', 'identities = [{issuer = "x"}]', 'identities = [{issuer = "x", subject = 1}]'):
        with pytest.raises(ConfigError, match="identit"):
            parse_channels(f"[channels.ocata]\n[channels.ocata.trust]\n{bad}\n")


def test_signed_reference_may_name_an_accepted_other_repository():
    key = KeyPair.generate()
    keys = (load_key("k.pub", key.public_pem),)
    payload = simple_signing_payload("source.example/kolla/keystone:ocata", str(DIGEST))
    good = base64.b64encode(key.sign(payload)).decode()
    mirror = "mirror.example/prod/keystone"
    refused = verify_simple_signing(payload, good, DIGEST, mirror, keys)
    assert refused.why == "signed payload names source.example/kolla/keystone:ocata, not mirror.example/prod/keystone"
    accepted = verify_simple_signing(payload, good, DIGEST, mirror, keys, also=("source.example/kolla/keystone",))
    assert accepted.ok and accepted.reference == "source.example/kolla/keystone"
    same = verify_simple_signing(payload, good, DIGEST, "mirror.example/kolla/keystone", keys, also=(mirror,))
    assert same.ok and same.reference == ""  # it names the repository it was read from (a mirror keeps the path)
    assert not verify_simple_signing(payload, good, DIGEST, mirror, keys, also=("source.example/kolla/nova",)).ok


def test_unverified_keyless_signatures_do_not_satisfy_require_signature():
    from docker_kolla.core.trust import KEYLESS
    from docker_kolla.core.trustpolicy import TrustPolicy
    from docker_kolla.ops.trustcheck import check_policy

    policy = TrustPolicy(keys=("k.pub",), require="signature")
    bundle = rf.Referrer(str(DIGEST), "sha256:" + "01" * 32, rf.TAG_SCHEMA, artifact_type=rf.SIGSTORE_BUNDLE)
    refusal = check_policy("keystone", DIGEST, (bundle.noted(KEYLESS),), policy)
    assert refusal is not None and refusal.reason == f"signature not verified ({KEYLESS}) for {DIGEST.short}"
    verified = bundle.verified("keyless:me@example.com (https://i.example)")
    assert check_policy("keystone", DIGEST, (verified,), policy) is None


def test_signed_as_is_recorded_and_read_back():
    r = rf.Referrer(str(DIGEST), "sha256:" + "01" * 32, rf.COSIGN_TAG, artifact_type=rf.SIMPLE_SIGNING)
    signed = r.verified("sha256:" + "02" * 32, "source.example/kolla/keystone")
    assert signed.to_toml()["signed-as"] == "source.example/kolla/keystone"
    assert rf.referrers_from_toml([signed.to_toml()], "x") == (signed,)
    assert "signed-as" not in r.verified("sha256:" + "02" * 32).to_toml()
    assert signed.noted("why").signed_as == ""
