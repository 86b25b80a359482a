"""Issue 11: signatures checked where `promote --to HOST/OTHER_NS` put the images.

cosign's docker-reference names the repository the image was signed in. After a promote
into another namespace the copies live elsewhere, so a signature is accepted when it
names the lock's recorded repository of the image (or, at a re-lock from the mirror, the
channel's configured one), and the lock records which (`signed-as`).
"""

from __future__ import annotations

import json

import pytest
import tomli

from tests.cli.lockrepo import git, make_repo
from tests.cli.test_supply_promote_cli import locked_repo, signed_fleet
from tests.support import Registry
from tests.support.signer import KeyPair, Signer, simple_signing_payload


@pytest.fixture
def dest(tmp_path_factory):
    with Registry(tmp_path_factory.mktemp("identity-dest")) as reg:
        yield reg


def load(repo) -> dict:
    return tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


def test_verify_at_a_promoted_namespace_accepts_the_source_reference(tmp_path, docker_cli, fleet, dest):
    key = KeyPair.generate()
    pushed = signed_fleet(fleet, key)
    repo = locked_repo(tmp_path, docker_cli, fleet, key)
    to = f"{dest.host}/prod"
    done = docker_cli.kolla("promote", "ocata", "--to", to, cwd=repo)
    assert done.returncode == 0, done.stderr
    keystone = "prod/" + fleet.repo("keystone").rsplit("/", 1)[1]
    # the copy's signature names the source repository, not the one it now lives in
    assert Signer(dest.host).verify(keystone, pushed["keystone"].digest, key.public_pem) == ["sig"]

    checked = docker_cli.kolla("verify", "ocata", "--signatures", "--at", to, "--format", "json", cwd=repo)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    remote = json.loads(checked.stdout)["channels"][0]["remote"]
    assert remote["problems"] == []
    source = f"{fleet.host}/{fleet.repo('keystone')}"
    assert any(n.startswith("keystone: signature") and f"signed as {source}" in n for n in remote["notes"])

    # at the source, the reference names the repository itself: nothing to remap
    home = docker_cli.kolla("verify", "ocata", "--signatures", cwd=repo)
    assert home.returncode == 0, home.stderr
    assert "signed as" not in home.stderr

    # a signature at the destination naming some other repository is refused there
    lie = simple_signing_payload(f"{fleet.host}/kolla/other", pushed["keystone"].digest)
    Signer(dest.host).sign_payload(keystone, pushed["keystone"].digest, key, lie)
    Signer(dest.host).tamper(keystone, pushed["keystone"].digest)  # and the good one no longer verifies
    bad = docker_cli.kolla("verify", "ocata", "--signatures", "--at", to, cwd=repo)
    assert bad.returncode == 1, bad.stderr
    assert "keystone: signature not verified" in bad.stdout
    assert "nova-api" not in bad.stdout


def mirror_lock(tmp_path, docker_cli, fleet, dest):
    """Lock from the source, promote into ``dest/prod``, then lock again from there in a new lock
    repository: (that repository, the signing key, what the fleet pushed)."""
    key = KeyPair.generate()
    pushed = signed_fleet(fleet, key)
    repo = locked_repo(tmp_path, docker_cli, fleet, key)
    assert docker_cli.kolla("promote", "ocata", "--to", f"{dest.host}/prod", cwd=repo).returncode == 0

    mirror = make_repo(tmp_path / "mirror", docker_cli, fleet, ["keystone"])
    (mirror / "keys").mkdir()
    (mirror / "keys" / "kolla.pub").write_bytes(key.public_pem)
    path = mirror / "lockfiles" / "channels.toml"
    path.write_text(path.read_text() + '\n[channels.ocata.trust]\nkeys = ["keys/kolla.pub"]\nrequire = "signature"\n')
    git(mirror, "add", "-A", env=docker_cli.env)
    git(mirror, "commit", "-qm", "trust", env=docker_cli.env)
    done = docker_cli.kolla("lock", "ocata", "--registry", dest.host, "--namespace", "prod", cwd=mirror)
    assert done.returncode == 0, done.stderr
    return mirror, key, pushed


def test_relock_from_the_mirror_records_signed_as_and_verify_uses_it(tmp_path, docker_cli, fleet, dest):
    mirror, key, pushed = mirror_lock(tmp_path, docker_cli, fleet, dest)
    entry = load(mirror)["keystone"]
    assert entry["repository"].startswith(f"{dest.host}/prod/")
    sig = next(
        r for r in entry["referrers"] if r["found-via"] == "cosign-tag" and "simplesigning" in r["artifact-type"]
    )
    assert sig["verified-by"] == key.fingerprint
    assert sig["signed-as"] == f"{fleet.host}/{fleet.repo('keystone')}"
    assert entry["digest"] == pushed["keystone"].digest

    # the mirror's lock names the mirror: its signatures are re-checked there, as recorded
    checked = docker_cli.kolla("verify", "ocata", "--signatures", cwd=mirror)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # and a next hop from the mirror verifies at the mirror before it copies
    onward = docker_cli.kolla("promote", "ocata", "--to", f"{dest.host}/edge", "--verify", cwd=mirror)
    assert onward.returncode == 0, onward.stderr
    edge = "edge/" + fleet.repo("keystone").rsplit("/", 1)[1]
    assert Signer(dest.host).get_manifest(edge, "ocata-1") is not None


@pytest.mark.engine
def test_pull_verify_of_a_mirror_lock(tmp_path, docker_cli, fleet, dest, dockerd):
    mirror, _, _ = mirror_lock(tmp_path, docker_cli, fleet, dest)
    pull = docker_cli.run("-H", dockerd.host, "kolla", "pull", "--verify", cwd=mirror)
    assert pull.returncode == 0, pull.stderr
    # a lock without the recorded signed-as refuses the same signature at the mirror
    lock = mirror / "lockfiles" / "ocata.toml"
    lock.write_text(
        "\n".join(line for line in lock.read_text().splitlines() if not line.startswith("signed-as")) + "\n"
    )
    git(mirror, "commit", "-qam", "forget signed-as", env=docker_cli.env)
    refused = docker_cli.run("-H", dockerd.host, "kolla", "pull", "--verify", cwd=mirror)
    assert refused.returncode == 1, refused.stderr
    assert "signature not verified (signed payload names" in refused.stderr
    # the engine is shared by the session: leave no layers that would make another test's pull a no-op
    pinned = load(mirror)["keystone"]
    image_id = dockerd.docker("image", "inspect", "--format", "{{.Id}}", f"{pinned['repository']}:ocata-1").stdout
    dockerd.docker("image", "rm", "-f", image_id.strip())
