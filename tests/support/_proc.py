"""Process and port helpers shared by the test services.

Every service is started on a free loopback port and stopped by its own PID, never
by name, so parallel sessions on one machine do not touch each other's processes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable


class ServiceError(RuntimeError):
    """A test service could not start; the message says what is missing or what the log said."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    proc: subprocess.Popen | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``check`` until it is true; fail with the log tail if the process died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode}\n{log_tail(log)}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
            pass
        time.sleep(0.1)
    raise ServiceError(f"{what} did not become ready within {timeout}s\n{log_tail(log)}")


def log_tail(log: Path | None, lines: int = 30) -> str:
    """The last lines of a service log, for failure messages."""
    if log is None or not Path(log).exists():
        return ""
    text = Path(log).read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def stop_process(proc: subprocess.Popen | None, *, grace: float = 10.0) -> None:
    """SIGTERM the process by PID, wait up to ``grace`` seconds, then SIGKILL it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        pass


def require_binary(name: str, package: str) -> str:
    """Absolute path of ``name`` on PATH, or a loud ServiceError naming the Debian package."""
    import shutil

    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise ServiceError(f"{name} not found on PATH: install it with `apt-get install -y {package}`")
    return path
