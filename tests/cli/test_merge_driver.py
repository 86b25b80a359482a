"""Issue 10 items 7 and 8: the merge driver under the real `git merge`, and verify catching a
textual merge that ignored it. git (the CLI) does the merging; docker kolla only the driver."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import tomli

from tests.cli.lockrepo import git, make_repo, snapshot

IMAGES = ["nova-api", "keystone"]


def lock_at(repo, rev: str) -> dict:
    return tomli.loads(git(repo, "show", f"{rev}:lockfiles/ocata.toml"))["images"]


def kolla_ok(docker_cli, repo, *args):
    out = docker_cli.kolla(*args, cwd=repo)
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out


@pytest.fixture
def base_repo(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    kolla_ok(docker_cli, repo, "lock", "ocata")
    return repo, fleet


def run_git(docker_cli, repo, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], env=docker_cli.env, capture_output=True, text=True)


def test_clean_merge_recomputes_revisions_and_a_textual_merge_is_caught(base_repo, docker_cli, tmp_path):
    repo, fleet = base_repo
    # the lock branch: two nightly commits for nova-api (drafts: ocata-2, then ocata-3 on the branch)
    for version in ("15.0.3", "15.0.4"):
        fleet.rebuild("nova-api", versions={"nova": version})
        kolla_ok(docker_cli, repo, "lock", "ocata", "--image", "nova-api", "--branch", "lock/nova")
    nova_digest = fleet.pushed["nova-api"].digest
    assert lock_at(repo, "lock/nova")["nova-api"]["tag"] == "ocata-3"
    # meanwhile main re-locks keystone
    fleet.rebuild("keystone", versions={"keystone": "11.0.9"})
    kolla_ok(docker_cli, repo, "lock", "ocata", "--image", "keystone")
    plain = tmp_path / "plain"  # a clone without the driver: what a forge's merge button does
    subprocess.run(["git", "clone", "-q", str(repo), str(plain)], check=True, env=docker_cli.env)
    git(plain, "branch", "-q", "lock/nova", "origin/lock/nova")

    installed = kolla_ok(docker_cli, repo, "merge-driver", "install")
    assert ".gitattributes: lockfiles/*.toml merge=docker-kolla" in installed.stdout
    assert (repo / ".gitattributes").read_text() == "lockfiles/*.toml merge=docker-kolla\n"
    assert git(repo, "config", "merge.docker-kolla.driver").strip() == "docker kolla merge-driver %O %A %B %P"
    assert git(repo, "check-attr", "merge", "lockfiles/ocata.toml").strip().endswith("merge: docker-kolla")
    again = kolla_ok(docker_cli, repo, "merge-driver", "install")
    assert again.stdout == "" and (repo / ".gitattributes").read_text().count("merge=docker-kolla") == 1

    merged = run_git(docker_cli, repo, "merge", "--no-ff", "-m", "Merge lock/nova", "lock/nova")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "nova-api: taken from theirs" in merged.stderr  # the driver ran
    after = lock_at(repo, "HEAD")
    assert (after["nova-api"]["tag"], after["nova-api"]["revision"], after["nova-api"]["digest"]) == (
        "ocata-2",
        2,
        nova_digest,
    )
    assert after["keystone"]["tag"] == "ocata-2"
    assert git(repo, "status", "--porcelain").strip() == "?? .gitattributes"
    ok = docker_cli.kolla("verify", cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # the same merge done textually: clean for git, wrong for the revision rule
    textual = run_git(docker_cli, plain, "merge", "--no-ff", "-m", "Merge lock/nova", "lock/nova")
    assert textual.returncode == 0, textual.stderr
    assert lock_at(plain, "HEAD")["nova-api"]["tag"] == "ocata-3"
    bad = docker_cli.kolla("verify", cwd=plain)
    assert bad.returncode == 1
    assert "nova-api: revision 3 at" in bad.stdout and "expected 2" in bad.stdout
    assert "kept a branch's revisions for nova-api" in bad.stdout
    assert "docker kolla lock ocata --image nova-api" in bad.stdout and "merge-driver install" in bad.stdout


def test_conflicting_merge_is_reported_per_image_and_lock_refuses_the_file(base_repo, docker_cli):
    repo, fleet = base_repo
    kolla_ok(docker_cli, repo, "merge-driver", "install")
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    kolla_ok(docker_cli, repo, "lock", "ocata", "--branch", "lock/a")
    theirs = fleet.pushed["nova-api"].digest
    fleet.rebuild("nova-api", versions={"nova": "15.0.5"})
    kolla_ok(docker_cli, repo, "lock", "ocata")
    ours = fleet.pushed["nova-api"].digest
    merged = run_git(docker_cli, repo, "merge", "--no-ff", "-m", "Merge lock/a", "lock/a")
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert "nova-api: changed on both sides (ours ocata-2" in merged.stderr
    assert "CONFLICT" in merged.stdout
    text = (repo / "lockfiles" / "ocata.toml").read_text()
    assert text.count("<<<<<<< ours: nova-api") == 1 and ours.split(":")[1] in text and theirs.split(":")[1] in text
    assert "[images.keystone]" in text  # the unconflicted image is merged normally
    before = snapshot(repo)
    refused = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "lockfiles/ocata.toml has unresolved merge conflict markers at line" in lines[0]
    assert "(images: nova-api)" in lines[0]
    assert "git checkout --ours" in lines[0]
    diffed = docker_cli.kolla("diff", cwd=repo)  # the work tree's file: refused, naming the image
    assert diffed.returncode == 2 and len(diffed.stderr.strip().splitlines()) == 1
    assert "merge conflict markers at line" in diffed.stderr and "(images: nova-api)" in diffed.stderr
    assert snapshot(repo) == before
    # resolve as the hint says: keep ours, commit, re-resolve the image
    git(repo, "checkout", "--ours", "lockfiles/ocata.toml")
    git(repo, "add", "lockfiles/ocata.toml")
    git(repo, "commit", "-q", "--no-edit", env=docker_cli.env)
    kolla_ok(docker_cli, repo, "lock", "ocata", "--image", "nova-api")
    assert docker_cli.kolla("verify", cwd=repo).returncode == 0


def test_merge_driver_bad_arguments(base_repo, docker_cli, tmp_path):
    repo, _ = base_repo
    before = snapshot(repo)
    for args, needle in [
        (["merge-driver", "a", "b"], "takes 3 or 4 arguments"),
        (["merge-driver", str(tmp_path / "no"), str(tmp_path / "no"), str(tmp_path / "no"), "x"], "is not a file"),
    ]:
        bad = docker_cli.kolla(*args, cwd=repo)
        assert bad.returncode == 2 and needle in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert snapshot(repo) == before
    assert shutil.which("git")
