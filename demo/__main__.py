"""`make demo`: the main job on an embedded default, offline.

A local distribution registry is seeded with a small Kolla-like fleet; then,
through the real docker CLI with docker-kolla as its plugin:
init -> lock -> rebuild two images with a new nova version (and one with no
version change) -> lock -> diff -> log -> verify -> pull --lock HEAD~1 / HEAD
(through a private dockerd when this machine can start one).

The registry keeps running afterwards, so the printed "try:" commands work; its
PID is in <work>/registry.pid and `python -m demo stop` (`make demo-stop`) ends it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import Dockerd, KollaFleet, Registry, ServiceError  # noqa: E402

WORK = ROOT / ".demo"
PID_FILE = "registry.pid"
IMAGES = [
    "nova-api",
    "nova-compute",
    "nova-conductor",
    "nova-scheduler",
    "keystone",
    "glance-api",
    "neutron-server",
    "mariadb",
]


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def run(env: dict, *args: str, cwd: Path, ok=(0,)) -> subprocess.CompletedProcess:
    print("$ " + " ".join(args), flush=True)
    proc = subprocess.run(list(args), cwd=cwd, env=env, text=True, capture_output=True)
    sys.stdout.write(proc.stdout)
    sys.stdout.write("".join(f"  {line}\n" for line in proc.stderr.splitlines()))
    if proc.returncode not in ok:
        raise SystemExit(f"demo: `{' '.join(args)}` exited {proc.returncode}")
    return proc


def parse_args(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="The docker-kolla demo: a local registry with a small Kolla-like fleet, then init, lock, "
        "a rebuild, lock, diff, log, verify and pull through the real docker CLI. The registry keeps running "
        "afterwards so you can try the commands it prints; `stop` ends it.",
    )
    parser.add_argument("action", nargs="?", choices=("run", "stop"), default="run", help="run (default) or stop")
    parser.add_argument("--work", type=Path, default=WORK, help=f"demo directory, wiped by run (default {WORK})")
    return parser.parse_args(argv)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(work: Path) -> int:
    """End the registry a previous run left running (by the PID it recorded)."""
    pid_file = work / PID_FILE
    if not pid_file.exists():
        print(f"demo: no demo registry recorded in {pid_file}; nothing to stop")
        return 0
    pid = int(pid_file.read_text().split()[0])
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink()
    print(f"demo: stopped the demo registry (pid {pid})")
    return 0


def main(argv: list | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.action == "stop":
        return stop(args.work)
    return run_demo(args.work)


def run_demo(work: Path) -> int:
    if (work / PID_FILE).exists():  # a registry from the previous run
        stop(work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = work / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "cli-plugins" / "docker-kolla").symlink_to(Path(sys.executable).parent / "docker-kolla-plugin")
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(config),
        "DOCKER_KOLLA_CACHE": str(work / "cache"),
        "GIT_AUTHOR_NAME": "Demo Operator",
        "GIT_AUTHOR_EMAIL": "operator@example.test",
        "GIT_COMMITTER_NAME": "Demo Operator",
        "GIT_COMMITTER_EMAIL": "operator@example.test",
    }
    registry = Registry(work / "registry").start()
    engine = None
    keep = False
    try:
        say(f"a local registry at {registry.host}, seeded with {len(IMAGES)} Kolla-like images (tag ocata)")
        fleet = KollaFleet(registry.host, namespace="kolla", runnable=True)
        fleet.seed(IMAGES)
        fleet.multiarch("keystone")
        repo = work / "locks"
        repo.mkdir()
        say("docker kolla init: a lock repository for this fleet")
        run(env, "git", "init", "-q", "-b", "main", cwd=repo)
        run(env, "docker", "kolla", "init", cwd=repo)
        names = ", ".join(f'"{i}"' for i in IMAGES)
        (repo / "lockfiles" / "channels.toml").write_text(
            f'[defaults]\nregistry = "{registry.host}"\nnamespace = "kolla"\n'
            f'name-template = "{{distro}}-{{type}}-{{image}}"\ndistro = "centos"\ntype = "binary"\n'
            f'images = [{names}]\n\n[channels.ocata]\ntag = "ocata"\n'
        )
        run(env, "git", "commit", "-qam", "channels: demo fleet", cwd=repo)
        say("docker kolla lock ocata: every image gets a digest, a manifesto and revision 1")
        run(env, "docker", "kolla", "lock", "ocata", cwd=repo)
        run(env, "sed", "-n", "1,30p", "lockfiles/ocata.toml", cwd=repo)

        say("upstream rebuilds: nova 15.0.2 -> 15.0.3 in nova-api and nova-compute; glance-api rebuilt, same versions")
        fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
        fleet.rebuild("nova-compute", versions={"nova": "15.0.3"})
        fleet.rebuild("glance-api")
        run(env, "docker", "kolla", "lock", "ocata", cwd=repo)

        say("docker kolla diff HEAD~1: what changed, down to package versions")
        run(env, "docker", "kolla", "diff", "HEAD~1", cwd=repo)
        run(env, "docker", "kolla", "diff", "HEAD~1", "--format", "markdown", cwd=repo)
        say("docker kolla log nova-api, and docker kolla verify (revisions recomputed from git history)")
        run(env, "docker", "kolla", "log", "nova-api", cwd=repo)
        run(env, "docker", "kolla", "verify", cwd=repo)
        run(env, "git", "log", "--oneline", cwd=repo)

        say("docker kolla pull --lock HEAD~1, then --lock HEAD: both revisions tagged in the engine")
        try:
            engine = Dockerd(work / "dockerd").start()
        except ServiceError as exc:
            print(f"  (no private dockerd on this machine: {exc}; skipping the pull step)")
        if engine is not None:
            run(env, "docker", "-H", engine.host, "kolla", "pull", "ocata", "--lock", "HEAD~1", cwd=repo)
            run(env, "docker", "-H", engine.host, "kolla", "pull", "ocata", "--lock", "HEAD", cwd=repo)
            run(env, "docker", "-H", engine.host, "images", "--format", "{{.Repository}}:{{.Tag}}", cwd=repo)
        (work / PID_FILE).write_text(f"{registry.pid} {registry.host}\n")
        keep = True
        say(f"done. The demo lock repository is {repo}")
        print(f"  the demo registry keeps running at {registry.host} (pid {registry.pid}, in {work / PID_FILE})")
        plugin = f"cd {repo} && DOCKER_CONFIG={config}"
        for command in (
            "docker kolla diff HEAD~1 --format json",
            "docker kolla log nova-api",
            "docker kolla lock ocata",
            f"docker kolla promote ocata --to {registry.host}/prod",
            "docker kolla export ocata --format compose",
        ):
            print(f"  try: {plugin} {command}")
        print("  stop it with: make demo-stop")
        return 0
    finally:
        if engine is not None:
            engine.stop()
        if not keep:
            registry.stop()


if __name__ == "__main__":
    raise SystemExit(main())
