"""The docker CLI as plugin host: a DOCKER_CONFIG with docker-kolla linked into cli-plugins."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import PLUGIN


@dataclass
class DockerCLI:
    config_dir: Path
    env: dict

    def run(
        self, *args: str, cwd=None, check: bool = False, env: dict | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        """``docker ARGS`` (put global flags first, then ``kolla``)."""
        proc = subprocess.run(
            ["docker", *args], cwd=cwd, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def kolla(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run("kolla", *args, **kw)


@pytest.fixture
def docker_cli(tmp_path: Path) -> DockerCLI:
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is not installed (Debian package docker.io)", pytrace=False)
    if not PLUGIN.exists():
        pytest.fail(f"{PLUGIN} is missing: run `make venv` (pip install -e .)", pytrace=False)
    config = tmp_path / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "cli-plugins" / "docker-kolla").symlink_to(PLUGIN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "GIT_"))}
    env.update(
        DOCKER_CONFIG=str(config),
        DOCKER_KOLLA_CACHE=str(tmp_path / "cache"),
        GIT_AUTHOR_NAME="Lock Bot",
        GIT_AUTHOR_EMAIL="bot@example.test",
        GIT_COMMITTER_NAME="Lock Bot",
        GIT_COMMITTER_EMAIL="bot@example.test",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(tmp_path),
    )
    return DockerCLI(config, env)
