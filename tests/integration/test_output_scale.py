"""Output that scales to a fleet: status fits 100 columns, templates as docker's --format,
pull and promote print what changed plus a summary unless --verbose."""

from __future__ import annotations

import pytest

from tests.integration.test_pull import IMAGES, docker, plugin_env
from tests.integration.test_status import running  # noqa: F401  (fixture)

pytestmark = pytest.mark.engine


def test_status_fits_100_columns_and_labels_only_on_request(running):  # noqa: F811
    repo, pins, env, ctx, names = running
    wide = {**env, "COLUMNS": "100"}
    out = docker(wide, "--context", ctx, "kolla", "--repo", str(repo), "status", "ocata")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["ENGINE", "CONTAINER", "LOCK", "ENTRY", "STATUS", "IMAGE"]
    assert max(len(line) for line in lines) <= 100, out.stdout
    assert "role=" not in out.stdout  # labels are opt-in
    nova = next(line for line in lines if " nova-api " in line)  # long container names may be cut
    assert "behind 1 (ocata-1 -> ocata-2)" in nova and "nova-api:ocata-1" in nova
    labelled = docker(wide, "--context", ctx, "kolla", "--repo", str(repo), "status", "ocata", "--labels")
    assert "LABELS" in labelled.stdout and "role=nova" in labelled.stdout
    full = docker(wide, "--context", ctx, "kolla", "--repo", str(repo), "status", "ocata", "--no-trunc")
    assert str(pins["nova-api"][0].digest) in full.stdout or "…" not in full.stdout


def test_status_go_template_and_quiet(running):  # noqa: F811
    repo, pins, env, ctx, names = running
    base = ("--context", ctx, "kolla", "--repo", str(repo), "status", "ocata")
    out = docker(env, *base, "--format", "{{.Container}} {{.Name}} {{.Tag}} {{.State}}")
    assert out.returncode == 0, out.stderr
    assert f"{names['nova']} nova-api ocata-2 behind" in out.stdout.splitlines()
    assert f"{names['keystone']} keystone ocata-1 in-sync" in out.stdout.splitlines()
    table = docker(env, *base, "--format", "table {{.Container}}\\t{{.RunningTag}}")
    assert table.stdout.splitlines()[0].split() == ["CONTAINER", "RUNNINGTAG"]
    bad = docker(env, *base, "--format", "{{range .}}")
    assert bad.returncode == 2 and "unsupported template action {{range .}}" in bad.stderr and ".Tag" in bad.stderr
    quiet = docker(env, *base, "-q")
    assert set(names.values()) <= set(quiet.stdout.split())


def test_pull_prints_changes_and_a_summary_unless_verbose(tmp_path, registry, fleet_factory, dockerd):
    from tests.integration.test_pull import new_lock_repo, two_revisions

    fleet = fleet_factory(registry)
    repo = new_lock_repo(tmp_path / "locks")
    two_revisions(repo, fleet, registry.host)
    env = plugin_env(tmp_path / "docker-config")
    first = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "--lock", "HEAD~1")
    assert first.returncode == 0, first.stderr
    second = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull")
    assert second.returncode == 0, second.stderr
    rows = [line for line in second.stdout.splitlines()[1:-1]]
    assert [r.split()[0] for r in rows] == ["nova-api"], second.stdout  # only what changed
    assert f"{len(IMAGES) - 1} already present" in second.stdout.splitlines()[-1]
    verbose = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "--verbose")
    assert {line.split()[0] for line in verbose.stdout.splitlines()[1:-1]} == set(IMAGES)
    quiet = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "-q")
    assert quiet.returncode == 0 and quiet.stdout == ""
    nothing = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull")
    assert nothing.stdout.splitlines()[0].startswith("ocata at HEAD")  # summary only: nothing changed
