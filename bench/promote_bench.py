"""Benchmark (issues 4, 14): `docker kolla promote` vs `skopeo sync` of the same images.

Real registries: a source holding a generated Kolla fleet, and one empty
destination per tool (fresh ones for every repetition). Requests and bytes are
counted at the registries themselves, from their access logs, so nothing sits
between a tool and a registry on loopback (``--latency-ms 0``); with latency, each
registry is reached through a Proxy that adds it each way (both tools the same).

Measured in one run, each tool against its own destination, alternating:
1. cold: promote the whole lock into an empty destination vs `skopeo sync` of the
   same `:ocata` tags into another empty destination (wall time, bytes, requests),
   ``--repeat`` times; the medians count, every run is listed;
2. bump: rebuild 2 images with new package versions, lock them at revision 2 and
   promote again; bytes moved must be only those images' new layers, configs and
   manifests (reported next to that expected figure); `skopeo sync` re-run too.
The load average is reported with every figure: the ratios are what to quote.
Each run also reports the CPU seconds used by the tool and by the two registries (from
/proc), the CPU time the hypervisor gave other guests meanwhile (``steal_s``), and what
the CPU seconds make on this machine's cores (``cpu_bound_s``: the wall time if every core
were busy throughout): the floor a tool that sends the same requests cannot beat.
``--registry-dir`` puts the registries' storage elsewhere (``/dev/shm``: the disk's share).
Before the first timed run the bench flushes the disk and waits ``--settle`` seconds (65 by default):
ext4 without a journal (this machine's root) skips every inode freed in the last 60 s each time it
allocates one, and a registry creates thousands of files and directories. Without the wait, the
clean-up of the bench before (a whole registry's tree) and this bench's own fleet upload slow
down whichever run comes first, the registries' system time by up to half.
Prints one JSON object. Usage: python bench/promote_bench.py [--images 200] [--latency-ms 5] [--repeat 1]
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

from common import RegistryLog, children_cpu, process_cpu, steal_seconds  # noqa: E402

from tests.integration.test_promote import write_lock_repo  # noqa: E402
from tests.support import KollaFleet, Proxy, Registry  # noqa: E402

CLI = Path(sys.executable).parent / "docker-kolla"
BUMPED = ("nova-api", "keystone")


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _run(cmd: list, env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


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


class Bench:
    """The registries of one run, each reached directly or through a latency Proxy."""

    def __init__(self, work: Path, latency_ms: float, storage: Path | None = None) -> None:
        self.work, self.latency_ms = work, latency_ms
        self.storage = storage or work
        self.registries: list = []
        self.proxies: list = []

    def registry(self, name: str) -> tuple[Registry, str, RegistryLog]:
        """A started registry, the host the tools use for it, and its counters."""
        reg = Registry(self.storage / name).start()
        self.registries.append(reg)
        host = reg.host
        if self.latency_ms:
            proxy = Proxy(reg.host, latency_ms=self.latency_ms).start()
            self.proxies.append(proxy)
            host = proxy.host
        return reg, host, RegistryLog(reg)

    def close(self) -> None:
        for p in self.proxies:
            p.stop()
        for r in self.registries:
            r.stop()


def measure(counters: tuple, fn, *args) -> tuple:
    """(what ``fn(*args)`` returned, the (source, destination) counters of its window with the
    CPU seconds of the tool and of each registry, load average before)."""
    load = _load()
    for c in counters:
        c.mark()
    before = [process_cpu(c.pid) for c in counters], children_cpu(), steal_seconds()
    result = fn(*args)
    used = [round(process_cpu(c.pid) - b, 2) for c, b in zip(counters, before[0])]
    tool = round(children_cpu() - before[1], 2)
    window = {name: c.read() for name, c in zip(("source", "destination"), counters)}
    window["cpu_s"] = {"tool": tool, "source_registry": used[0], "destination_registry": used[1]}
    window["steal_s"] = round(steal_seconds() - before[2], 2)
    window["cpu_bound_s"] = round((tool + sum(used)) / (os.cpu_count() or 1), 2)
    return result, window, load


def _median(values: list) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def settle(seconds: float) -> None:
    """Flush dirty inode tables, then wait out ext4's window on recently freed inodes (see above)."""
    os.sync()
    time.sleep(seconds)


