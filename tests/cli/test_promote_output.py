"""promote prints what changed plus a summary; --verbose lists every image; -q nothing."""

from __future__ import annotations

from tests.cli.lockrepo import make_repo

IMAGES = ["nova-api", "keystone"]


def test_promote_lists_changes_only_unless_verbose(tmp_path, docker_cli, fleet, registry):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    to = f"{registry.host}/{fleet.namespace}-prod"
    first = docker_cli.kolla("promote", "ocata", "--to", to, cwd=repo)
    assert first.returncode == 0, first.stderr
    assert {line.split()[0] for line in first.stdout.splitlines()[1:-1]} == set(IMAGES)
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    plan = docker_cli.kolla("promote", "ocata", "--to", to, "--dry-run", cwd=repo)
    assert plan.returncode == 1
    assert [line.split()[0] for line in plan.stdout.splitlines()[1:-1]] == ["nova-api"], plan.stdout
    assert "1 to copy, 0 to re-tag, 1 already present" in plan.stdout.splitlines()[-1]
    second = docker_cli.kolla("promote", "ocata", "--to", to, cwd=repo)
    assert second.returncode == 0, second.stderr
    assert [line.split()[0] for line in second.stdout.splitlines()[1:-1]] == ["nova-api"], second.stdout
    assert "1 copied" in second.stdout.splitlines()[-1] and "1 already present" in second.stdout.splitlines()[-1]
    again = docker_cli.kolla("promote", "ocata", "--to", to, "--verbose", cwd=repo)
    assert {line.split()[0] for line in again.stdout.splitlines()[1:-1]} == set(IMAGES)
    quiet = docker_cli.kolla("promote", "ocata", "--to", to, "-q", cwd=repo)
    assert quiet.returncode == 0 and quiet.stdout == ""
