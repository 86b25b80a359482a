"""Benchmark: ``docker kolla pull --lock`` against a sequential ``docker pull`` loop.

Usage: python bench/pull_bench.py [--images 50] [--present 200] [--layer-kib 1024] [--jobs 4]

Starts its own registry and dockerd (vfs, as the tests do), pushes a Kolla-like
fleet, commits a lock, then in the same run:

1. ``docker pull repo@digest`` for each of N images, one after the other (the
   baseline), then removes them so the engine holds none of their layers;
2. ``docker -H ... kolla pull --lock HEAD`` of the same N digests;
3. ``docker kolla pull`` of M images that are all present already (the target is
   under 1 s and no pull call to the engine).

Prints one JSON line with the seconds and the ratio baseline/kolla. Needs root
(dockerd). Not part of the tests: timings do not belong in assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from docker_kolla.core.digest import Digest  # noqa: E402
from docker_kolla.core.lockfile import LockEntry, Lockfile, dumps  # noqa: E402
from docker_kolla.core.manifest import Platform  # noqa: E402
from docker_kolla.core.reference import ImageRef  # noqa: E402
from tests.support import Dockerd, KollaFleet, Registry  # noqa: E402
from tests.support.paths import PLUGIN  # noqa: E402

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.test",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.test",
}


def lock_repo(path: Path, channel: str, entries: list) -> Path:
    """A git repository with one commit holding lockfiles/<channel>.toml."""
    (path / "lockfiles").mkdir(parents=True)
    (path / "lockfiles" / f"{channel}.toml").write_text(dumps(Lockfile(channel, {e.name: e for e in entries})))
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "lockfiles"], ["commit", "-q", "-m", "lock"]):
        subprocess.run(["git", "-C", str(path), *args], check=True, env=env, capture_output=True)
    return path


def entries_for(fleet: KollaFleet, names: list, pushed: dict) -> list:
    return [
        LockEntry(
            name=n,
            repository=ImageRef.parse_repository(f"{fleet.host}/{fleet.repo(n)}"),
            tag="ocata-1",
            revision=1,
            digest=Digest.parse(pushed[n].digest),
            media_type=pushed[n].media_type,
            platform=Platform.parse("linux/amd64"),
        )
        for n in names
    ]


def plugin_env(config_dir: Path) -> dict:
    (config_dir / "cli-plugins").mkdir(parents=True, exist_ok=True)
    (config_dir / "cli-plugins" / "docker-kolla").symlink_to(PLUGIN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return {**env, "DOCKER_CONFIG": str(config_dir)}


def timed(cmd: list, env: dict) -> tuple:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return seconds, proc.stdout


def seed(registry: Registry, namespace: str, count: int, layer_kib: int) -> tuple:
    fleet = KollaFleet(registry.host, namespace=namespace, layer_size=layer_kib * 1024)
    names = fleet.generate(count)
    return fleet, names, entries_for(fleet, names, fleet.pushed)


def run(args: argparse.Namespace, work: Path) -> dict:
    registry = Registry(work / "registry").start()
    engine = Dockerd(work / "dockerd").start()
    try:
        env = plugin_env(work / "docker-config")
        _, _, fresh = seed(registry, "bench-fresh", args.images, args.layer_kib)
        baseline = 0.0
        for entry in fresh:
            seconds, _ = timed(["docker", "-H", engine.host, "pull", "-q", entry.pinned], env)
            baseline += seconds
        engine.docker("rmi", *[e.pinned for e in fresh])
        engine.docker("image", "prune", "-a", "-f")
        repo = lock_repo(work / "locks-fresh", "ocata", fresh)
        kolla, _ = timed(
            ["docker", "-H", engine.host, "kolla", "--repo", str(repo), "pull", "ocata", "--jobs", str(args.jobs)], env
        )

        _, _, many = seed(registry, "bench-present", args.present, 0)
        repo = lock_repo(work / "locks-present", "ocata", many)
        cmd = ["docker", "-H", engine.host, "kolla", "--repo", str(repo), "pull", "ocata", "--format", "json"]
        timed(cmd, env)  # first run pulls them all
        present, out = timed(cmd, env)  # second run: everything present
        actions = {i["action"] for i in json.loads(out)["images"]}
        return {
            "images": args.images,
            "layer_kib": args.layer_kib,
            "jobs": args.jobs,
            "docker_pull_loop_s": round(baseline, 3),
            "kolla_pull_s": round(kolla, 3),
            "ratio_loop_over_kolla": round(baseline / kolla, 2) if kolla else None,
            "present_images": args.present,
            "present_s": round(present, 3),
            "present_under_1s": present < 1.0,
            "present_actions": sorted(actions),
        }
    finally:
        engine.stop()
        registry.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--present", type=int, default=200)
    parser.add_argument("--layer-kib", type=int, default=1024, help="unique bytes per image layer")
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kolla-pull-bench-") as work:
        print(json.dumps(run(args, Path(work))))


if __name__ == "__main__":
    main()
