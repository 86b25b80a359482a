"""Issue 11: promote carries signatures, attestations and referrers byte for byte; --verify fails closed.

Source and destination are real distribution registries (no referrers API: the tag
schema and cosign tags); skopeo reads the destination back, and the independent
test signer verifies the promoted images there.
"""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from tests.cli.lockrepo import git, make_repo
from tests.support import Registry
from tests.support.referrers_front import ReferrersFront
from tests.support.signer import KeyPair, Signer, cosign_tag

SPDX = "https://spdx.dev/Document"


@pytest.fixture
def dest(tmp_path_factory):
    with Registry(tmp_path_factory.mktemp("promote-dest")) as reg:
        yield reg


def skopeo_raw(ref: str) -> bytes:
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], capture_output=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def signed_fleet(fleet, key: KeyPair) -> dict:
    pushed = {"keystone": fleet.seed(["keystone"])["keystone"], "nova-api": fleet.multiarch("nova-api")}
    signer = Signer(fleet.host)
    ks, nova = fleet.repo("keystone"), fleet.repo("nova-api")
    signer.sign(ks, pushed["keystone"].digest, key)
    signer.attest(ks, pushed["keystone"].digest, key, SPDX, {"spdxVersion": "SPDX-2.3"})
    signer.sign(nova, pushed["nova-api"].digest, key)
    signer.bundle(nova, pushed["nova-api"].digest, pushed["nova-api"].media_type, key)
    arm = fleet.children["nova-api"]["linux/arm64/v8"]
    signer.sign(nova, arm.digest, key)  # a platform digest signed on its own
    return pushed


def locked_repo(tmp_path, docker_cli, fleet, key):
    repo = make_repo(
        tmp_path / "locks", docker_cli, fleet, ["keystone", "nova-api"], platforms=("linux/amd64", "linux/arm64")
    )
    (repo / "keys").mkdir()
    (repo / "keys" / "kolla.pub").write_bytes(key.public_pem)
    path = repo / "lockfiles" / "channels.toml"
    path.write_text(path.read_text() + '\n[channels.ocata.trust]\nkeys = ["keys/kolla.pub"]\n')
    git(repo, "add", "-A", env=docker_cli.env)
    git(repo, "commit", "-qm", "trust", env=docker_cli.env)
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 0, done.stderr
    return repo


def test_promote_carries_signatures_byte_for_byte_then_copies_nothing(tmp_path, docker_cli, fleet, dest):
    key = KeyPair.generate()
    pushed = signed_fleet(fleet, key)
    repo = locked_repo(tmp_path, docker_cli, fleet, key)
    done = docker_cli.kolla("promote", "ocata", "--to", dest.host, "--format", "json", cwd=repo)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {i["name"]: i["referrers"] for i in doc["images"]} == {"keystone": 2, "nova-api": 3}

    src, dst = Signer(fleet.host), Signer(dest.host)
    for image in ("keystone", "nova-api"):
        repo_path, digest = fleet.repo(image), pushed[image].digest
        for suffix in ("sig", "att") if image == "keystone" else ("sig",):
            tag = cosign_tag(digest, suffix)
            there = skopeo_raw(f"{dest.host}/{repo_path}:{tag}")
            assert sha(there) == sha(src.get_manifest(repo_path, tag)), tag
        assert "sig" in dst.verify(repo_path, digest, key.public_pem)  # the independent verifier accepts it
    nova, digest = fleet.repo("nova-api"), pushed["nova-api"].digest
    assert dst.verify(nova, digest, key.public_pem) == ["sig", "bundle"]
    listed = json.loads(skopeo_raw(f"{dest.host}/{nova}:{digest.replace(':', '-')}"))["manifests"]
    source_listed = src.referrers(nova, digest)
    assert [d["digest"] for d in listed] == [d["digest"] for d in source_listed]
    for d in listed:  # the referrer manifest itself, byte for byte
        assert sha(skopeo_raw(f"{dest.host}/{nova}@{d['digest']}")) == d["digest"]
    arm = fleet.children["nova-api"]["linux/arm64/v8"].digest
    assert dst.verify(nova, arm, key.public_pem) == ["sig"]
    index = skopeo_raw(f"{dest.host}/{nova}@{digest}")
    assert sha(index) == digest  # the index (with its buildx attestations) is not rebuilt

    again = docker_cli.kolla("promote", "ocata", "--to", dest.host, "--format", "json", cwd=repo)
    assert again.returncode == 0, again.stderr
    totals = json.loads(again.stdout)["totals"]
    assert totals["manifests-put"] == 0 and totals["bytes-moved"] == 0 and totals["blobs-uploaded"] == 0

    only = docker_cli.kolla("promote", "ocata", "--to", f"{dest.host}/sigonly", "--referrers", "signatures", cwd=repo)
    assert only.returncode == 0, only.stderr
    ks = "sigonly/" + fleet.repo("keystone").rsplit("/", 1)[1]
    assert Signer(dest.host).get_manifest(ks, cosign_tag(pushed["keystone"].digest, "sig")) is not None
    assert Signer(dest.host).get_manifest(ks, cosign_tag(pushed["keystone"].digest, "att")) is None


@pytest.mark.engine
def test_promote_and_pull_verify_fail_closed_on_a_tampered_signature(tmp_path, docker_cli, fleet, dest, dockerd):
    key = KeyPair.generate()
    pushed = signed_fleet(fleet, key)
    repo = locked_repo(tmp_path, docker_cli, fleet, key)
    Signer(fleet.host).tamper(fleet.repo("keystone"), pushed["keystone"].digest)
    done = docker_cli.kolla("promote", "ocata", "--to", dest.host, "--verify", cwd=repo)
    assert done.returncode == 1, done.stderr
    assert "keystone (signature not verified (no trusted key verifies the signature)" in done.stderr
    probe = Signer(dest.host)
    assert probe.get_manifest(fleet.repo("keystone"), pushed["keystone"].digest) is None  # nothing copied
    assert probe.get_manifest(fleet.repo("keystone"), "ocata-1") is None
    assert probe.get_manifest(fleet.repo("nova-api"), "ocata-1") is not None  # the good one went

    pull = docker_cli.run("-H", dockerd.host, "kolla", "pull", "--verify", "--image", "keystone", cwd=repo)
    assert pull.returncode == 1, pull.stderr
    assert "1 image(s) not pulled, signature not verified: keystone (" in pull.stderr
    held = docker_cli.run("-H", dockerd.host, "images", "--format", "{{.Repository}}", check=True).stdout
    assert fleet.repo("keystone") not in held


def test_promote_to_a_registry_with_the_referrers_api(tmp_path, docker_cli, fleet, dest):
    key = KeyPair.generate()
    pushed = signed_fleet(fleet, key)
    repo = locked_repo(tmp_path, docker_cli, fleet, key)
    with ReferrersFront(dest) as front:
        done = docker_cli.kolla("promote", "ocata", "--to", front.host, cwd=repo)
        assert done.returncode == 0, done.stderr
        nova, digest = fleet.repo("nova-api"), pushed["nova-api"].digest
        api = Signer(front.host)
        assert [d["artifactType"] for d in api.referrers(nova, digest)] == [
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        ]
        assert api.get_manifest(nova, digest.replace(":", "-")) is None  # the API indexes it: no tag-schema index
        assert api.verify(nova, digest, key.public_pem) == ["sig", "bundle"]
