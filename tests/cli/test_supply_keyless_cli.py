"""Issue 11: a real keyless (Fulcio + Rekor) sigstore bundle, verified offline by `lock` with the
sigstore extra.

The bundle is cosign's own test vector (tests/fixtures/cosign/README.md): signed on the
public-good instance for go-containerregistry's empty image. That image's manifest and
config are rebuilt here (their bytes are fixed by the digest the bundle signs) and pushed
to the test registry with the bundle attached as an OCI 1.1 referrer (tag schema).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import tomli

from tests.cli.lockrepo import git, make_repo
from tests.support.push import push_blob
from tests.support.signer import KeyPair, Signer, simple_signing_payload

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "cosign" / "cosign-oci-attestation"
SIGNED = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG = b'{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}'


def push_empty_image(fleet, image: str) -> str:
    signer = Signer(fleet.host)
    repo = fleet.repo(image)
    config = push_blob(fleet.host, repo, CONFIG, auth=signer.client)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(CONFIG),
                "digest": config,
            },
            "layers": [],
        },
        separators=(",", ":"),
    ).encode()
    signer.put(repo, fleet.tag, body, DOCKER_V2)
    raw = signer.get_manifest(repo, fleet.tag)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == SIGNED  # the very image the bundle signs
    bundle = (FIXTURE / "oci-attestation.sigstore.json").read_bytes()
    signer.push_bundle(repo, SIGNED, DOCKER_V2, bundle, predicate_type="https://cosign.sigstore.dev/attestation/v1")
    return repo


def trusted(repo: Path, docker_cli, trust: str, key: KeyPair | None = None) -> None:
    if key is not None:
        (repo / "keys").mkdir(exist_ok=True)
        (repo / "keys" / "kolla.pub").write_bytes(key.public_pem)
    path = repo / "lockfiles" / "channels.toml"
    path.write_text(path.read_text() + "\n[channels.ocata.trust]\n" + trust)
    git(repo, "add", "-A", env=docker_cli.env)
    git(repo, "commit", "-qm", "trust", env=docker_cli.env)


def bundle_record(repo: Path) -> dict:
    entry = tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]["empty"]
    return next(r for r in entry["referrers"] if r.get("artifact-type", "").startswith("application/vnd.dev.sigstore"))


IDENTITY = 'identities = [{issuer = "https://github.com/login/oauth", subject = "cody@soyland.com"}]\n'
ATTESTATION = "https://cosign.sigstore.dev/attestation/v1"  # the vector is a `cosign attest` bundle


def test_lock_verifies_a_keyless_bundle_offline(tmp_path, docker_cli, fleet):
    push_empty_image(fleet, "empty")
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["empty"])
    trusted(repo, docker_cli, IDENTITY + f'require-attestations = ["{ATTESTATION}"]\n')
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "offline mode" not in done.stderr  # sigstore's own logging stays quiet
    record = bundle_record(repo)
    assert record["verified-by"] == "keyless:cody@soyland.com (https://github.com/login/oauth)"
    assert record["subject"] == SIGNED and record["found-via"] == "tag-schema"
    assert record["predicate-types"] == [ATTESTATION]


def test_keyless_bundle_of_another_identity_is_not_verified(tmp_path, docker_cli, fleet):
    push_empty_image(fleet, "empty")
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["empty"])
    trusted(repo, docker_cli, IDENTITY.replace("cody@soyland.com", "release@example.com"))
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 0, done.stderr
    record = bundle_record(repo)
    assert "verified-by" not in record
    assert record["note"].startswith("keyless signature not verified: Certificate's SANs do not match")


def test_keys_only_policy_notes_the_keyless_bundle(tmp_path, docker_cli, fleet):
    push_empty_image(fleet, "empty")
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["empty"])
    trusted(repo, docker_cli, 'keys = ["keys/kolla.pub"]\n', KeyPair.generate())
    done = docker_cli.kolla("lock", "ocata", "--format", "json", cwd=repo)
    assert done.returncode == 0, done.stderr
    record = bundle_record(repo)
    assert "verified-by" not in record
    assert record["note"] == "keyless signature: no trusted identity configured ([trust] identities)"
    (image,) = json.loads(done.stdout)["images"]
    assert [r.get("note") for r in image["referrers"]] == [record["note"]]  # and the JSON output says so


def test_legacy_sig_with_a_certificate_is_recorded_as_keyless_and_refused(tmp_path, docker_cli, fleet):
    pushed = fleet.seed(["keystone", "nova-api"])
    signer, trusted_key, keyless = Signer(fleet.host), KeyPair.generate(), KeyPair.generate()
    for image, key in (("keystone", keyless), ("nova-api", trusted_key)):
        digest = pushed[image].digest
        payload = simple_signing_payload(f"{fleet.host}/{fleet.repo(image)}", digest)
        signer.sign_payload(fleet.repo(image), digest, key, payload, certificate=key.certificate("ci@example.com"))
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["keystone", "nova-api"])
    trusted(repo, docker_cli, 'keys = ["keys/kolla.pub"]\nrequire = "signature"\n', trusted_key)
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 1, done.stderr
    note = "keyless signature in a cosign .sig tag: not verifiable offline (only v0.3 bundles are)"
    assert f"keystone: signature not verified ({note})" in done.stderr
    images = tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]
    assert "keystone" not in images  # refused: left out
    (sig,) = images["nova-api"]["referrers"]  # a certificate beside a trusted key's signature: the key decides
    assert sig["verified-by"] == trusted_key.fingerprint
