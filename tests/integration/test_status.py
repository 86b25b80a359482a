"""``docker --context X kolla status``: running containers compared with the lock history."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_pull import assert_one_line_error, docker, new_lock_repo, plugin_env, two_revisions

pytestmark = pytest.mark.engine


@pytest.fixture
def running(tmp_path, registry, fleet_factory, dockerd):
    """Three locked images at two revisions, pulled; containers from both revisions running."""
    fleet = fleet_factory(registry, runnable=True)
    repo = new_lock_repo(tmp_path / "locks")
    pins = two_revisions(repo, fleet, registry.host)
    env = plugin_env(tmp_path / "docker-config")
    pulled = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "--lock", "HEAD~1")
    assert pulled.returncode == 0, pulled.stderr
    pulled = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull")
    assert pulled.returncode == 0, pulled.stderr
    ctx = tmp_path.name[-20:].replace("_", "-").strip("-") or "engine"
    made = docker(env, "context", "create", ctx, "--docker", f"host={dockerd.host}")
    assert made.returncode == 0, made.stderr
    names = {}
    old_nova, _ = pins["nova-api"]
    keystone, _ = pins["keystone"]
    # nova-api runs revision 1 while the lock says 2; keystone runs its only revision.
    for label, ref in (("nova", f"{old_nova.repository}:ocata-1"), ("keystone", f"{keystone.repository}:ocata-1")):
        name = f"{ctx}-{label}"
        run = dockerd.docker(
            "run", "-d", "--network", "none", "--name", name, "--label", f"role={label}", ref, "sleep", "120"
        )
        assert run.returncode == 0, run.stderr
        names[label] = name
    yield repo, pins, env, ctx, names
    dockerd.docker("rm", "-f", *names.values(), check=False)


def rows_by_name(stdout: str, names: dict) -> dict:
    doc = json.loads(stdout)
    wanted = set(names.values())
    return {r["container"]: r for r in doc["containers"] if r["container"] in wanted}


def test_status_behind_and_in_sync_through_a_context(running):
    repo, pins, env, ctx, names = running
    result = docker(env, "--context", ctx, "kolla", "--repo", str(repo), "status", "ocata", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = rows_by_name(result.stdout, names)
    nova, keystone = rows[names["nova"]], rows[names["keystone"]]
    assert nova["state"] == "behind" and nova["behind"] == 1
    assert nova["locked"]["name"] == "nova-api" and nova["running-tag"] == "ocata-1"
    assert nova["locked"]["tag"] == "ocata-2"
    assert str(pins["nova-api"][0].digest) in nova["digests"]
    assert keystone["state"] == "in-sync" and keystone["behind"] == 0
    # Labels: the image's (kolla_version) merged with the run-time ones.
    assert keystone["labels"]["role"] == "keystone" and "kolla_version" in keystone["labels"]


def test_status_at_the_older_lock_is_in_sync(running):
    repo, pins, env, ctx, names = running
    result = docker(
        env, "--context", ctx, "kolla", "--repo", str(repo), "status", "--lock", "HEAD~1", "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    rows = rows_by_name(result.stdout, names)
    assert {r["state"] for r in rows.values()} == {"in-sync"}


def test_status_exit_code_and_text(running):
    repo, pins, env, ctx, names = running
    text = docker(env, "--context", ctx, "kolla", "--repo", str(repo), "status", "--exit-code", "--no-trunc")
    assert text.returncode == 1, (text.stdout, text.stderr)
    assert "behind 1 (ocata-1 -> ocata-2)" in text.stdout and names["nova"] in text.stdout
    assert "Traceback" not in text.stderr


def test_status_several_contexts_and_unknown_context(running, dockerd):
    repo, pins, env, ctx, names = running
    result = docker(
        env,
        "-H",
        dockerd.host,
        "kolla",
        "--repo",
        str(repo),
        "status",
        "--context",
        ctx,
        "--context",
        ctx,
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    seen = [r for r in doc["containers"] if r["container"] == names["nova"]]
    assert [r["engine"] for r in seen] == [ctx, ctx]
    unknown = docker(env, "kolla", "--repo", str(repo), "status", "--context", "does-not-exist")
    assert_one_line_error(unknown, 2)
