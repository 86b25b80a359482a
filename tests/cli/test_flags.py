"""One flag vocabulary: version/--version, --repo anywhere and DOCKER_KOLLA_REPO, -c never a channel,
cache prune asks (and refuses without a terminal unless -f)."""

from __future__ import annotations

import os
import subprocess

from tests.cli.test_lock_errors import one_line_error


def test_version_command_and_flag(docker_cli, tmp_path):
    from docker_kolla import __version__

    short = docker_cli.kolla("--version", cwd=tmp_path, check=True).stdout
    assert short == f"docker-kolla version {__version__}\n"
    full = docker_cli.kolla("version", cwd=tmp_path, check=True).stdout
    assert full.startswith(short) and "Python:" in full
    for library in ("dulwich:", "requests:", "docker:"):
        assert library in full


def test_repo_anywhere_and_from_the_environment(docker_cli, tmp_path):
    after = tmp_path / "after-the-verb"
    assert docker_cli.kolla("init", "--repo", str(after), "-q", cwd=tmp_path).returncode == 0
    assert (after / "lockfiles" / "channels.toml").exists()
    from_env = tmp_path / "from-env"
    proc = docker_cli.kolla("init", "-q", cwd=tmp_path, env={"DOCKER_KOLLA_REPO": str(from_env)})
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert (from_env / "lockfiles" / "channels.toml").exists()


def test_c_is_never_a_channel(docker_cli, tmp_path):
    for verb in (("diff",), ("log", "nova-api")):
        line = one_line_error(docker_cli.kolla(*verb, "-c", "ocata", cwd=tmp_path), 2)
        assert "unknown flag: -c" in line, line


def _cache(tmp_path, n: int = 3):
    root = tmp_path / "cache"
    layers = root / "layers" / "sha256"
    layers.mkdir(parents=True)
    for i in range(n):
        (layers / f"{i:064x}.json").write_text("{}")
    return root, layers


def test_cache_prune_refuses_without_a_terminal_unless_forced(docker_cli, tmp_path):
    root, layers = _cache(tmp_path)
    line = one_line_error(docker_cli.kolla("cache", "prune", "--cache-dir", str(root), cwd=tmp_path), 2)
    assert "not a terminal" in line and "--force" in line
    assert len(list(layers.iterdir())) == 3
    forced = docker_cli.kolla("cache", "prune", "--cache-dir", str(root), "-f", cwd=tmp_path)
    assert forced.returncode == 0 and "removed 3 cache entries" in forced.stdout
    assert list(layers.iterdir()) == []


def test_cache_prune_asks_on_a_terminal(docker_cli, tmp_path):
    root, layers = _cache(tmp_path)

    def prune(answer: bytes) -> subprocess.CompletedProcess:
        primary, secondary = os.openpty()
        try:
            os.write(primary, answer)
            return subprocess.run(
                ["docker", "kolla", "cache", "prune", "--cache-dir", str(root)],
                stdin=secondary,
                capture_output=True,
                text=True,
                env=docker_cli.env,
                cwd=tmp_path,
                timeout=60,
            )
        finally:
            os.close(primary)
            os.close(secondary)

    no = prune(b"n\n")
    assert no.returncode == 0 and "Are you sure you want to continue? [y/N]" in no.stderr, no.stderr
    assert len(list(layers.iterdir())) == 3
    yes = prune(b"y\n")
    assert yes.returncode == 0 and "removed 3 cache entries" in yes.stdout, yes.stderr
    assert list(layers.iterdir()) == []
