"""Issue 11 through the real docker CLI: signatures and attestations discovered, recorded, verified.

Signatures come from the independent test signer (tests/support/signer.py, which
never imports docker_kolla) with key pairs it generates; the referrers API path
goes through a real HTTP front over the real registry's storage.
"""

from __future__ import annotations

import pytest
import tomli

from tests.cli.lockrepo import git, make_repo
from tests.support.referrers_front import ReferrersFront
from tests.support.signer import BUNDLE, DSSE, SIMPLE_SIGNING, KeyPair, Signer, simple_signing_payload

IMAGES = ["keystone", "nova-api", "glance-api"]
SPDX = "https://spdx.dev/Document"


def load(repo) -> dict:
    return tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


def set_trust(repo, docker_cli, key: KeyPair | None, trust: str) -> None:
    """Append ``[channels.ocata.trust]`` (and write keys/kolla.pub) and commit both."""
    if key is not None:
        (repo / "keys").mkdir(exist_ok=True)
        (repo / "keys" / "kolla.pub").write_bytes(key.public_pem)
        git(repo, "add", "keys/kolla.pub", env=docker_cli.env)
    path = repo / "lockfiles" / "channels.toml"
    path.write_text(path.read_text() + "\n[channels.ocata.trust]\n" + trust)
    git(repo, "commit", "-q", "-am", "trust", env=docker_cli.env)


def by_kind(entry: dict) -> dict:
    return {(r["found-via"], r.get("artifact-type", "")): r for r in entry.get("referrers", [])}


@pytest.fixture
def key() -> KeyPair:
    return KeyPair.generate()


def test_lock_records_and_verifies_signatures(tmp_path, docker_cli, fleet, key):
    pushed = fleet.seed(IMAGES)
    signer = Signer(fleet.host)
    signer.sign(fleet.repo("keystone"), pushed["keystone"].digest, key)
    signer.attest(fleet.repo("keystone"), pushed["keystone"].digest, key, SPDX, {"spdxVersion": "SPDX-2.3"})
    signer.bundle(fleet.repo("nova-api"), pushed["nova-api"].digest, pushed["nova-api"].media_type, key)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    set_trust(repo, docker_cli, key, 'keys = ["keys/kolla.pub"]\n')
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 0, done.stderr
    images = load(repo)

    keystone = by_kind(images["keystone"])
    sig = keystone[("cosign-tag", SIMPLE_SIGNING)]
    assert sig["subject"] == pushed["keystone"].digest
    assert sig["verified-by"] == key.fingerprint
    assert sig["digest"] == fleet.digest_of("keystone", pushed["keystone"].digest.replace(":", "-") + ".sig")
    att = keystone[("cosign-tag", DSSE)]
    assert att["predicate-types"] == [SPDX] and att["verified-by"] == key.fingerprint

    bundle = by_kind(images["nova-api"])[("tag-schema", BUNDLE)]
    assert bundle["verified-by"] == key.fingerprint
    assert bundle["predicate-types"] == ["https://sigstore.dev/cosign/sign/v1"]
    assert "referrers" not in images["glance-api"]  # unsigned: nothing recorded
    assert [i["revision"] for i in images.values()] == [1, 1, 1]


