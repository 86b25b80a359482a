"""Issue 14 with issue 11: a re-run promote of images already at the destination reads nothing
at the source when the referrers their lock records are there too; whatever is missing is
carried in full (discovered at the source, copied, re-discovered at the destination).

Source and destination are real distribution registries behind counting proxies; the lock is
made by ``docker kolla lock`` through the source proxy, so it records the signatures.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
import tomllib

from tests.cli.test_supply_promote_cli import locked_repo, signed_fleet
from tests.support import Registry
from tests.support.signer import KeyPair, Signer, cosign_tag


@pytest.fixture
def dest(tmp_path_factory):
    with Registry(tmp_path_factory.mktemp("rerun-dest")) as reg:
        yield reg


@pytest.fixture
def signed(tmp_path, docker_cli, registry, fleet_factory, proxy_factory, dest):
    """(lock repo, fleet on the source proxy, source proxy, destination proxy, pushed, key)."""
    src = proxy_factory(registry)
    fleet = fleet_factory(src)
    key = KeyPair.generate()
    pushed = signed_fleet(fleet, key)
    repo = locked_repo(tmp_path, docker_cli, fleet, key)
    return repo, fleet, src, proxy_factory(dest), pushed, key


def promote(docker_cli, repo, to: str, *args: str) -> dict:
    done = docker_cli.kolla("promote", "ocata", "--to", to, "--format", "json", *args, cwd=repo)
    assert done.returncode == 0, done.stderr
    return {i["name"]: (i["status"], i["referrers"]) for i in json.loads(done.stdout)["images"]}


def recorded(repo) -> list:
    """``found-via`` of every referrer the lockfile records."""
    lock = tomllib.loads((repo / "lockfiles" / "ocata.toml").read_text())
    return [r["found-via"] for image in lock["images"].values() for r in image.get("referrers", [])]


def test_rerun_reads_nothing_at_the_source_and_one_request_per_recorded_referrer(docker_cli, signed):
    repo, fleet, src, dst, pushed, key = signed
    first = promote(docker_cli, repo, dst.host)
    assert first == {"keystone": ("copied", 2), "nova-api": ("copied", 3)}

    src.reset_counts()
    dst.reset_counts()
    again = promote(docker_cli, repo, dst.host)
    assert again == {"keystone": ("present", 0), "nova-api": ("present", 0)}
    assert src.count() == 0, src.log  # not one source request for images already promoted
    assert dst.count("PUT") == dst.count("POST") == 0
    # two tag HEADs per image, one HEAD per recorded cosign tag, one listing per subject with
    # tag-schema referrers, one referrers-API probe for the host; no tags/list, no manifest GET by digest
    vias = recorded(repo)
    cosign, listed = vias.count("cosign-tag"), 1  # nova-api's index: the bundle in its tag-schema index
    assert vias.count("tag-schema") == 1
    assert dst.count() == 2 * 2 + cosign + listed + 1, "\n".join(f"{m} {p} {c}" for m, p, c in dst.log)
    assert not [p for _, p, _ in dst.log if "/tags/list" in p]


def test_rerun_carries_what_is_missing_and_only_that(docker_cli, signed, dest):
    repo, fleet, src, dst, pushed, key = signed
    assert promote(docker_cli, repo, dst.host, "--referrers", "none") == {
        "keystone": ("copied", 0),
        "nova-api": ("copied", 0),
    }
    # the images are there, their signatures are not: the re-run carries them in full
    assert promote(docker_cli, repo, dst.host) == {"keystone": ("present", 2), "nova-api": ("present", 3)}
    for image in ("keystone", "nova-api"):
        assert "sig" in Signer(dest.host).verify(fleet.repo(image), pushed[image].digest, key.public_pem)

    # one attestation deleted at the destination: only keystone goes back to the source
    ks = fleet.repo("keystone")
    att = Signer(dest.host).get_manifest(ks, cosign_tag(pushed["keystone"].digest, "att"))
    assert att is not None
    gone = requests.delete(f"http://{dest.host}/v2/{ks}/manifests/sha256:{hashlib.sha256(att).hexdigest()}", timeout=30)
    assert gone.status_code == 202
    src.reset_counts()
    assert promote(docker_cli, repo, dst.host) == {"keystone": ("present", 1), "nova-api": ("present", 0)}
    touched = {p.split("/v2/", 1)[1].split("/")[1] for _, p, _ in src.log if "/v2/" in p and p.count("/") > 3}
    assert touched == {ks.split("/")[1]}, src.log
    assert Signer(dest.host).get_manifest(ks, cosign_tag(pushed["keystone"].digest, "att")) == att


def test_rerun_never_overwrites_other_signatures_at_the_destination(docker_cli, signed, dest):
    repo, fleet, src, dst, pushed, key = signed
    assert promote(docker_cli, repo, dst.host, "--referrers", "none")["keystone"] == ("copied", 0)
    ks, digest = fleet.repo("keystone"), pushed["keystone"].digest
    Signer(dest.host).sign(ks, digest, KeyPair.generate())  # someone else signed it there
    theirs = Signer(dest.host).get_manifest(ks, cosign_tag(digest, "sig"))

    done = docker_cli.kolla("promote", "ocata", "--to", dst.host, "--format", "json", cwd=repo)
    assert done.returncode != 0
    assert f"{dst.host}/{ks}:{cosign_tag(digest, 'sig')} holds other signatures" in done.stderr + done.stdout
    images = {i["name"]: i["status"] for i in json.loads(done.stdout)["images"]}
    assert images == {"keystone": "failed", "nova-api": "present"}
    assert Signer(dest.host).get_manifest(ks, cosign_tag(digest, "sig")) == theirs  # not overwritten
