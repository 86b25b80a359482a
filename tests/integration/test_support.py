"""The test infrastructure itself works, checked with skopeo as an independent client."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests

from tests.support import (ACCEPT_ALL, KollaFleet, Registry, build_layer, delete_manifest, push_image,
                           push_index, sha256)


def skopeo_inspect(ref: str, *args: str, raw: bool = False) -> subprocess.CompletedProcess:
    cmd = ["skopeo", "inspect", "--tls-verify=false", *args, *(["--raw"] if raw else []), f"docker://{ref}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_push_image_digest_matches_skopeo(registry: Registry) -> None:
    layer = build_layer({"/etc/hello": b"hello\n"})
    pushed = push_image(registry.host, "kolla/centos-binary-hello", "ocata", [layer], {"kolla_version": "4.0.2"})
    out = skopeo_inspect(f"{registry.host}/kolla/centos-binary-hello:ocata")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["Digest"] == pushed.digest
    assert info["Labels"]["kolla_version"] == "4.0.2"
    assert info["Layers"] == [layer.digest]
    raw = skopeo_inspect(f"{registry.host}/kolla/centos-binary-hello:ocata", raw=True).stdout
    assert sha256(raw.encode()) == pushed.digest


def test_layers_are_deterministic() -> None:
    a = build_layer({"/a": b"1", "/b/c": b"2"}, symlinks={"/bin/sh": "busybox"}, whiteouts=["/etc/motd"])
    b = build_layer({"/b/c": b"2", "/a": b"1"}, symlinks={"/bin/sh": "busybox"}, whiteouts=["/etc/motd"])
    assert a.digest == b.digest and a.diff_id == b.diff_id
    assert build_layer({"/a": b"1"}, compression="zstd").media_type.endswith("+zstd")
    assert build_layer({"/a": b"1"}, compression="none").digest == build_layer({"/a": b"1"}, compression="none").diff_id


def test_fleet_seed_shares_layers_and_matches_skopeo(fleet: KollaFleet) -> None:
    pushed = fleet.seed(["nova-api", "nova-compute", "keystone", "mariadb"])
    for image, result in pushed.items():
        info = json.loads(skopeo_inspect(fleet.image_ref(image)).stdout)
        assert info["Digest"] == result.digest == fleet.digest_of(image)
        assert info["Labels"]["kolla_version"] == "4.0.2"
    nova_api, nova_compute = (fleet.layers(i) for i in ("nova-api", "nova-compute"))
    assert [l.digest for l in nova_api[:3]] == [l.digest for l in nova_compute[:3]]  # base, openstack, nova
    assert nova_api[3].digest != nova_compute[3].digest
    assert fleet.expected_manifesto("nova-api")["python:nova"] == "15.0.2"
    assert fleet.expected_manifesto("nova-api")["deb:openssl"] == "1.1.0f-3+deb9u2"
    assert fleet.expected_manifesto("mariadb")["deb:mariadb-server-10.1"] == "10.1.26-0+deb9u1"
    assert "python:nova" not in fleet.expected_manifesto("mariadb")


def test_fleet_rebuilds_change_digest(fleet: KollaFleet) -> None:
    first = fleet.seed(["nova-api"])["nova-api"]
    same = fleet.rebuild("nova-api")  # new build-date label only
    assert same.digest != first.digest and same.layers == first.layers
    assert fleet.expected_manifesto("nova-api")["python:nova"] == "15.0.2"
    changed = fleet.rebuild("nova-api", versions={"nova": "15.0.3", "deb:openssl": "1.1.0f-3+deb9u3"})
    assert fleet.digest_of("nova-api") == changed.digest
    assert fleet.expected_manifesto("nova-api")["python:nova"] == "15.0.3"
    assert fleet.expected_manifesto("nova-api")["deb:openssl"] == "1.1.0f-3+deb9u3"
    assert changed.layers[0].digest != same.layers[0].digest  # base layer carries the deb change
    extra = fleet.rebuild("nova-api", extra_file=True)
    assert extra.layers[-1].digest != changed.layers[-1].digest


def test_fleet_multiarch_index_with_attestation(fleet: KollaFleet) -> None:
    index = fleet.multiarch("keystone")
    raw = skopeo_inspect(fleet.image_ref("keystone"), raw=True)
    assert raw.returncode == 0, raw.stderr
    doc = json.loads(raw.stdout)
    assert sha256(raw.stdout.encode()) == index.digest == fleet.digest_of("keystone")
    platforms = [(m["platform"]["os"], m["platform"]["architecture"]) for m in doc["manifests"]]
    assert platforms == [("linux", "amd64"), ("linux", "arm64"), ("unknown", "unknown"), ("unknown", "unknown")]
    assert doc["manifests"][2]["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
    arm = skopeo_inspect(fleet.image_ref("keystone"), "--override-arch", "arm64")
    arm_child = fleet.children["keystone"]["linux/arm64/v8"]
    assert json.loads(arm.stdout)["Architecture"] == "arm64"
    assert json.loads(arm.stdout)["Layers"] == [layer.digest for layer in arm_child.layers]
    assert arm_child.layers[0].digest != fleet.children["keystone"]["linux/amd64"].layers[0].digest


def test_delete_manifest(fleet: KollaFleet) -> None:
    pushed = fleet.seed(["cron"])["cron"]
    fleet.delete("cron")
    assert skopeo_inspect(fleet.image_ref("cron")).returncode != 0
    url = f"http://{fleet.host}/v2/{fleet.repo('cron')}/manifests/{pushed.digest}"
    assert requests.head(url, headers={"Accept": ACCEPT_ALL}, timeout=10).status_code == 404
