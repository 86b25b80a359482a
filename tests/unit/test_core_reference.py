import pytest

from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Platform, parse_manifest
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import InvalidReference

HEX = "a" * 64


@pytest.mark.parametrize(
    "text,repository,tag,api_host,auth_key",
    [
        ("nginx", "docker.io/library/nginx", "latest", "registry-1.docker.io", "https://index.docker.io/v1/"),
        (
            "kolla/centos-binary-nova-api:ocata",
            "docker.io/kolla/centos-binary-nova-api",
            "ocata",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
        ),
        (
            "index.docker.io/nginx:1",
            "docker.io/library/nginx",
            "1",
            "registry-1.docker.io",
            "https://index.docker.io/v1/",
        ),
        ("127.0.0.1:5000/kolla/x:ocata-3", "127.0.0.1:5000/kolla/x", "ocata-3", "127.0.0.1:5000", "127.0.0.1:5000"),
        ("localhost/a/b", "localhost/a/b", "latest", "localhost", "localhost"),
        (
            "quay.io/openstack.kolla/nova-api:2025.1-rocky-9",
            "quay.io/openstack.kolla/nova-api",
            "2025.1-rocky-9",
            "quay.io",
            "quay.io",
        ),
    ],
)
def test_parse_normalises_like_distribution(text, repository, tag, api_host, auth_key):
    ref = ImageRef.parse(text)
    assert (ref.repository, ref.tag, ref.api_host, ref.auth_key) == (repository, tag, api_host, auth_key)


def test_digest_reference_round_trips():
    ref = ImageRef.parse(f"kolla/x@sha256:{HEX}")
    assert ref.tag == "" and str(ref.digest) == f"sha256:{HEX}"
    assert str(ref) == f"docker.io/kolla/x@sha256:{HEX}"
    assert ImageRef.parse(str(ref)) == ref


def test_with_tag_and_digest_return_copies():
    ref = ImageRef.parse("kolla/x:ocata")
    pinned = ref.with_digest(Digest.parse(f"sha256:{HEX}"))
    assert ref.tag == "ocata" and pinned.tag == "" and pinned.digest is not None
    assert ref.with_tag("ocata-2").tag == "ocata-2"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " nginx",
        "Kolla/X",
        "a:b:c",
        "x@sha256:zz",
        "http://h/x",
        "x:" + "t" * 200,
        "kolla/x:bad tag",
        f"x@md5:{HEX}",
    ],
)
def test_malformed_references_raise_one_line_errors(bad):
    with pytest.raises(InvalidReference) as err:
        ImageRef.parse(bad)
    assert "\n" not in err.value.line() and "write it as" in err.value.line()


def test_digest_of_bytes_and_parse():
    d = Digest.of(b"abc")
    assert str(d) == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert Digest.parse(str(d)) == d and d.matches(b"abc") and not d.matches(b"abd")
    with pytest.raises(InvalidReference):
        Digest.parse("sha256:ABC")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("linux/x86_64", "linux/amd64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
    ],
)
def test_platform_normalisation(text, expected):
    assert str(Platform.parse(text)) == expected


def test_index_selection_skips_attestations():
    raw = (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['
        b'{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:' + b"1" * 64 + b'","size":1,'
        b'"platform":{"os":"linux","architecture":"arm64"}},'
        b'{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:' + b"2" * 64 + b'","size":1,'
        b'"platform":{"os":"linux","architecture":"amd64"}},'
        b'{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:' + b"3" * 64 + b'","size":1,'
        b'"platform":{"os":"unknown","architecture":"unknown"},'
        b'"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}'
    )
    index = parse_manifest(raw)
    assert index.digest == Digest.of(raw)
    assert [str(d.platform) for d in index.platform_entries()] == ["linux/arm64", "linux/amd64"]
    assert str(index.select(Platform.parse("linux/amd64")).digest) == "sha256:" + "2" * 64
    assert index.select(Platform.parse("linux/s390x")) is None
