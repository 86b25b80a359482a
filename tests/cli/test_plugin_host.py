"""docker-kolla as a real Docker CLI plugin: discovery, help, global flags, standalone, install.sh, init."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import tomli

from tests.support.paths import VENV

ROOT = Path(__file__).resolve().parents[2]


def test_docker_help_lists_kolla_and_plugin_help_works(docker_cli):
    top = docker_cli.run("--help")
    assert top.returncode == 0 and "kolla*" in top.stdout and "Lock Kolla image channels" in top.stdout
    helped = docker_cli.kolla("--help")
    assert helped.returncode == 0 and "lock" in helped.stdout and "verify" in helped.stdout
    assert docker_cli.run("help", "kolla").returncode == 0


def test_global_flags_before_the_plugin_name(docker_cli, tmp_path):
    other = tmp_path / "other-config"
    (other / "cli-plugins").mkdir(parents=True)
    (other / "cli-plugins" / "docker-kolla").symlink_to(docker_cli.config_dir / "cli-plugins" / "docker-kolla")
    repo = tmp_path / "r"
    repo.mkdir()
    out = docker_cli.run("--config", str(other), "-D", "kolla", "init", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert (repo / ".git").is_dir() and (repo / "lockfiles" / "channels.toml").exists()


def test_context_with_host_is_refused_by_the_plugin_itself(docker_cli, tmp_path):
    """docker rejects ``--context X -H Y`` before it runs a plugin, so exec the plugin as docker would.

    The plugin gets docker's full argv and the plugin environment; it must refuse the
    pair itself (one line naming both flags, exit 125 like docker), not pick one.
    """
    exe = docker_cli.config_dir / "cli-plugins" / "docker-kolla"
    env = {**docker_cli.env, "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND": "docker"}
    args = ["--context", "x", "-H", "unix:///nope.sock", "kolla", "status"]
    bad = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 125, bad.stderr
    assert bad.stderr.startswith("docker kolla: ") and bad.stderr.count("\n") == 1
    assert "--host" in bad.stderr and "--context" in bad.stderr and "Traceback" not in bad.stderr
    via_docker = docker_cli.run(*args)  # docker's own rule: the plugin never ran
    assert via_docker.returncode != 0 and "docker kolla:" not in via_docker.stderr


def test_standalone_binary_and_module(tmp_path, docker_cli):
    exe = Path(docker_cli.config_dir / "cli-plugins" / "docker-kolla").resolve()
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env=docker_cli.env)
    assert proc.returncode == 0 and "lock" in proc.stdout
    meta = subprocess.run([str(exe), "docker-cli-plugin-metadata"], capture_output=True, text=True)
    assert '"SchemaVersion": "0.1.0"' in meta.stdout


def test_init_preset_ocata_in_an_empty_directory(docker_cli, tmp_path):
    repo = tmp_path / "fresh"
    repo.mkdir()
    out = docker_cli.kolla("init", "--preset", "ocata", cwd=repo)
    assert out.returncode == 0, out.stderr
    doc = tomli.loads((repo / "lockfiles" / "channels.toml").read_text())
    assert len(doc["defaults"]["images"]) + len(doc["defaults"]["optional-images"]) == 139
    log = subprocess.run(["git", "-C", str(repo), "log", "--oneline"], capture_output=True, text=True).stdout
    assert "docker kolla init --preset ocata" in log
    again = docker_cli.kolla("init", "--preset", "ocata", cwd=repo)
    assert again.returncode == 2 and "--force" in again.stderr


def test_install_sh_links_the_plugin(tmp_path):
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "cfg"), "VENV": str(VENV)}
    proc = subprocess.run(["bash", str(ROOT / "install.sh")], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    link = tmp_path / "cfg" / "cli-plugins" / "docker-kolla"
    assert link.is_symlink() and os.access(link, os.X_OK)
    listed = subprocess.run(["docker", "--help"], capture_output=True, text=True, env=env).stdout
    assert "kolla*" in listed


def test_sigint_through_the_docker_cli_cancels_cleanly(docker_cli, fleet, proxy_factory, tmp_path):
    """The CLI forwards a signal by closing DOCKER_CLI_PLUGIN_SOCKET: exit 130, repo untouched."""
    import signal
    import time

    from tests.cli.lockrepo import make_repo, snapshot

    fleet.seed(["nova-api", "keystone"])
    slow = proxy_factory(fleet.host, latency_ms=3000)
    via = type("F", (), {"host": slow.host, "namespace": fleet.namespace, "tag": "ocata"})
    repo = make_repo(tmp_path / "locks", docker_cli, via, ["nova-api", "keystone"])
    before = snapshot(repo)
    proc = subprocess.Popen(
        ["docker", "kolla", "lock", "ocata"],
        cwd=repo,
        env=docker_cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while slow.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow.count() > 0, "the lock never reached the registry"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert snapshot(repo) == before


def test_shell_completion_through_the_docker_cli(docker_cli, tmp_path):
    repo = tmp_path / "c"
    (repo / "lockfiles").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "lockfiles" / "channels.toml").write_text(
        '[defaults]\nimages = ["nova-api", "keystone"]\noptional-images = ["kuryr-libnetwork"]\n'
        '[channels.ocata]\n[channels."4.0.0"]\nstatic = true\n'
    )

    def complete(*words):
        out = docker_cli.run("__complete", "kolla", *words, cwd=repo)
        assert out.returncode == 0 and out.stdout.endswith(":4\n"), out
        return out.stdout.splitlines()[:-1]

    assert "lock" in complete("") and complete("pro") == ["promote"]
    assert complete("lock", "") == ["ocata", "4.0.0"]
    assert complete("log", "k") == ["keystone", "kuryr-libnetwork"]
    assert complete("diff", "") == []
