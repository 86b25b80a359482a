"""Hand-edited and hostile configuration through the real CLI, and fix hints that run.

Each ``git ...`` command a hint names is run, as written, in a scratch copy of the
repository: git must accept it (exit 0).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.cli.lockrepo import git, make_repo, snapshot
from tests.cli.test_lock_errors import one_line_error

IMAGES = ["nova-api", "keystone"]
LOCK = "lockfiles/ocata.toml"


@pytest.fixture
def locked(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    return repo, fleet


def run_git_hints(line: str, repo, tmp_path, env) -> list[str]:
    """Run every backquoted ``git ...`` command of ``line`` in a copy of ``repo``; return them."""
    commands = [c for c in re.findall(r"`([^`]+)`", line) if c.startswith("git ")]
    for i, command in enumerate(commands):
        scratch = tmp_path / f"scratch-{i}"
        shutil.copytree(repo, scratch, symlinks=True)
        proc = subprocess.run(["sh", "-c", command], cwd=scratch, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, (command, proc.stderr)
    return commands


def test_a_malformed_work_tree_lockfile_hint_runs(locked, docker_cli, tmp_path):
    repo, _ = locked
    (repo / LOCK).write_text((repo / LOCK).read_text().replace("revision = 1", "revision = 0", 1))
    line = one_line_error(docker_cli.kolla("diff", cwd=repo), 2, LOCK, "revision must be a whole number")
    assert run_git_hints(line, repo, tmp_path, docker_cli.env) == [f"git checkout HEAD -- {LOCK}"]


def test_a_malformed_lockfile_in_history_hint_runs(locked, docker_cli, fleet, tmp_path):
    repo, _ = locked
    (repo / LOCK).write_text((repo / LOCK).read_text().replace("[lock]", "[lock]\ncolour = 1", 1))
    git(repo, "commit", "-qam", "a bad hand edit", env=docker_cli.env)
    bad = git(repo, "rev-parse", "--short=7", "HEAD").strip()
    git(repo, "revert", "--no-edit", "HEAD", env=docker_cli.env)
    line = one_line_error(docker_cli.kolla("log", "nova-api", cwd=repo), 2, f"{LOCK}@{bad}", "unknown key 'colour'")
    assert run_git_hints(line, repo, tmp_path, docker_cli.env) == [f"git show {bad}:{LOCK}"]


def test_uncommitted_and_untracked_lockfile_hints_run(locked, docker_cli, fleet, tmp_path):
    repo, _ = locked
    (repo / LOCK).write_text((repo / LOCK).read_text() + "# mine\n")
    git(repo, "add", LOCK)  # staged: `git checkout -- FILE` alone would not discard it
    line = one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "uncommitted edits")
    assert len(run_git_hints(line, repo, tmp_path / "dirty", docker_cli.env)) == 2
    fixed = tmp_path / "dirty" / "scratch-1"
    assert git(fixed, "status", "--porcelain") == ""

    fresh = make_repo(tmp_path / "fresh", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", "--no-commit", cwd=fresh).returncode == 0
    line = one_line_error(docker_cli.kolla("lock", "ocata", cwd=fresh), 2, "never committed")
    assert run_git_hints(line, fresh, tmp_path / "untracked", docker_cli.env)


def test_an_unknown_revision_hint_runs(locked, docker_cli, tmp_path):
    repo, _ = locked
    line = one_line_error(docker_cli.kolla("diff", "HEAD~99", cwd=repo), 2, "HEAD~99")
    assert run_git_hints(line, repo, tmp_path, docker_cli.env)


@pytest.mark.parametrize(
    "edit,needle",
    [
        (lambda t: t.replace("[defaults]", "defaults = 1\n[channels.other]"), "defaults must be a table"),
        (lambda t: t.replace("images = [", "images = 3\nold = ["), "'images' must be a list"),
        (lambda t: t.replace("[defaults]", '[defaults]\nmanifesto = ["labels", "contents"]'), "'contents'"),
        (lambda t: t.replace("[defaults]", '[defaults]\nrevision-format = "{tag}/{revision}"'), "'ocata/1'"),
        (lambda t: t.replace("[defaults]", '[defaults]\nbump-on = "always"'), "bump-on = 'always'"),
        (lambda t: t.replace('images = ["', 'images = ["' + "n" * 300 + '", "'), "characters long"),
    ],
)
def test_hand_edited_channels_are_refused_before_any_request(
    tmp_path, docker_cli, registry, proxy_factory, fleet_factory, edit, needle
):
    proxy = proxy_factory(registry)
    fleet = fleet_factory(proxy)
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    path = repo / "lockfiles" / "channels.toml"
    path.write_text(edit(path.read_text()))
    git(repo, "commit", "-qam", "hand edit", env=docker_cli.env)
    before = snapshot(repo)
    proxy.reset_counts()
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 2, "channels.toml", needle)
    assert proxy.count() == 0
    assert snapshot(repo) == before


def test_a_hand_edited_lockfile_is_one_line_not_a_crash(locked, docker_cli):
    repo, _ = locked
    text = (repo / LOCK).read_text()
    (repo / LOCK).write_text(text.split("[images")[0].replace("[lock]", "images = 3\n[lock]"))
    git(repo, "commit", "-qam", "hand edit", env=docker_cli.env)
    for verb in (["lock", "ocata"], ["export", "ocata", "--format", "list"], ["diff", "HEAD~1"]):
        one_line_error(docker_cli.kolla(*verb, cwd=repo), 2, "images must be a table")
    verify = docker_cli.kolla("verify", cwd=repo)  # a check: the finding is reported, exit 1
    assert verify.returncode == 1 and "images must be a table" in verify.stdout
    assert "Traceback" not in verify.stdout + verify.stderr


def test_init_writes_a_hostile_registry_value_escaped_and_refuses_it(docker_cli, tmp_path):
    repo = tmp_path / "new"
    proc = docker_cli.kolla("init", "--registry", '127.0.0.1:1" # ', cwd=tmp_path, env={"DOCKER_KOLLA_REPO": str(repo)})
    one_line_error(proc, 2, "malformed registry")
    assert not (repo / "lockfiles" / "channels.toml").exists()
    ok = docker_cli.kolla(
        "init", "--registry", "registry.example:5000", "--no-commit", cwd=tmp_path, env={"DOCKER_KOLLA_REPO": str(repo)}
    )
    assert ok.returncode == 0, ok.stderr
    assert 'registry = "registry.example:5000"\n' in (repo / "lockfiles" / "channels.toml").read_text()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["cache", "prune", "--older-than", "-5"], "--older-than"),
        (["cache", "prune", "--older-than", "0"], "--older-than"),
        (["inspect", "localhost:1/x:y", "--format", "yaml"], "unknown format 'yaml'"),
        (["lock", "ocata", "--jobs", "0"], "--jobs"),
        (["lock", "ocata", "--timeout", "-1"], "--timeout"),
        (["inspect", "localhost:1/" + "a" * 300, "--format", "json"], "characters long"),
    ],
)
def test_bad_counts_durations_formats_and_names_exit_2(docker_cli, tmp_path, args, needle):
    one_line_error(docker_cli.kolla(*args, cwd=tmp_path), 2, needle)


def test_a_manifest_with_an_unknown_schema_version_is_refused_with_its_digest(tmp_path, docker_cli, fleet):
    """distribution refuses to store such a manifest, so a small local server serves it."""
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    raw = b'{"schemaVersion": 99, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}'
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            found = "/manifests/" in self.path
            body = raw if found else b"{}"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Docker-Content-Digest", digest)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        fleet.host = f"127.0.0.1:{server.server_address[1]}"
        repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"])
        before = snapshot(repo)
        line = one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 3, "schemaVersion 99", digest)
        assert "manifest sha256:" in line
        assert snapshot(repo) == before
    finally:
        server.shutdown()
        server.server_close()
