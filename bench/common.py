"""Shared set-up for the benchmarks: real services from tests/support, the plugin on a private config."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.proxy import classify  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PLUGIN = Path(sys.executable).parent / "docker-kolla-plugin"  # what install.sh links as the plugin


def plugin_env(work: Path) -> dict:
    """Environment for `docker kolla` with the plugin linked into a private DOCKER_CONFIG."""
    config = work / "docker-config"
    (config / "cli-plugins").mkdir(parents=True, exist_ok=True)
    link = config / "cli-plugins" / "docker-kolla"
    if not link.exists():
        link.symlink_to(PLUGIN)
    return {
        **os.environ,
        "DOCKER_CONFIG": str(config),
        "DOCKER_KOLLA_CACHE": str(work / "cache"),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.test",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.test",
    }


def timed(cmd, *, env=None, cwd=None, shell=False, check=True) -> float:
    """Wall seconds of one command."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, shell=shell, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise SystemExit(
            f"bench: {cmd if shell else ' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stderr[-2000:]}"
        )
    return elapsed


def timed_rss(cmd, *, env=None, cwd=None) -> tuple[float, int]:
    """(wall seconds, peak RSS in MB) of one command, from the kernel's rusage of that child."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed:\n{err[-2000:]}")
    return elapsed, round(usage.ru_maxrss / 1024)


_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS


def steal_seconds() -> float:
    """CPU seconds the hypervisor gave to other guests so far (all cores; /proc/stat "steal"):
    on a shared machine, what a run lost that no process's counters show."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) / _TICKS if len(fields) > 8 else 0.0


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished, waited-for children."""
    usage = os.times()
    return usage.children_user + usage.children_system


def _timed_heads(head, urls: list, jobs: int) -> float:
    """Seconds of the second of two passes of ``head(url)`` over ``urls`` on ``jobs`` threads
    (the first opens the connections, as a client with nothing else to do would have them)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(head, urls))
        start = time.perf_counter()
        list(pool.map(head, urls))
        return time.perf_counter() - start


def head_floor(urls: list, jobs: int = 32) -> float:
    """The network floor of a warm re-lock: HEAD every manifest over ``jobs`` kept-alive connections,
    with the product's own HTTP client (``adapters.transport``) and Accept header, nothing else of it."""
    from docker_kolla.adapters.http import make_session
    from docker_kolla.core.manifest import ACCEPT

    session = make_session("bench-floor", pool_size=jobs)

    def head(url: str) -> None:
        status = session.request("HEAD", url, headers={"Accept": ACCEPT}).status_code
        if status != 200:
            raise SystemExit(f"bench: HEAD {url}: HTTP {status}")

    with session:  # closed after: no idle connections left to the proxy
        return _timed_heads(head, urls, jobs)


def requests_head_floor(urls: list, jobs: int = 32) -> float:
    """The same loop with a requests session (the client most Python tools use; earlier runs'
    floor): its ~1.4 ms of CPU per request make it a slower floor than the product's client."""
    import requests

    from docker_kolla.core.manifest import ACCEPT

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=jobs))

    def head(url: str) -> None:
        session.head(url, headers={"Accept": ACCEPT}).raise_for_status()

    with session:
        return _timed_heads(head, urls, jobs)


def lock_repo(path: Path, env: dict, host: str, namespace: str, images: list, tag: str = "ocata") -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    (path / "lockfiles").mkdir()
    names = ", ".join(f'"{i}"' for i in images)
    (path / "lockfiles" / "channels.toml").write_text(
        f'[defaults]\nregistry = "{host}"\nnamespace = "{namespace}"\nimages = [{names}]\n\n'
        f'[channels.{tag}]\ntag = "{tag}"\n'
    )
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "commit", "-qm", "channels"], check=True, env=env)
    return path


_FIELD = re.compile(r'http\.(request\.method|request\.uri|response\.written)="?([^" ]*)')


class RegistryLog:
    """A registry's requests, read from its own access log (distribution logs one
    "response completed" line per request, with method, URI and body bytes written):
    counted with nothing between a tool and the registry."""

    def __init__(self, registry) -> None:
        self.path = Path(registry.log_path)
        self.pid = registry.pid  # for its CPU counters (process_cpu)
        self.offset = 0
        self.mark()

    def mark(self) -> None:
        self.offset = self.path.stat().st_size

    def _lines(self) -> list:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return [line for line in f.read().decode(errors="replace").splitlines() if "response completed" in line]

    def read(self) -> dict:
        """Counters since ``mark()``; waits until the log stops growing (it is written after the answer)."""
        lines, deadline = self._lines(), time.monotonic() + 3
        while time.monotonic() < deadline:
            time.sleep(0.1)
            again = self._lines()
            if len(again) == len(lines):
                break
            lines = again
        by, sent = Counter(), 0
        for line in lines:
            fields = dict(_FIELD.findall(line))
            by[f"{fields.get('request.method', '?')} {classify(fields.get('request.uri', ''))}"] += 1
            sent += int(fields.get("response.written") or 0)
        return {"requests": sum(by.values()), "bytes_sent": sent, "by_kind": dict(sorted(by.items()))}


class ProxyLog:
    """The same counters from a latency Proxy (tests/support/proxy.py) in front of a registry."""

    def __init__(self, proxy) -> None:
        self.proxy = proxy
        self.mark()

    def mark(self) -> None:
        self.proxy.reset_counts()
        self.before = self.proxy.bytes_sent

    def read(self) -> dict:
        by = {f"{m} {k}": c for (m, k), c in sorted(self.proxy.counts().items())}
        return {"requests": sum(by.values()), "bytes_sent": self.proxy.bytes_sent - self.before, "by_kind": by}
