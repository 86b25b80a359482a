"""The real Docker engine (Debian ``docker.io``) as root, on a private unix socket.

vfs storage (works on any filesystem, no overlay mounts), no iptables, no bridge, so
containers run with ``--network none``. Pulls from 127.0.0.1 registries over plain
HTTP work because the engine treats loopback registries as insecure by default.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support._proc import ServiceError, log_tail, require_binary, stop_process, wait_until


def _unmount_below(*roots: Path) -> None:
    """Lazily unmount anything left mounted under ``roots`` (netns files, shm) before rm."""
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return
    for point in sorted(mounts, key=len, reverse=True):
        if any(point.startswith(str(root) + "/") or point == str(root) for root in roots):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def _force_rmtree(path: Path) -> None:
    if not path.exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():  # vfs layers may hold read-only dirs
        subprocess.run(["chmod", "-R", "u+rwx", str(path)], check=False, capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


class Dockerd:
    """One ``dockerd`` process; ``.host`` is ``unix:///tmp/dk-XXXX.sock`` for ``docker -H``."""

    def __init__(self, tmpdir: str | Path) -> None:
        self.tmpdir = Path(tmpdir)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(4)
        self.socket = Path(f"/tmp/dk-{token}.sock")  # unix socket paths must stay under 108 bytes
        self.host = f"unix://{self.socket}"
        self.data_root = self.tmpdir / "data"
        self.exec_root = Path(tempfile.mkdtemp(prefix=f"dk-{token}-", dir="/tmp"))  # holds containerd sockets
        self.pidfile = self.tmpdir / "dockerd.pid"
        self.log_path = self.tmpdir / "dockerd.log"
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def docker(
        self, *args: str, check: bool = True, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """Run the docker CLI against this engine, capturing text output.

        The CLI config defaults to a private dir (no host credentials leak in);
        ``env`` adds or overrides variables, e.g. ``{"DOCKER_CONFIG": ...}``.
        """
        cli = require_binary("docker", "docker.io")
        full_env = {**os.environ, "DOCKER_CONFIG": str(self.tmpdir / "cli"), **(env or {})}
        return subprocess.run(
            [cli, "-H", self.host, *args], capture_output=True, text=True, check=check, timeout=timeout, env=full_env
        )

    def start(self) -> Dockerd:
        if os.geteuid() != 0:
            raise ServiceError("dockerd needs root in these tests (it runs real containers)")
        binary = require_binary("dockerd", "docker.io")
        require_binary("docker", "docker.io")
        config = self.tmpdir / "daemon.json"
        config.write_text(json.dumps({}))  # ignore the machine's /etc/docker/daemon.json
        log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [
                binary,
                "--config-file",
                str(config),
                "--storage-driver=vfs",
                "--iptables=false",
                "--ip-masq=false",
                "--bridge=none",
                "--data-root",
                str(self.data_root),
                "--exec-root",
                str(self.exec_root),
                "--pidfile",
                str(self.pidfile),
                "--host",
                self.host,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        wait_until(
            lambda: self.docker("version", check=False, timeout=10).returncode == 0,
            timeout=60,
            what=f"dockerd on {self.host}",
            proc=self._proc,
            log=self.log_path,
        )
        return self

    def stop(self) -> None:
        """SIGTERM by PID (dockerd stops its containers and containerd), then clean up."""
        if self._proc is not None and self._proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
        stop_process(self._proc, grace=30)
        self._proc = None
        _unmount_below(self.exec_root, self.data_root)
        _force_rmtree(self.data_root)
        _force_rmtree(self.exec_root)
        self.socket.unlink(missing_ok=True)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def __enter__(self) -> Dockerd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