def test_wrong_key_and_wrong_digest_fail_and_require_refuses(tmp_path, docker_cli, fleet, key):
    pushed = fleet.seed(IMAGES)
    signer, other = Signer(fleet.host), KeyPair.generate()
    signer.sign(fleet.repo("keystone"), pushed["keystone"].digest, other)  # another key
    lie = simple_signing_payload(f"{fleet.host}/{fleet.repo('nova-api')}", pushed["keystone"].digest)
    signer.sign_payload(fleet.repo("nova-api"), pushed["nova-api"].digest, key, lie)  # names another digest
    signer.sign(fleet.repo("glance-api"), pushed["glance-api"].digest, key)  # good
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)

    first = docker_cli.kolla("lock", "ocata", cwd=repo)  # no policy yet: everything locks
    assert first.returncode == 0, first.stderr
    before = (repo / "lockfiles" / "ocata.toml").read_bytes()
    set_trust(repo, docker_cli, key, 'keys = ["keys/kolla.pub"]\nrequire = "signature"\n')

    for image in IMAGES:  # new builds, new digests: each must pass the policy now
        fleet.rebuild(image, versions={"deb:openssl": "1.1.0f-3+deb9u3"})
        if image != "keystone":
            new = fleet.pushed[image].digest
            if image == "nova-api":
                lie = simple_signing_payload(f"{fleet.host}/{fleet.repo(image)}", pushed["keystone"].digest)
                signer.sign_payload(fleet.repo(image), new, key, lie)
            else:
                signer.sign(fleet.repo(image), new, key)
    signer.sign(fleet.repo("keystone"), fleet.pushed["keystone"].digest, other)
    refused = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert refused.returncode == 1, refused.stderr
    assert "keystone: signature not verified (no trusted key verifies the signature)" in refused.stderr
    assert "nova-api: signature not verified (signed payload names" in refused.stderr
    images = load(repo)
    old = tomli.loads(before.decode())["images"]
    assert images["keystone"] == old["keystone"] and images["nova-api"] == old["nova-api"]  # kept as they were
    assert images["glance-api"]["digest"] == fleet.pushed["glance-api"].digest  # signed by the key: locked
    sig = by_kind(images["glance-api"])[("cosign-tag", SIMPLE_SIGNING)]
    assert sig["verified-by"] == key.fingerprint


def test_unsigned_new_image_is_left_out_and_lockfile_unchanged(tmp_path, docker_cli, fleet, key):
    fleet.seed(["keystone"])
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["keystone"])
    set_trust(repo, docker_cli, key, 'keys = ["keys/kolla.pub"]\nrequire = "signature"\n')
    head = git(repo, "rev-parse", "HEAD")
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 1
    assert "keystone: no signature for" in done.stderr
    assert not (repo / "lockfiles" / "ocata.toml").exists()
    assert git(repo, "rev-parse", "HEAD") == head
    assert "Traceback" not in done.stderr


def test_required_attestation_and_buildx_attestations_per_platform(tmp_path, docker_cli, fleet, key):
    fleet.multiarch("nova-api")  # the fleet builder's index carries an SPDX statement per platform
    fleet.seed(["keystone"])
    repo = make_repo(
        tmp_path / "locks", docker_cli, fleet, ["nova-api", "keystone"], platforms=("linux/amd64", "linux/arm64")
    )
    set_trust(repo, docker_cli, None, f'require-attestations = ["{SPDX}"]\n')
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 1, done.stderr
    assert f"keystone: no {SPDX} attestation" in done.stderr
    nova = load(repo)["nova-api"]
    found = [r for r in nova["referrers"] if r["found-via"] == "index"]
    kids = fleet.children["nova-api"]
    assert sorted((r["platform"], r["subject"]) for r in found) == [
        ("linux/amd64", kids["linux/amd64"].digest),
        ("linux/arm64", kids["linux/arm64/v8"].digest),
    ]
    assert all(r["predicate-types"] == [SPDX] for r in found)
    assert "keystone" not in load(repo)


