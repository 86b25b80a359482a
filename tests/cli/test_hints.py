"""Each hint names the fix that works for the case at hand (issue: hints that named the wrong fix)."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli.lockrepo import git, make_repo, snapshot
from tests.cli.test_lock_errors import one_line_error
from tests.support import free_port

IMAGES = ["nova-api", "keystone"]


@pytest.fixture
def two_channels(tmp_path, docker_cli, fleet):
    """Channels ocata and pike (same upstream tag), both locked."""
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    channels = repo / "lockfiles" / "channels.toml"
    channels.write_text(channels.read_text() + f'\n[channels.pike]\ntag = "{fleet.tag}"\n')
    git(repo, "commit", "-qam", "pike", env=docker_cli.env)
    for name in ("ocata", "pike"):
        assert docker_cli.kolla("lock", name, cwd=repo).returncode == 0
    return repo


def test_several_channels_each_verb_names_its_own_fix(two_channels, docker_cli):
    repo = two_channels
    line = one_line_error(docker_cli.kolla("log", "nova-api", cwd=repo), 2, "more than one channel")
    assert "`docker kolla log nova-api --channel ocata`" in line, line
    line = one_line_error(docker_cli.kolla("status", cwd=repo), 2, "more than one channel")
    assert "`docker kolla status ocata`" in line, line
    line = one_line_error(docker_cli.kolla("export", cwd=repo), 2, "more than one channel")
    assert "`docker kolla export ocata`" in line, line
    # the suggested commands work
    assert docker_cli.kolla("log", "nova-api", "--channel", "ocata", cwd=repo).returncode == 0
    # (--no-check: nothing was promoted, so the ocata-N tag-revisions exist nowhere yet)
    assert docker_cli.kolla("export", "ocata", "--no-check", cwd=repo).returncode == 0


def test_a_misspelt_channel_is_an_unknown_channel(two_channels, docker_cli):
    repo = two_channels
    before = snapshot(repo)
    for args in (("log", "nova-api", "--channel", "ocatta"), ("verify", "ocatta"), ("pull", "ocatta")):
        line = one_line_error(docker_cli.kolla(*args, cwd=repo), 2, "unknown channel 'ocatta'")
        assert "(configured: ocata, pike)" in line, line
        assert "never locked" not in line and "docker kolla lock ocatta" not in line, line
    assert snapshot(repo) == before


def test_refused_plain_http_loopback_does_not_suggest_insecure_registry(tmp_path, docker_cli, fleet):
    fleet.seed(["nova-api"])
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"])
    dead = f"127.0.0.1:{free_port()}"
    channels = repo / "lockfiles" / "channels.toml"
    channels.write_text(channels.read_text().replace(fleet.host, dead))
    git(repo, "commit", "-qam", "dead registry", env=docker_cli.env)
    line = one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 3, dead, "is running")
    assert "--insecure-registry" not in line, line
    # a TLS address still mentions it: the registry may speak plain HTTP
    line = one_line_error(docker_cli.kolla("inspect", f"{dead.replace('127.0.0.1', 'dead.invalid')}/x/y:z"), 3)
    assert "--insecure-registry" in line, line


def test_after_lock_no_commit_of_a_new_channel_the_fix_works(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", "--no-commit", cwd=repo).returncode == 0
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    line = one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "never committed")
    assert (
        "`git add lockfiles/ocata.toml && git commit -m 'lock ocata'`" in line and "`rm lockfiles/ocata.toml`" in line
    ), line
    assert "git checkout" not in line  # it fails on an untracked file
    (repo / "lockfiles" / "ocata.toml").unlink()  # the second fix
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0


def test_inspect_a_lock_image_name_reads_the_pinned_digest(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    pinned = next(
        line.split('"')[1]
        for line in (repo / "lockfiles" / "ocata.toml").read_text().split("[images.nova-api]")[1].splitlines()
        if line.startswith("digest = ")
    )
    proc = docker_cli.kolla("inspect", "nova-api", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert f"{fleet.host}/{fleet.namespace}/" in proc.stdout and pinned in proc.stdout
    assert "docker.io" not in proc.stdout
    line = one_line_error(docker_cli.kolla("inspect", "glance-api", cwd=repo), 2, "not in the lock")
    assert "library/glance-api:latest" in line


def test_framework_argument_errors_speak_the_tools_style(docker_cli, tmp_path):
    line = one_line_error(docker_cli.kolla("lock", "ocata", "--jobs", "0", cwd=tmp_path), 2)
    assert line == (
        "docker kolla: error: invalid value for --jobs: must be a whole number from 1 to 64: "
        "see `docker kolla lock --help`"
    )
    line = one_line_error(docker_cli.kolla("pull", "--jobs", "many", cwd=tmp_path), 2, "--jobs")
    assert "Input should" not in line and "whole number" in line
    line = one_line_error(docker_cli.kolla("promote", "ocata", cwd=tmp_path), 2)
    assert line.startswith("docker kolla: error: missing flag --to"), line
    line = one_line_error(docker_cli.kolla("lock", "--imag", "x", "ocata", cwd=tmp_path), 2)
    assert "unknown flag: --imag (did you mean --image?)" in line


def test_init_without_a_git_identity_refuses_like_git(docker_cli, tmp_path):
    repo = tmp_path / "new"
    no_identity = {k: "" for k in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")}
    line = one_line_error(
        docker_cli.kolla("init", cwd=tmp_path, env={**no_identity, "DOCKER_KOLLA_REPO": str(repo)}), 2
    )
    assert "no git identity" in line and 'git config --global user.email "you@example.com"' in line, line
    assert not (repo / "lockfiles" / "channels.toml").exists()
    # the fix works
    subprocess.run(
        ["git", "config", "--global", "user.email", "you@example.com"],
        env={**docker_cli.env, **no_identity},
        check=True,
    )
    subprocess.run(["git", "config", "--global", "user.name", "You"], env={**docker_cli.env, **no_identity}, check=True)
    proc = docker_cli.kolla("init", cwd=tmp_path, env={**no_identity, "DOCKER_KOLLA_REPO": str(repo)})
    assert proc.returncode == 0, proc.stderr
    assert git(repo, "log", "-1", "--format=%an <%ae>") == "You <you@example.com>\n"
