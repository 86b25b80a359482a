"""Benchmark (issue 4): `docker kolla promote` vs `skopeo sync` of the same images.

Three real registries: a source holding a generated Kolla fleet, and one empty
destination per tool. Both tools read the source through the same counting Proxy
(optionally with latency), so "bytes moved" is what each one pulled from the
source; counting proxies in front of the destinations count the writes.

Measured in one run:
1. cold: promote the whole lock into an empty destination vs `skopeo sync` of the
   same `:ocata` tags into another empty destination (wall time, bytes, requests);
2. bump: rebuild 2 images with new package versions, lock them at revision 2 and
   promote again; bytes moved must be only those images' new layers, configs and
   manifests (reported next to that expected figure); `skopeo sync` re-run too.
Prints one JSON object. Usage: python bench/promote_bench.py [--images 200] [--latency-ms 5]
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.test_promote import write_lock_repo  # noqa: E402
from tests.support import KollaFleet, Proxy, Registry  # noqa: E402

CLI = Path(sys.executable).parent / "docker-kolla"
BUMPED = ("nova-api", "keystone")


def _run(cmd: list, env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def _window(proxies: dict) -> dict:
    """Reset the counters of every proxy; returns a function reading them afterwards."""
    for p in proxies.values():
        p.reset_counts()

    def read() -> dict:
        return {
            name: {
                "bytes_sent": p.bytes_sent,
                "puts": p.count("PUT"),
                "posts": p.count("POST"),
                "blob_gets": p.count("GET", "blob"),
                "manifest_gets": p.count("GET", "manifest"),
                "requests": p.count(),
            }
            for name, p in proxies.items()
        }

    return read


def promote(repo: Path, to: str, env: dict, jobs: int) -> tuple[float, dict]:
    elapsed, out = _run([CLI, "--repo", repo, "promote", "ocata", "--to", to, "--jobs", jobs, "--format", "json"], env)
    return elapsed, json.loads(out)


def skopeo_sync(fleet: KollaFleet, images: list, src_host: str, to: str, work: Path, env: dict) -> float:
    spec = {src_host: {"tls-verify": False, "images": {fleet.repo(i): [fleet.tag] for i in images}}}
    path = work / "sync.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    elapsed, _ = _run(["skopeo", "sync", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false", path, to], env)
    return elapsed


def new_bytes(fleet: KollaFleet, before: dict, images) -> int:
    """Bytes of the bumped images that the source did not hold before: layers, config, manifest."""
    known = {layer.digest for p in before.values() for layer in p.layers} | {p.config_digest for p in before.values()}
    total, seen = 0, set()
    for image in images:
        p = fleet.pushed[image]
        for layer in p.layers:
            if layer.digest not in known and layer.digest not in seen:
                total += layer.size
                seen.add(layer.digest)
        total += len(p.config_bytes) + p.size
    return total


def run(n: int, latency_ms: float, jobs: int, layer_size: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="promote-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "DOCKER_CONFIG": str(work / "docker-config"), "HOME": str(work)}
        regs = {name: Registry(work / name).start() for name in ("src", "dst-promote", "dst-skopeo")}
        proxies = {
            "source": Proxy(regs["src"].host, latency_ms=latency_ms).start(),
            "dst-promote": Proxy(regs["dst-promote"].host, latency_ms=latency_ms).start(),
            "dst-skopeo": Proxy(regs["dst-skopeo"].host, latency_ms=latency_ms).start(),
        }
        try:
            fleet = KollaFleet(regs["src"].host, namespace="kolla", layer_size=layer_size)
            images = fleet.generate(n)
            src_host = proxies["source"].host
            repo = write_lock_repo(work / "locks", fleet, {i: 1 for i in images}, source_host=src_host)
            to_promote = f"{proxies['dst-promote'].host}/mirror"
            to_skopeo = f"{proxies['dst-skopeo'].host}/mirror"

            read = _window(proxies)
            t_promote, doc = promote(repo, to_promote, env, jobs)
            cold_promote = read()
            read = _window(proxies)
            t_skopeo = skopeo_sync(fleet, images, src_host, to_skopeo, work, env)
            cold_skopeo = read()

            before = dict(fleet.pushed)
            for i, image in enumerate(BUMPED):
                fleet.rebuild(image, versions={"deb:openssl": f"1.1.0f-3+deb9u{10 + i}"})
            revisions = {i: (2 if i in BUMPED else 1) for i in images}
            write_lock_repo(repo, fleet, revisions, source_host=src_host, message="bump 2 images")
            read = _window(proxies)
            t_bump, bump_doc = promote(repo, to_promote, env, jobs)
            bump_promote = read()
            read = _window(proxies)
            t_bump_skopeo = skopeo_sync(fleet, images, src_host, to_skopeo, work, env)
            bump_skopeo = read()
            expected = new_bytes(fleet, before, BUMPED)
            return {
                "bench": "promote",
                "images": n,
                "latency_ms_each_way": latency_ms,
                "jobs": jobs,
                "cold": {
                    "promote_s": round(t_promote, 2),
                    "skopeo_sync_s": round(t_skopeo, 2),
                    "ratio_skopeo_over_promote": round(t_skopeo / t_promote, 2),
                    "promote_bytes_from_source": cold_promote["source"]["bytes_sent"],
                    "skopeo_bytes_from_source": cold_skopeo["source"]["bytes_sent"],
                    "promote_reported": doc["totals"],
                    "promote_requests": cold_promote,
                    "skopeo_requests": cold_skopeo,
                },
                "bump_2_images": {
                    "promote_s": round(t_bump, 2),
                    "skopeo_sync_s": round(t_bump_skopeo, 2),
                    "promote_statuses": bump_doc["statuses"],
                    "promote_bytes_from_source": bump_promote["source"]["bytes_sent"],
                    "expected_new_layer_config_manifest_bytes": expected,
                    "skopeo_bytes_from_source": bump_skopeo["source"]["bytes_sent"],
                    "promote_reported": bump_doc["totals"],
                    "promote_requests": bump_promote,
                    "skopeo_requests": bump_skopeo,
                },
            }
        finally:
            for p in proxies.values():
                p.stop()
            for r in regs.values():
                r.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=5)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--layer-size", type=int, default=64 * 1024, help="incompressible bytes per image layer")
    args = parser.parse_args()
    print(json.dumps(run(args.images, args.latency_ms, args.jobs, args.layer_size), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
