"""Issue 10 item 5: rollback as a new revision, then verify, promote and pull (real registry, dockerd)."""

from __future__ import annotations

import subprocess

import pytest
import tomli

from tests.cli.lockrepo import git, make_repo, snapshot
from tests.support import head_digest

IMAGES = ["nova-api", "keystone"]


def load(repo) -> dict:
    return tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


@pytest.fixture
def three(tmp_path, docker_cli, fleet):
    """nova-api locked at ocata-1, -2, -3 (nova 15.0.2, .3, .4); keystone stays at ocata-1."""
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    digests = {}
    for revision, version in ((1, None), (2, "15.0.3"), (3, "15.0.4")):
        if version:
            fleet.rebuild("nova-api", versions={"nova": version})
        assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
        digests[revision] = fleet.pushed["nova-api"].digest
    return repo, fleet, digests


def test_rollback_is_a_new_revision_then_verify_promote_pull(three, docker_cli, registry, fleet_factory, dockerd):
    repo, fleet, digests = three
    dest = fleet_factory(registry)  # an empty namespace to promote into
    to = f"{registry.host}/{dest.namespace}"
    assert docker_cli.kolla("promote", "ocata", "--to", to, "--lock", "ocata~1", cwd=repo).returncode == 0
    assert docker_cli.kolla("promote", "ocata", "--to", to, cwd=repo).returncode == 0
    dest_repo = f"{dest.namespace}/{fleet.name('nova-api')}"
    assert head_digest(registry.host, dest_repo, "ocata-2") == digests[2]

    out = docker_cli.kolla(
        "rollback", "ocata", "--to", "ocata~1", "--image", "nova-api", "--reason", "15.0.4 breaks cells v1", cwd=repo
    )
    assert out.returncode == 0, out.stderr
    assert "- nova-api: ocata-3 -> ocata-4" in out.stdout
    nova = load(repo)["nova-api"]
    assert (nova["tag"], nova["revision"], nova["digest"]) == ("ocata-4", 4, digests[2])
    assert nova["manifesto"]["python:nova"] == "15.0.3"
    assert load(repo)["keystone"]["tag"] == "ocata-1"
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("rollback ocata to ocata~1 (") and "Reason: 15.0.4 breaks cells v1" in message
    assert "nova-api: ocata-3 -> ocata-4, the content of ocata-2" in message
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "show", "--format=", "--name-only", "HEAD").split() == ["lockfiles/ocata.toml"]

    ok = docker_cli.kolla("verify", cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    promoted = docker_cli.kolla("promote", "ocata", "--to", to, cwd=repo)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert head_digest(registry.host, dest_repo, "ocata-4") == digests[2]
    assert head_digest(registry.host, dest_repo, "ocata-2") == digests[2]  # untouched
    assert head_digest(registry.host, dest_repo, "ocata-3") == digests[3]  # never reused
    assert head_digest(registry.host, dest_repo, "ocata") == digests[2]

    pulled = docker_cli.run("-H", dockerd.host, "kolla", "pull", "ocata", "--image", "nova-api", cwd=repo)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    inspect = dockerd.docker(
        "image", "inspect", "--format", "{{json .RepoDigests}}", f"{fleet.host}/{fleet.repo('nova-api')}:ocata-4"
    )
    assert digests[2] in inspect.stdout

    # a later lock continues from ocata-4 (upstream still serves 15.0.4's digest: that is a change)
    relock = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert relock.returncode == 0 and load(repo)["nova-api"]["tag"] == "ocata-5"
    assert docker_cli.kolla("verify", cwd=repo).returncode == 0


def test_rollback_bad_inputs_are_one_line_exit_2_and_change_nothing(three, docker_cli):
    repo, _, _ = three
    before = snapshot(repo)
    for args, needle in [
        (["--to", "ocata~1"], "needs a reason"),
        (["--to", "ocata~9", "--reason", "x"], "has 3 lock version(s)"),
        (["--to", "ocata~1", "--image", "glance-api", "--reason", "x"], "'glance-api' is not in"),
        (["--to", "ocata~0", "--reason", "x"], "nothing to roll back"),
        (["--to", "pike~1", "--reason", "x"], "neither a channel"),
    ]:
        bad = docker_cli.kolla("rollback", "ocata", *args, cwd=repo)
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in bad.stderr, (args, bad.stderr)
    unknown = docker_cli.kolla("rollback", "pike", "--to", "ocata~1", "--reason", "x", cwd=repo)
    assert unknown.returncode == 2 and "unknown channel 'pike'" in unknown.stderr
    assert snapshot(repo) == before
    subprocess.run(["git", "-C", str(repo), "fsck", "--strict"], check=True, capture_output=True)
