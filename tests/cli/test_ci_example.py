"""Issue 10 item 2: examples/ci/nightly-lock.sh through two nights, a bare remote and a local registry.

The script is what the GitHub Actions workflow and the GitLab CI job call; it runs here
as they run it (sh, the real docker CLI with the plugin), against a real registry.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.cli.lockrepo import git, make_repo

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "ci" / "nightly-lock.sh"
IMAGES = ["nova-api", "nova-compute", "keystone"]


def night(docker_cli, repo: Path, out: Path, day: str) -> subprocess.CompletedProcess:
    env = {"LOCK_DATE": day, "LOCK_RESULT": str(out / f"{day}.env"), "LOCK_BODY": str(out / f"{day}.md")}
    return subprocess.run(
        ["sh", str(SCRIPT), "ocata", "origin"],
        cwd=repo,
        env={**docker_cli.env, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def result(out: Path, day: str) -> dict:
    return dict(line.split("=", 1) for line in (out / f"{day}.env").read_text().splitlines())


def remote_branches(remote: Path) -> list:
    return git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def test_two_nights_then_merge_and_verify(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    git(repo, "push", "-q", "origin", "main")
    out = tmp_path / "ci"
    out.mkdir()
    main_before = git(repo, "rev-parse", "main")

    # night 1: upstream did not change -> exit 0, no branch, no body
    quiet = night(docker_cli, repo, out, "2026-01-01")
    assert quiet.returncode == 0, quiet.stderr
    assert "no change, nothing pushed" in quiet.stderr
    assert result(out, "2026-01-01") == {"LOCK_CHANGED": "false", "LOCK_BRANCH": "", "LOCK_BODY": ""}
    assert not (out / "2026-01-01.md").exists()
    assert remote_branches(remote) == ["main"]

    # night 2: two images rebuilt with a new nova -> a dated branch on the remote and a body
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    fleet.rebuild("nova-compute", versions={"nova": "15.0.3"})
    busy = night(docker_cli, repo, out, "2026-01-02")
    assert busy.returncode == 0, busy.stderr
    branch = "lock/ocata-2026-01-02"
    assert result(out, "2026-01-02") == {
        "LOCK_CHANGED": "true",
        "LOCK_BRANCH": branch,
        "LOCK_BODY": str(out / "2026-01-02.md"),
    }
    assert sorted(remote_branches(remote)) == [branch, "main"]
    assert git(remote, "rev-parse", "main") == main_before  # the default branch is only changed by a merge
    assert git(remote, "rev-parse", f"{branch}~1") == main_before  # one commit on top of main
    assert git(remote, "log", "-1", "--format=%s", branch).strip() == "lock ocata: 2 updated"
    changed = git(remote, "diff", "--name-only", "main", branch).split()
    assert changed == ["lockfiles/ocata.toml"]
    body = (out / "2026-01-02.md").read_text()
    assert "python:nova" in body and "15.0.2" in body and "15.0.3" in body
    assert "nova-api" in body and "nova-compute" in body

    # the reviewer merges the pull request (a merge commit, as a forge does); verify gates it
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge lock branch", branch, env=docker_cli.env)
    ok = docker_cli.kolla("verify", cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_script_usage_and_workflows_call_it(tmp_path):
    bad = subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("usage:")
    github = yaml.safe_load((SCRIPT.parent / "github-actions.yml").read_text())
    steps = " ".join(str(s.get("run", "")) for s in github["jobs"]["lock"]["steps"])
    assert "examples/ci/nightly-lock.sh" in steps and "gh pr create" in steps
    assert "verify" in " ".join(str(s.get("run", "")) for s in github["jobs"]["verify"]["steps"])
    gitlab = yaml.safe_load((SCRIPT.parent / "gitlab-ci.yml").read_text())
    assert any("nightly-lock.sh" in line for line in gitlab["lock"]["script"])
    assert gitlab["verify"]["script"] == ["docker-kolla verify"]
