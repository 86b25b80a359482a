"""`make demo`: the main job on an embedded default, offline.

A local distribution registry is seeded with a small Kolla-like fleet; then,
through the real docker CLI with docker-kolla as its plugin:
init -> lock -> rebuild two images with a new nova version (and one with no
version change) -> lock -> diff -> log -> verify -> pull --lock HEAD~1 / HEAD
(through a private dockerd when this machine can start one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import Dockerd, KollaFleet, Registry, ServiceError  # noqa: E402

WORK = ROOT / ".demo"
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


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    config = WORK / "docker-config"
    (config / "cli-plugins").mkdir(parents=True)
    (config / "cli-plugins" / "docker-kolla").symlink_to(Path(sys.executable).parent / "docker-kolla")
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(config),
        "DOCKER_KOLLA_CACHE": str(WORK / "cache"),
        "GIT_AUTHOR_NAME": "Demo Operator",
        "GIT_AUTHOR_EMAIL": "operator@example.test",
        "GIT_COMMITTER_NAME": "Demo Operator",
        "GIT_COMMITTER_EMAIL": "operator@example.test",
    }
    registry = Registry(WORK / "registry").start()
    engine = None
    try:
        say(f"a local registry at {registry.host}, seeded with {len(IMAGES)} Kolla-like images (tag ocata)")
        fleet = KollaFleet(registry.host, namespace="kolla", runnable=True)
        fleet.seed(IMAGES)
        fleet.multiarch("keystone")
        repo = WORK / "locks"
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
            engine = Dockerd(WORK / "dockerd").start()
        except ServiceError as exc:
            print(f"  (no private dockerd on this machine: {exc}; skipping the pull step)")
        if engine is not None:
            run(env, "docker", "-H", engine.host, "kolla", "pull", "ocata", "--lock", "HEAD~1", cwd=repo)
            run(env, "docker", "-H", engine.host, "kolla", "pull", "ocata", "--lock", "HEAD", cwd=repo)
            run(env, "docker", "-H", engine.host, "images", "--format", "{{.Repository}}:{{.Tag}}", cwd=repo)
        say(f"done. The demo lock repository is {repo}")
        print(f"  try: cd {repo} && DOCKER_CONFIG={config} docker kolla diff HEAD~1 --format json")
        return 0
    finally:
        if engine is not None:
            engine.stop()
        registry.stop()


if __name__ == "__main__":
    raise SystemExit(main())
