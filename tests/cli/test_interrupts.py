"""Ctrl-C, SIGTERM and the plugin socket closing, any number, at any moment: exit 130 and one
line with the lock repository as it was, or (once the commit is done) exit 0 with the summary.
Never a traceback.

A terminal Ctrl-C signals the whole process group (the docker CLI and the plugin), so the
signals go to the group of a real ``docker kolla lock`` started in a session of its own,
in bursts, at a sweep of moments across the run (the registry is behind a latency proxy so
the run lasts long enough to be hit everywhere). The delays only pick moments; nothing is
asserted about time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.cli.conftest import PLUGIN
from tests.cli.lockrepo import git, make_repo, snapshot

IMAGES = ["nova-api", "nova-compute", "keystone", "glance-api"]
TRACEBACK = "Traceback"


def _outcome(proc, out: str, err: str, repo, before) -> str:
    assert TRACEBACK not in out + err, err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("lock ")]
    if proc.returncode == 130:
        assert lines == [lines[0]] and "interrupted" in lines[0], err
        assert snapshot(repo) == before
        return "interrupted"
    assert proc.returncode == 0, (proc.returncode, out, err)
    assert out.startswith("lock ocata: "), out
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-list", "--count", "HEAD") == "2\n"
    return "late" if "interrupted after the write" in err else "done"


def _plugin_ready(session: int) -> bool:
    """The plugin process of this session has its SIGTERM handler installed (SigCgt bit 15)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
            status = open(f"/proc/{entry}/status").read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[3]) != session or b"docker-kolla" not in cmdline:
            continue
        if b"lock" not in cmdline.split(b"\0"):
            continue
        caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
        if int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
            return True
    return False


def _run_and_signal(docker_cli, repo, delay: float, signals: list[int], via_docker: bool) -> tuple:
    proc = subprocess.Popen(
        ["docker", "kolla", "lock", "ocata"] if via_docker else [str(PLUGIN), "lock", "ocata"],
        cwd=repo,
        env=docker_cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    give_up = time.monotonic() + 60
    while not _plugin_ready(proc.pid) and proc.poll() is None and time.monotonic() < give_up:
        time.sleep(0.005)
    time.sleep(delay)
    for sig in signals:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    out, err = proc.communicate(timeout=120)
    return proc, out, err


INT, TERM = signal.SIGINT, signal.SIGTERM


@pytest.mark.parametrize(
    "via_docker,signals",
    [
        (True, [INT]),
        (True, [INT, INT]),  # a terminal Ctrl-C: the signal, then the docker CLI closing the socket
        (True, [TERM, INT]),
        # the docker CLI itself gives up after its third signal ("forcefully exiting", exit 1),
        # so longer bursts go to the plugin run on its own
        (False, [INT, INT, INT, INT]),
        (False, [TERM, INT, TERM, INT, INT]),
    ],
    ids=["docker-one", "docker-two", "docker-term-int", "plugin-int-burst", "plugin-mixed-burst"],
)
def test_interrupts_at_any_moment_end_cleanly(
    tmp_path, docker_cli, registry, proxy_factory, fleet_factory, via_docker, signals
):
    proxy = proxy_factory(registry, latency_ms=40)
    fleet = fleet_factory(proxy)
    fleet.seed(IMAGES)
    seen = []
    for i, delay in enumerate((0.0, 0.3, 0.7, 1.2, 1.8, 2.6)):
        repo = make_repo(tmp_path / f"locks-{i}", docker_cli, fleet, IMAGES)
        before = snapshot(repo)
        proc, out, err = _run_and_signal(docker_cli, repo, delay, signals, via_docker)
        seen.append(_outcome(proc, out, err, repo, before))
    assert "interrupted" in seen, seen  # the sweep did hit the run before its commit


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_an_interrupt_during_the_write_waits_and_then_only_adds_a_note():
    """Real signals to a real process: held during the write, noted after it, exit 0."""
    proc = _python(
        "import os, signal, sys\n"
        "from docker_kolla.cli import interrupts\n"
        "interrupts.install()\n"
        "with interrupts.uninterruptible():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('write finished')\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "print('summary')\n"
        "sys.stderr.write(interrupts.late_note())\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "write finished\nsummary\n"
    assert "interrupted after the write was complete" in proc.stderr


def test_a_failed_write_reports_its_error_not_the_interrupt():
    proc = _python(
        "import os, signal\n"
        "from docker_kolla.cli import interrupts\n"
        "interrupts.install()\n"
        "try:\n"
        "    with interrupts.uninterruptible():\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        raise OSError(28, 'No space left on device')\n"
        "except OSError as exc:\n"
        "    print('error:', exc.strerror)\n"
        "print(repr(interrupts.late_note()))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "error: No space left on device\n''\n"


def test_a_bug_is_one_line_and_a_traceback_only_with_debug(tmp_path):
    """The last-resort handler, on a real escaped exception (a bad type where a path is expected)."""
    code = (
        "import sys\n"
        "from docker_kolla.cli import plugin\n"
        "plugin._main = lambda args: {}['no such key']\n"
        "sys.exit(plugin.main(sys.argv[1:]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, "lock"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "internal error: KeyError" in proc.stderr, proc.stderr
    assert "docker -D kolla" in proc.stderr
    debug = subprocess.run([sys.executable, "-c", code, "-D", "lock"], capture_output=True, text=True, timeout=60)
    assert TRACEBACK in debug.stderr
