"""`make demo` leaves its registry running for the printed "try:" commands; `demo stop` ends it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_help_prints_help_and_touches_nothing(tmp_path):
    work = tmp_path / "demo"
    work.mkdir()
    (work / "keep").write_text("x")
    proc = subprocess.run(
        [sys.executable, "-m", "demo", "--help", "--work", str(work)], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "usage: python -m demo" in proc.stdout and "stop" in proc.stdout
    assert (work / "keep").exists()


def test_demo_try_commands_work_and_stop_leaves_no_process(tmp_path):
    work = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    run = subprocess.run(
        [sys.executable, "-m", "demo", "--work", str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    try:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        tries = [line.split("try: ", 1)[1] for line in run.stdout.splitlines() if "try: " in line]
        assert len(tries) >= 3 and any("kolla lock ocata" in t for t in tries), run.stdout[-2000:]
        pid = int((work / "registry.pid").read_text().split()[0])
        assert _alive(pid)
        assert "make demo-stop" in run.stdout
        for command in tries:
            proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=300)
            assert proc.returncode == 0, (command, proc.stdout[-2000:], proc.stderr[-2000:])
    finally:
        stopped = subprocess.run(
            [sys.executable, "-m", "demo", "stop", "--work", str(work)], cwd=ROOT, capture_output=True, text=True
        )
    assert stopped.returncode == 0 and "stopped the demo registry" in stopped.stdout, stopped.stdout + stopped.stderr
    assert not _alive(pid)
    assert not (work / "registry.pid").exists()