def run(
    n: int, latency_ms: float, jobs: int, layer_size: int, repeat: int, registry_dir: str | None, wait: float
) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="promote-bench-") as tmp,
        tempfile.TemporaryDirectory(prefix="promote-bench-registries-", dir=registry_dir) as storage,
    ):
        work = Path(tmp)
        env = {**os.environ, "DOCKER_CONFIG": str(work / "docker-config"), "HOME": str(work)}
        bench = Bench(work, latency_ms, Path(storage))
        try:
            src, src_host, source = bench.registry("src")
            fleet = KollaFleet(src.host, namespace="kolla", layer_size=layer_size)
            images = fleet.generate(n)
            repo = write_lock_repo(work / "locks", fleet, {i: 1 for i in images}, source_host=src_host)

            settle(wait)
            cold = []
            for r in range(repeat):
                _, p_host, p_count = bench.registry(f"dst-promote-{r}")
                _, s_host, s_count = bench.registry(f"dst-skopeo-{r}")
                to_promote, to_skopeo = f"{p_host}/mirror", f"{s_host}/mirror"
                runs = {}
                for tool in ("promote", "skopeo") if r % 2 == 0 else ("skopeo", "promote"):
                    if tool == "promote":
                        runs[tool] = measure((source, p_count), promote, repo, to_promote, env, jobs)
                    else:
                        runs[tool] = measure(
                            (source, s_count), skopeo_sync, fleet, images, src_host, to_skopeo, work, env
                        )
                cold.append(runs)

            before = dict(fleet.pushed)
            for i, image in enumerate(BUMPED):
                fleet.rebuild(image, versions={"deb:openssl": f"1.1.0f-3+deb9u{10 + i}"})
            revisions = {i: (2 if i in BUMPED else 1) for i in images}
            write_lock_repo(repo, fleet, revisions, source_host=src_host, message="bump 2 images")
            (t_bump, bump_doc), bump_promote_req, load_bump = measure(
                (source, p_count), promote, repo, to_promote, env, jobs
            )
            t_bump_skopeo, bump_skopeo_req, _ = measure(
                (source, s_count), skopeo_sync, fleet, images, src_host, to_skopeo, work, env
            )
            expected = new_bytes(fleet, before, BUMPED)
            t_promote = _median([c["promote"][0][0] for c in cold])
            t_skopeo = _median([c["skopeo"][0] for c in cold])
            floor = _median([c["promote"][1]["cpu_bound_s"] for c in cold])
            last = cold[-1]
            return {
                "bench": "promote",
                "images": n,
                "latency_ms_each_way": latency_ms,
                "jobs": jobs,
                "counted_at": "the registries' access logs",
                "registry_storage": registry_dir or tempfile.gettempdir(),
                "settled_s": wait,
                "cpus": os.cpu_count(),
                "cold": {
                    "promote_s": round(t_promote, 2),
                    "skopeo_sync_s": round(t_skopeo, 2),
                    "ratio_skopeo_over_promote": round(t_skopeo / t_promote, 2),
                    "promote_cpu_bound_s": floor,
                    "ratio_promote_over_its_cpu_bound": round(t_promote / floor, 2),
                    "runs": [
                        {
                            "promote_s": round(c["promote"][0][0], 2),
                            "skopeo_sync_s": round(c["skopeo"][0], 2),
                            "ratio": round(c["skopeo"][0] / c["promote"][0][0], 2),
                            "load_average": [c["promote"][2], c["skopeo"][2]],
                            "promote_cpu_s": c["promote"][1]["cpu_s"],
                            "promote_cpu_bound_s": c["promote"][1]["cpu_bound_s"],
                            "skopeo_cpu_s": c["skopeo"][1]["cpu_s"],
                            "skopeo_cpu_bound_s": c["skopeo"][1]["cpu_bound_s"],
                            "steal_s": [c["promote"][1]["steal_s"], c["skopeo"][1]["steal_s"]],
                        }
                        for c in cold
                    ],
                    "promote_reported": last["promote"][0][1]["totals"],
                    "promote_requests": last["promote"][1],
                    "skopeo_requests": last["skopeo"][1],
                },
                "bump_2_images": {
                    "promote_s": round(t_bump, 2),
                    "skopeo_sync_s": round(t_bump_skopeo, 2),
                    "ratio_skopeo_over_promote": round(t_bump_skopeo / t_bump, 2),
                    "load_average": load_bump,
                    "promote_statuses": bump_doc["statuses"],
                    "promote_bytes_from_source": bump_promote_req["source"]["bytes_sent"],
                    "expected_new_layer_config_manifest_bytes": expected,
                    "skopeo_bytes_from_source": bump_skopeo_req["source"]["bytes_sent"],
                    "promote_reported": bump_doc["totals"],
                    "promote_requests": bump_promote_req,
                    "skopeo_requests": bump_skopeo_req,
                },
            }
        finally:
            bench.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=5, help="added each way by a proxy; 0: direct")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--layer-size", type=int, default=64 * 1024, help="incompressible bytes per image layer")
    parser.add_argument("--repeat", type=int, default=1, help="cold runs (fresh destinations), alternating order")
    parser.add_argument("--registry-dir", help="where the registries store their data (default: the temp dir)")
    parser.add_argument("--settle", type=float, default=65, help="seconds waited before the first timed run")
    args = parser.parse_args()
    result = run(
        args.images, args.latency_ms, args.jobs, args.layer_size, max(1, args.repeat), args.registry_dir, args.settle
    )
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
