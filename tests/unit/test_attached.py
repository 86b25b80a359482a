"""core.attached: the artifact's layer is exactly what manifesto-digest covers, and reads back."""

from __future__ import annotations

import json

from docker_kolla.core import attached as at
from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry, described_value
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef

AMD, ARM = Platform("linux", "amd64"), Platform("linux", "arm64")
ONE = {"python:nova": "15.0.2", "deb:openssl": "1.1.0f-3"}
TWO = {"python:nova": "15.0.3", "deb:openssl": "1.1.0f-3"}


def entry(**kw) -> LockEntry:
    base = dict(
        name="nova-api",
        repository=ImageRef.parse("localhost:5000/kolla/nova-api"),
        digest=Digest.parse("sha256:" + "ab" * 32),
        media_type="application/vnd.oci.image.index.v1+json",
        platform=AMD,
        tag="ocata-1",
        revision=1,
        manifesto=ONE,
    )
    return LockEntry(**{**base, **kw})


def read_back(e: LockEntry) -> at.Attached:
    art = at.build(e, 100, "c0ffee")
    layer, notes = at.layer_of(art.manifest) or ("", {})
    assert layer == str(Digest.of(art.layer)) == str(e.manifesto_digest)
    return at.Attached(str(art.digest), layer, notes, json.loads(art.layer))


def test_one_platform_round_trips():
    got = read_back(entry())
    assert got.platforms == {"linux/amd64": ONE}
    assert got.value == described_value(AMD, ONE, {})


def test_several_platforms_round_trip():
    got = read_back(entry(platform_manifestos={ARM: TWO}, platforms={AMD: Digest.of(b"a"), ARM: Digest.of(b"b")}))
    assert got.platforms == {"linux/amd64": ONE, "linux/arm64": TWO}


def test_non_string_facts_are_left_out():
    assert at.described_platforms({"linux/amd64": {"python:nova": 1}, "linux/arm64": TWO}, "linux/amd64") == {
        "linux/arm64": TWO
    }
    assert at.described_platforms({"python:nova": 1}, "linux/amd64") == {}
