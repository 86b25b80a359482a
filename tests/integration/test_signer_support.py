"""The independent test signer and the referrers front, against the real registry."""

from __future__ import annotations

import json

import pytest

from tests.support import sha256
from tests.support.referrers_front import ReferrersFront
from tests.support.signer import BUNDLE, KeyPair, Signer, cosign_tag, simple_signing_payload


@pytest.fixture
def front(registry):
    with ReferrersFront(registry, page_size=2) as server:
        yield server


def test_signature_verifies_with_its_key_only(fleet):
    pushed = fleet.seed(["keystone"])["keystone"]
    key, other = KeyPair.generate(), KeyPair.generate()
    signer = Signer(fleet.host)
    repo = fleet.repo("keystone")
    signer.sign(repo, pushed.digest, key)
    assert signer.verify(repo, pushed.digest, key.public_pem) == ["sig"]
    assert signer.verify(repo, pushed.digest, other.public_pem) == []
    # a second signature is appended to the same .sig manifest, as cosign does
    signer.sign(repo, pushed.digest, other)
    layers = json.loads(signer.get_manifest(repo, cosign_tag(pushed.digest, "sig")))["layers"]
    assert len(layers) == 2
    assert signer.verify(repo, pushed.digest, other.public_pem) == ["sig"]


def test_payload_naming_another_digest_does_not_verify(fleet):
    pushed = fleet.seed(["keystone"])["keystone"]
    key = KeyPair.generate()
    signer = Signer(fleet.host)
    payload = simple_signing_payload(f"{fleet.host}/{fleet.repo('keystone')}", "sha256:" + "0" * 64)
    signer.sign_payload(fleet.repo("keystone"), pushed.digest, key, payload)
    assert signer.verify(fleet.repo("keystone"), pushed.digest, key.public_pem) == []


def test_bundle_through_tag_schema_and_through_the_api(fleet, registry, front):
    pushed = fleet.seed(["keystone"])["keystone"]
    repo = fleet.repo("keystone")
    key = KeyPair.generate()
    plain = Signer(registry.host)
    ref = plain.bundle(repo, pushed.digest, pushed.media_type, key)
    index = json.loads(plain.get_manifest(repo, pushed.digest.replace(":", "-")))
    assert [m["digest"] for m in index["manifests"]] == [ref]  # the registry has no API: tag schema written
    assert plain.client.request("GET", f"/v2/{repo}/referrers/{pushed.digest}").status_code == 404
    assert plain.verify(repo, pushed.digest, key.public_pem) == ["bundle"]

    # through the front: the API answers from the registry's storage, and a PUT gets OCI-Subject
    api = Signer(front.host)
    listed = api.referrers(repo, pushed.digest)
    assert [(d["digest"], d["artifactType"]) for d in listed] == [(ref, BUNDLE)]
    second = api.bundle(repo, pushed.digest, pushed.media_type, key, predicate_type="https://spdx.dev/Document")
    index = json.loads(plain.get_manifest(repo, pushed.digest.replace(":", "-")))
    assert second not in [m["digest"] for m in index["manifests"]]  # OCI-Subject: no tag-schema update
    assert {d["digest"] for d in api.referrers(repo, pushed.digest)} == {ref, second}
    assert api.verify(repo, pushed.digest, key.public_pem) == ["bundle", "bundle"]


def test_front_filters_and_pages(fleet, front):
    pushed = fleet.seed(["keystone"])["keystone"]
    repo = fleet.repo("keystone")
    signer, key = Signer(front.host), KeyPair.generate()
    made = {signer.bundle(repo, pushed.digest, pushed.media_type, key, predicate_type=f"urn:p{i}") for i in range(3)}
    first = signer.client.request("GET", f"/v2/{repo}/referrers/{pushed.digest}")
    assert len(first.json()["manifests"]) == 2 and 'rel="next"' in first.headers["Link"]
    nxt = first.headers["Link"].split(">")[0].lstrip("<")
    rest = signer.client.request("GET", nxt).json()["manifests"]
    assert {d["digest"] for d in first.json()["manifests"] + rest} == made
    filtered = signer.client.request("GET", f"/v2/{repo}/referrers/{pushed.digest}?artifactType=none/none")
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType" and filtered.json()["manifests"] == []
    assert sha256(b"{}") == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
