"""Every error a user can cause: one line naming the problem and the fix, the right exit code,
no traceback, and the lock repository left exactly as it was."""

from __future__ import annotations

import base64
import json

import pytest

from tests.cli.lockrepo import channels_toml, git, make_repo, snapshot

IMAGES = ["nova-api", "keystone"]


def one_line_error(proc, code: int, *needles: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def locked(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    return repo, fleet


def test_bad_input_exits_2_and_changes_nothing(locked, docker_cli, tmp_path):
    repo, fleet = locked
    before = snapshot(repo)
    one_line_error(docker_cli.kolla("lock", "pike", cwd=repo), 2, "unknown channel 'pike'", "channels.toml")
    one_line_error(docker_cli.kolla("diff", "HEAD~99", cwd=repo), 2, "unknown revision 'HEAD~99'", "git log")
    one_line_error(docker_cli.kolla("inspect", "Not A/Ref", cwd=repo), 2, "malformed", "write it as")
    one_line_error(docker_cli.kolla("lock", "ocata", "--image", "swift-proxy", cwd=repo), 2, "swift-proxy")
    elsewhere = tmp_path / "not-a-repo"
    elsewhere.mkdir()
    one_line_error(docker_cli.kolla("diff", cwd=elsewhere), 2, "not a git repository", "docker kolla init")
    assert snapshot(repo) == before


def test_tag_not_found_exits_2(locked, docker_cli):
    repo, fleet = locked
    (repo / "lockfiles" / "channels.toml").write_text(channels_toml(fleet, IMAGES + ["swift-proxy-server"]))
    git(repo, "commit", "-qam", "add swift", env=docker_cli.env)
    before = snapshot(repo)
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "swift-proxy-server:ocata not found")
    assert snapshot(repo) == before


def test_malformed_channels_and_lockfile_name_line_and_column(locked, docker_cli):
    repo, _ = locked
    channels = repo / "lockfiles" / "channels.toml"
    good = channels.read_text()
    channels.write_text(good.replace("[channels.ocata]", "[channels.ocata"))
    before = snapshot(repo)
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "channels.toml", "line ", "column ")
    assert snapshot(repo) == before
    channels.write_text(good)
    lock = repo / "lockfiles" / "ocata.toml"
    lock.write_text("<<<<<<< HEAD\n" + lock.read_text())
    git(repo, "commit", "-qam", "bad merge", env=docker_cli.env)
    before = snapshot(repo)
    one_line_error(docker_cli.kolla("diff", "HEAD~1", cwd=repo), 2, "ocata.toml", "line 1, column 1")
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "ocata.toml", "line 1, column 1")
    assert snapshot(repo) == before


def test_uncommitted_edits_to_the_lockfile_are_refused(locked, docker_cli):
    repo, fleet = locked
    lock = repo / "lockfiles" / "ocata.toml"
    lock.write_text(lock.read_text() + "# my notes\n")
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    before = snapshot(repo)
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "uncommitted edits", "git checkout")
    assert snapshot(repo) == before


def test_unreachable_registry_exits_3(tmp_path, docker_cli, fleet):
    fleet.seed(["nova-api"])
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"])
    from tests.support import free_port

    channels = repo / "lockfiles" / "channels.toml"
    channels.write_text(channels.read_text().replace(fleet.host, f"127.0.0.1:{free_port()}"))
    git(repo, "commit", "-qam", "dead registry", env=docker_cli.env)
    before = snapshot(repo)
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 3, "127.0.0.1")
    assert snapshot(repo) == before


def test_wrong_credentials_exit_3_and_never_print_the_secret(tmp_path, docker_cli, htpasswd_registry, fleet_factory):
    fleet = fleet_factory(htpasswd_registry)
    fleet.seed(["nova-api"])
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"])
    secret = "wrong-Pa55word"
    auth = base64.b64encode(f"kolla:{secret}".encode()).decode()
    (docker_cli.config_dir / "config.json").write_text(json.dumps({"auths": {fleet.host: {"auth": auth}}}))
    before = snapshot(repo)
    proc = docker_cli.kolla("lock", "ocata", cwd=repo)
    one_line_error(proc, 3, fleet.host, "docker login")
    assert secret not in proc.stderr + proc.stdout and auth not in proc.stderr + proc.stdout
    assert snapshot(repo) == before
    good = base64.b64encode(b"kolla:s3cret").decode()
    (docker_cli.config_dir / "config.json").write_text(json.dumps({"auths": {fleet.host: {"auth": good}}}))
    ok = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert ok.returncode == 0, ok.stderr
    assert good not in (repo / "lockfiles" / "ocata.toml").read_text()


@pytest.mark.parametrize("kind", ["manifest", "blob"])
def test_bytes_not_matching_their_digest_fail_the_lock(tmp_path, docker_cli, fleet, proxy_factory, kind):
    fleet.seed(["nova-api"])
    proxy = proxy_factory(fleet.host)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"])
    channels = repo / "lockfiles" / "channels.toml"
    channels.write_text(channels.read_text().replace(fleet.host, proxy.host))
    git(repo, "commit", "-qam", "via proxy", env=docker_cli.env)
    proxy.set_fault("corrupt", kind=kind, method="GET")
    before = snapshot(repo)
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 3, "digest")
    assert snapshot(repo) == before


def test_usage_errors_are_one_line_too(docker_cli, tmp_path):
    one_line_error(docker_cli.kolla("lock", "--jobs", "0", "ocata", cwd=tmp_path), 2, "--jobs", "--help")
    one_line_error(docker_cli.kolla("lock", cwd=tmp_path), 2, "missing argument CHANNEL", "docker kolla lock --help")
    one_line_error(docker_cli.kolla("frobnicate", cwd=tmp_path), 2, "unknown command 'frobnicate'")
    one_line_error(docker_cli.kolla("diff", "--format", "yaml", cwd=tmp_path), 2, "unknown format")


def test_bad_templates_and_lockfile_tables_exit_2(locked, docker_cli):
    repo, fleet = locked
    channels = repo / "lockfiles" / "channels.toml"
    good = channels.read_text()
    channels.write_text(good.replace("[defaults]", '[defaults]\nname-template = "{distro}-{kind}-{image}"'))
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "name-template", "{image}")
    channels.write_text(good.replace("[defaults]", '[defaults]\nrevision-format = "{tag}-r"'))
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "revision-format", "{revision}")
    channels.write_text(good)
    lock = repo / "lockfiles" / "ocata.toml"
    text = lock.read_text()
    lock.write_text(text.replace("revision = 1", "revision = true", 1))
    one_line_error(docker_cli.kolla("diff", cwd=repo), 2, "revision must be a whole number")
    lock.write_text(text)
    one_line_error(docker_cli.kolla("diff", "--channel", "pike", cwd=repo), 2, "'pike' has no lockfile")


def test_unwritable_cache_does_not_fail_the_lock(locked, docker_cli):
    repo, fleet = locked
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    out = docker_cli.kolla("lock", "ocata", cwd=repo, env={"DOCKER_KOLLA_CACHE": "/proc/no-cache-here"})
    assert out.returncode == 0, out.stderr
