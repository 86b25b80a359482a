"""Issue 10 item 4: CHANNEL~N addressing, the plain-revision warning, and `log --channel`."""

from __future__ import annotations

import json

import pytest

from tests.cli.lockrepo import git, make_repo, snapshot

IMAGES = ["nova-api", "keystone"]


@pytest.fixture
def three_locks(tmp_path, docker_cli, fleet):
    """ocata~2: first lock; ocata~1: nova 15.0.3; ocata~0: nova 15.0.4; then an unrelated commit."""
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    digests = []
    for version in (None, "15.0.3", "15.0.4"):
        if version:
            fleet.rebuild("nova-api", versions={"nova": version})
        assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
        digests.append(fleet.pushed["nova-api"].digest)
    (repo / "NOTES.md").write_text("deploy notes\n")
    git(repo, "add", "NOTES.md", env=docker_cli.env)
    git(repo, "commit", "-qm", "unrelated", env=docker_cli.env)
    return repo, digests


def pins(out: str) -> dict:
    return {i["name"]: i["digest"] for i in json.loads(out)["images"]}


def test_channel_tilde_skips_commits_that_did_not_change_the_channel(three_locks, docker_cli):
    repo, digests = three_locks
    # HEAD~1 is the unrelated commit's parent: the same lock as HEAD, and we say so
    same = docker_cli.kolla("export", "ocata", "--format", "json", "--lock", "HEAD~1", cwd=repo)
    assert same.returncode == 0, same.stderr
    assert pins(same.stdout)["nova-api"] == digests[2]
    assert "warning: lockfiles/ocata.toml at HEAD~1 is the same as at HEAD" in same.stderr
    assert "use `ocata~1`" in same.stderr

    for n in (0, 1, 2):
        out = docker_cli.kolla("export", "--format", "json", "--lock", f"ocata~{n}", cwd=repo)
        assert out.returncode == 0, out.stderr
        assert pins(out.stdout)["nova-api"] == digests[2 - n]
        assert "warning" not in out.stderr
    back = docker_cli.kolla("export", "--format", "json", "--lock", "HEAD~2", cwd=repo)  # a real change: no warning
    assert pins(back.stdout)["nova-api"] == digests[1] and "warning" not in back.stderr

    diff = docker_cli.kolla("diff", "ocata~1", "--format", "json", cwd=repo)
    assert diff.returncode == 0, diff.stderr
    [channel] = json.loads(diff.stdout)["channels"]
    assert [(i["name"], i["old"]["tag"], i["new"]["tag"]) for i in channel["images"]] == [
        ("nova-api", "ocata-2", "ocata-3")
    ]
    old = docker_cli.kolla("diff", "ocata~2..ocata~1", cwd=repo)
    assert "python:nova 15.0.2 -> 15.0.3 in 1 image" in old.stdout
    unchanged = docker_cli.kolla("diff", "HEAD~1", "--channel", "ocata", "--exit-code", cwd=repo)
    assert unchanged.returncode == 0  # plain git: the unrelated commit changed no lock
    assert "warning: lockfiles/ocata.toml at HEAD~1 is the same as at HEAD" in unchanged.stderr
    assert "use `ocata~1`" in unchanged.stderr


def test_log_channel_view(three_locks, docker_cli):
    repo, _ = three_locks
    text = docker_cli.kolla("log", "--channel", "ocata", cwd=repo)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split()[:2] == ["LOCK", "COMMIT"]
    assert [line.split()[0] for line in lines[1:]] == ["ocata~0", "ocata~1", "ocata~2"]
    shas = git(repo, "log", "--format=%h", "--", "lockfiles/ocata.toml").split()
    assert [line.split()[1] for line in lines[1:]] == shas
    assert "1 updated" in lines[1] and "2 added" in lines[3]
    doc = json.loads(docker_cli.kolla("log", "--channel", "ocata", "--format", "json", cwd=repo).stdout)
    assert doc["schema"] == 1 and doc["channel"] == "ocata" and doc["lock"]["rev"] == "HEAD"
    assert all(c["time"].endswith("Z") for c in doc["locks"])
    assert [(c["address"], c["counts"]["updated"], c["counts"]["added"]) for c in doc["locks"]] == [
        ("ocata~0", 1, 0),
        ("ocata~1", 1, 0),
        ("ocata~2", 0, 2),
    ]


def test_bad_channel_revisions_are_one_line_exit_2(three_locks, docker_cli):
    repo, _ = three_locks
    before = snapshot(repo)
    for args, needle in [
        (["export", "--format", "json", "--lock", "pike~1"], "'pike~1' is neither a channel"),
        (["export", "--format", "json", "--lock", "ocata~99"], "channel 'ocata' has 3 lock version(s)"),
        (["diff", "ocata~3"], "ocata~2 is the oldest"),
        (["log", "--channel", "ocata", "--lock", "ocata~7"], "has 3 lock version(s)"),
    ]:
        bad = docker_cli.kolla(*args, cwd=repo)
        assert bad.returncode == 2, bad.stdout + bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and needle in bad.stderr and "Traceback" not in bad.stderr
    assert snapshot(repo) == before