def test_api_and_tag_schema_give_the_same_lock(tmp_path, docker_cli, fleet, registry, key):
    pushed = fleet.seed(["keystone"])
    Signer(fleet.host).bundle(fleet.repo("keystone"), pushed["keystone"].digest, pushed["keystone"].media_type, key)
    Signer(fleet.host).sign(fleet.repo("keystone"), pushed["keystone"].digest, key)
    plain = make_repo(tmp_path / "plain", docker_cli, fleet, ["keystone"])
    assert docker_cli.kolla("lock", "ocata", cwd=plain).returncode == 0
    with ReferrersFront(registry) as front:
        api = make_repo(tmp_path / "api", docker_cli, fleet, ["keystone"])
        done = docker_cli.kolla("lock", "ocata", "--registry", front.host, cwd=api)
        assert done.returncode == 0, done.stderr
        assert front.count("GET", "referrers") == 1  # one API request for the one digest
    a, b = load(plain)["keystone"], load(api)["keystone"]
    assert a["repository"].replace(fleet.host, front.host) == b["repository"]

    def strip(entry):
        return [{k: v for k, v in r.items() if k != "found-via"} for r in entry["referrers"]]

    assert strip(a) == strip(b)
    assert sorted(r["found-via"] for r in a["referrers"]) == ["cosign-tag", "tag-schema"]
    assert sorted(r["found-via"] for r in b["referrers"]) == ["api", "cosign-tag"]
    assert {k: v for k, v in a.items() if k not in ("repository", "referrers")} == {
        k: v for k, v in b.items() if k not in ("repository", "referrers")
    }


def test_signature_change_is_its_own_diff_section_and_warm_relock_costs_nothing(
    tmp_path, docker_cli, fleet, key, proxy_factory
):
    pushed = fleet.seed(IMAGES)
    proxy = proxy_factory(fleet.host)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", "--registry", proxy.host, cwd=repo).returncode == 0
    before = (repo / "lockfiles" / "ocata.toml").read_bytes()
    Signer(fleet.host).sign(fleet.repo("keystone"), pushed["keystone"].digest, key)

    proxy.reset_counts()
    warm = docker_cli.kolla("lock", "ocata", "--registry", proxy.host, cwd=repo)
    assert warm.returncode == 0, warm.stderr
    assert proxy.counts() == {("HEAD", "manifest"): 3}  # one HEAD per image, nothing for discovery
    assert (repo / "lockfiles" / "ocata.toml").read_bytes() == before

    refresh = docker_cli.kolla("lock", "ocata", "--registry", proxy.host, "--refresh-referrers", cwd=repo)
    assert refresh.returncode == 0, refresh.stderr
    assert "no change" in refresh.stdout or "lock ocata" in refresh.stdout
    images = load(repo)
    assert images["keystone"]["revision"] == 1 and images["keystone"]["tag"] == "ocata-1"
    diff = docker_cli.kolla("diff", "HEAD~1", cwd=repo)
    assert diff.returncode == 0, diff.stderr
    assert "signatures and attestations:" in diff.stdout
    assert "keystone: + signature" in diff.stdout and "(cosign-tag)" in diff.stdout
    assert "0 updated, 0 added, 0 removed, 0 rebuilt (digest only), 3 unchanged" in diff.stdout
    md = docker_cli.kolla("diff", "HEAD~1", "--format", "markdown", cwd=repo)
    assert "#### Signatures and attestations" in md.stdout
    assert docker_cli.kolla("diff", "HEAD~1", "--exit-code", cwd=repo).returncode == 1


def test_message_signature_bundle_is_verified(tmp_path, docker_cli, fleet, key):
    pushed = fleet.seed(["keystone", "nova-api"])
    signer, other = Signer(fleet.host), KeyPair.generate()
    ks, nova = fleet.repo("keystone"), fleet.repo("nova-api")
    signer.message_bundle(ks, pushed["keystone"].digest, pushed["keystone"].media_type, key)
    signer.message_bundle(nova, pushed["nova-api"].digest, pushed["nova-api"].media_type, other)
    assert signer.verify(ks, pushed["keystone"].digest, key.public_pem) == ["message"]  # the independent verifier
    assert signer.verify(nova, pushed["nova-api"].digest, key.public_pem) == []
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["keystone", "nova-api"])
    set_trust(repo, docker_cli, key, 'keys = ["keys/kolla.pub"]\nrequire = "signature"\n')
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 1, done.stderr
    assert "nova-api: signature not verified (no trusted key verifies the signature)" in done.stderr
    bundle = by_kind(load(repo)["keystone"])[("tag-schema", BUNDLE)]
    assert bundle["verified-by"] == key.fingerprint and "predicate-types" not in bundle
    assert "nova-api" not in load(repo)
