"""Issue 10 item 1: lock's CI contract through the real docker CLI (exit codes, dry run, JSON, quiet)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.cli.lockrepo import git, make_repo, snapshot

IMAGES = ["nova-api", "keystone", "glance-api"]


@pytest.fixture
def seeded(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    return repo, fleet, remote


def remote_branches(remote) -> list:
    out = subprocess.run(
        ["git", "-C", str(remote), "for-each-ref", "--format=%(refname:short)", "refs/heads"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def test_dry_run_writes_nothing_and_exit_code_says_would_change(seeded, docker_cli):
    repo, _, _ = seeded
    before = snapshot(repo)
    dry = docker_cli.kolla("lock", "ocata", "--dry-run", "--exit-code", cwd=repo)
    assert dry.returncode == 1, dry.stderr
    assert dry.stdout.startswith("lock ocata: 3 new\n")
    assert "glance-api" in dry.stdout and "added" in dry.stdout  # the diff follows the summary
    assert "nothing written" in dry.stderr
    assert snapshot(repo) == before

    committed = docker_cli.kolla("lock", "ocata", "--exit-code", cwd=repo)
    assert committed.returncode == 1, committed.stderr
    assert "lock ocata: 3 new" in git(repo, "log", "-1", "--format=%s")
    again = docker_cli.kolla("lock", "ocata", "--exit-code", "--dry-run", cwd=repo)
    assert again.returncode == 0 and again.stdout.startswith("lock ocata: no change")
    quiet = docker_cli.kolla("lock", "ocata", "--exit-code", "--quiet", cwd=repo)
    assert quiet.returncode == 0 and quiet.stdout == "lock ocata: no change\n" and quiet.stderr == ""


def test_quiet_night_on_a_branch_pushes_nothing_and_exits_0(seeded, docker_cli):
    repo, fleet, remote = seeded
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    head = git(repo, "rev-parse", "HEAD")
    night = docker_cli.kolla("lock", "ocata", "--branch", "lock/nightly", "--push", "origin", "--exit-code", cwd=repo)
    assert night.returncode == 0, night.stderr
    assert "no change, nothing pushed" in night.stderr
    assert remote_branches(remote) == [] and git(repo, "rev-parse", "HEAD") == head
    assert subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", "lock/nightly"]).returncode == 1

    # a night with a change: JSON names every decision, the commit and the pushed ref
    fleet.rebuild("nova-api", versions={"deb:openssl": "1.1.0f-3+deb9u3"})
    out = docker_cli.kolla(
        "lock", "ocata", "--branch", "lock/nightly", "--push", "origin", "--exit-code", "--format", "json", cwd=repo
    )
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema"] == 1 and doc["channel"] == "ocata" and doc["changed"] is True and doc["dry-run"] is False
    assert doc["summary"] == "lock ocata: 1 updated"
    tip = git(remote, "rev-parse", "lock/nightly").strip()
    assert doc["commit"] == tip == git(repo, "rev-parse", "lock/nightly").strip()
    assert doc["base"] == head.strip()
    assert doc["pushed"] == {"remote": "origin", "branch": "lock/nightly"}
    by_image = {i["name"]: i for i in doc["images"]}
    assert set(by_image) == set(IMAGES)
    nova = by_image["nova-api"]
    assert nova["outcome"] == "bumped" and nova["old"]["tag"] == "ocata-1" and nova["new"]["tag"] == "ocata-2"
    assert nova["new"]["digest"] == fleet.digest_of("nova-api")
    change = {"key": "deb:openssl", "old": "1.1.0f-3+deb9u2", "new": "1.1.0f-3+deb9u3", "downgrade": False}
    assert change in nova["packages"]
    assert by_image["keystone"]["outcome"] == "unchanged" and by_image["keystone"]["packages"] == []
    assert doc["package-changes"][0]["images"] == ["nova-api"]


def test_bad_format_is_one_line_exit_2(seeded, docker_cli):
    repo, _, _ = seeded
    before = snapshot(repo)
    bad = docker_cli.kolla("lock", "ocata", "--format", "yaml", cwd=repo)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--format" in bad.stderr
    assert snapshot(repo) == before


def test_pr_body_marks_a_downgrade_and_a_namespace_move(seeded, docker_cli, fleet_factory, registry):
    repo, fleet, _ = seeded
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    fleet.rebuild("nova-api", versions={"deb:openssl": "1.1.0f-3+deb9u1"})
    mirror = fleet_factory(registry)  # the same builds pushed to another namespace: same digests
    mirror.seed(IMAGES)
    mirror.rebuild("nova-api", versions={"deb:openssl": "1.1.0f-3+deb9u1"})
    out = docker_cli.kolla("lock", "ocata", "--namespace", mirror.namespace, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("lock ocata: 1 updated, 2 moved\n")
    assert "deb:openssl 1.1.0f-3+deb9u2 -> 1.1.0f-3+deb9u1 (downgrade) in 1 image" in out.stdout
    md = docker_cli.kolla("diff", "HEAD~1", "HEAD", "--format", "markdown", cwd=repo).stdout
    lines = md.splitlines()
    assert "2 moved (source only)" in lines[2] and "1 package downgrade" in lines[2]
    where = f"{registry.host}/"
    assert f"| `{where}{fleet.namespace}` | `{where}{mirror.namespace}` | all 3 |" in lines, md
    assert "| `deb:openssl` | 1.1.0f-3+deb9u2 | 1.1.0f-3+deb9u1 ⚠ downgrade | 1: nova-api |" in lines
    assert "| nova-api | changed ⚠ downgrade | ocata-1 → ocata-2 |" in md
    text = docker_cli.kolla("diff", "HEAD~1", "HEAD", cwd=repo).stdout
    assert f"moved {where}{fleet.namespace} -> {where}{mirror.namespace}: all 3 images" in text
    assert docker_cli.kolla("verify", cwd=repo).returncode == 0
