"""The pure promote plan: immutable tags, the moving channel tag, destinations, platform subsets."""

from __future__ import annotations

import json

import pytest

from docker_kolla.core import promote_plan as pp
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import OCI_INDEX, Platform
from docker_kolla.core.reference import ImageRef, Location
from docker_kolla.errors import UsageError

A = Digest.of(b"a")
B = Digest.of(b"b")


def target(name="nova-api", digest=A, channel_tag="ocata", note="") -> pp.Target:
    return pp.Target(
        name=name,
        source=ImageRef("src.example", f"kolla/centos-binary-{name}"),
        destination=ImageRef("dst.example", f"mirror/centos-binary-{name}"),
        digest=digest,
        locked=digest,
        media_type=OCI_INDEX,
        rev_tag="ocata-3",
        channel_tag=channel_tag,
        note=note,
    )


@pytest.mark.parametrize(
    "observed, action, tags",
    [
        (pp.Observed(None, None), pp.COPY, ("ocata-3", "ocata")),
        (pp.Observed(None, B), pp.COPY, ("ocata-3", "ocata")),
        (pp.Observed(A, A), pp.PRESENT, ()),
        (pp.Observed(A, B), pp.TAG, ("ocata",)),
        (pp.Observed(A, None), pp.TAG, ("ocata",)),
        (pp.Observed(B, A), pp.REFUSED, ()),
        (pp.Observed(B, B), pp.REFUSED, ()),
    ],
)
def test_plan_image_rules(observed, action, tags):
    item = pp.plan_image(target(), observed)
    assert item.action == action and item.put_tags == tags


def test_refusal_names_both_digests_and_never_puts():
    item = pp.plan_image(target(), pp.Observed(B, None))
    assert "dst.example/mirror/centos-binary-nova-api:ocata-3 is" in item.reason
    assert item.put_tags == () and str(A) in item.reason and str(B) in item.reason and "ocata-3" in item.reason


def test_static_channel_gets_only_its_release_tag():
    static = target(channel_tag="")
    assert pp.plan_image(static, pp.Observed(None, None)).put_tags == ("ocata-3",)
    assert pp.plan_image(static, pp.Observed(A, B)).action == pp.PRESENT


def test_note_means_refused_whatever_the_destination_holds():
    assert pp.plan_image(target(note="no such platform"), pp.Observed()).action == pp.REFUSED


def test_plan_counts_and_work():
    targets = [target("a"), target("b"), target("c")]
    plan = pp.make_plan(
        "ocata", "dst.example/mirror", targets, {"a": pp.Observed(A, A), "b": pp.Observed(A, A), "c": pp.Observed(A, A)}
    )
    assert not plan.has_work and plan.counts()["present"] == 3
    plan = pp.make_plan("ocata", "dst.example/mirror", targets, {"a": pp.Observed(A, A)})
    assert plan.has_work and plan.counts() == {"copy": 2, "tag": 0, "present": 1, "refused": 0}
    assert [i.action for i in plan.items] == ["present", "copy", "copy"]


@pytest.mark.parametrize(
    "to, source, expected",
    [
        (
            "dst.example:5000/mirror",
            "src.example/kolla/centos-binary-nova-api",
            "dst.example:5000/mirror/centos-binary-nova-api",
        ),
        (
            "dst.example:5000/a/b",
            "docker.io/kolla/centos-binary-nova-api",
            "dst.example:5000/a/b/centos-binary-nova-api",
        ),
        (
            "dst.example:5000",
            "src.example/kolla/centos-binary-nova-api",
            "dst.example:5000/kolla/centos-binary-nova-api",
        ),
        ("localhost/", "docker.io/library/nginx", "localhost/library/nginx"),
    ],
)
def test_destination_repository(to, source, expected):
    src = ImageRef.parse(source)
    assert Location.parse(to).repository(ImageRef(src.registry, src.path)).repository == expected


@pytest.mark.parametrize("bad", ["", "https://x.example/kolla", "x.example/Bad Name", "x.example/a@sha256:00"])
def test_destination_rejects_malformed(bad):
    with pytest.raises(UsageError):
        Location.parse(bad)


def test_select_images():
    assert pp.select_images({"b": 1, "a": 2}, ()) == ["a", "b"]
    assert pp.select_images({"b": 1, "a": 2}, ("b",)) == ["b"]
    with pytest.raises(UsageError, match="zzz"):
        pp.select_images({"a": 1}, ("zzz",))


def _index() -> bytes:
    amd, arm, att = Digest.of(b"amd"), Digest.of(b"arm"), Digest.of(b"att")
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": str(amd),
                "size": 1,
                "platform": {"os": "linux", "architecture": "amd64"},
            },
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": str(arm),
                "size": 1,
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": str(att),
                "size": 1,
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {
                    "vnd.docker.reference.type": "attestation-manifest",
                    "vnd.docker.reference.digest": str(amd),
                },
            },
        ],
    }
    return json.dumps(doc, indent=2).encode()


def test_subset_index_keeps_platform_and_its_attestation():
    raw = _index()
    data, kept = pp.subset_index(raw, [Platform.parse("linux/amd64")])
    doc = json.loads(data)
    assert kept == (Digest.of(b"amd"),)
    assert [m["digest"] for m in doc["manifests"]] == [str(Digest.of(b"amd")), str(Digest.of(b"att"))]
    assert doc["mediaType"] == OCI_INDEX
    assert pp.subset_index(raw, [Platform.parse("linux/amd64")])[0] == data  # deterministic


def test_subset_index_all_platforms_keeps_original_and_none_matching_keeps_nothing():
    raw = _index()
    assert pp.subset_index(raw, [Platform.parse("linux/amd64"), Platform.parse("linux/aarch64")]) is None
    _, kept = pp.subset_index(raw, [Platform.parse("linux/s390x")])
    assert kept == ()
