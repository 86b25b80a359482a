"""Benchmark (issues 2, 14): locking a fleet, behind ``--latency-ms`` each way (a Proxy adds
it) or, with 0, straight to the registry (requests counted from its own access log, so
nothing sits between the tools and the registry on loopback).

Measured in one run, against the same registry (and proxy):
- cold `docker kolla lock` (empty layer cache) vs a sequential `skopeo inspect` loop and
  `xargs -P8 skopeo inspect` over the same tags;
- warm re-lock (nothing changed): wall time, manifest GETs (target 0) and blob GETs;
- bytes downloaded by the cold lock vs the fleet's unique layer + config bytes;
- peak RSS of both locks, and the warm re-lock next to its network floor: the same
  HEADs over 32 kept-alive connections from a bare client on the product's HTTP client
  (common.head_floor), measured right after it, in ``--rounds`` pairs (the ratio is the
  median of the pairs' ratios: on a shared machine one pair can be off by 2x either way),
  with the load average; and the same loop on a requests session (the floor earlier runs
  used, slower by requests' CPU per request).
Prints one JSON object. Usage: python bench/lock_bench.py [--images 200] [--latency-ms 25]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from common import ProxyLog, RegistryLog, head_floor, lock_repo, plugin_env, requests_head_floor, timed, timed_rss

from tests.support import KollaFleet, Proxy, Registry


def unique_bytes(fleet: KollaFleet, images: list) -> int:
    seen: dict = {}
    for image in images:
        pushed = fleet.pushed[image]
        seen[pushed.config_digest] = len(pushed.config_bytes)
        seen[pushed.digest] = len(pushed.manifest_bytes)  # each manifest is fetched once too
        for layer in pushed.layers:
            seen[layer.digest] = layer.size
    return sum(seen.values())


def run(n: int, latency_ms: float, sequential: bool = True, rounds: int = 3) -> dict:
    with tempfile.TemporaryDirectory(prefix="kolla-bench-") as tmp:
        work = Path(tmp)
        registry = Registry(work / "registry").start()
        proxy = Proxy(registry.host, latency_ms=latency_ms).start() if latency_ms else None
        front = proxy or registry  # what the tools talk to
        traffic = ProxyLog(proxy) if proxy else RegistryLog(registry)
        try:
            fleet = KollaFleet(registry.host, namespace="kolla")
            images = fleet.generate(n)
            env = plugin_env(work)
            repo = lock_repo(work / "locks", env, front.host, "kolla", images)
            refs = [f"docker://{front.host}/kolla/{fleet.name(i)}:ocata" for i in images]
            listing = work / "refs.txt"
            listing.write_text("\n".join(refs) + "\n")

            skopeo_seq = (
                timed(
                    f'while read r; do skopeo inspect --tls-verify=false "$r" >/dev/null; done < {listing}', shell=True
                )
                if sequential
                else None
            )
            skopeo_par = timed(f"xargs -P8 -n1 skopeo inspect --tls-verify=false < {listing} >/dev/null", shell=True)

            traffic.mark()
            cold, cold_rss = timed_rss(["docker", "kolla", "lock", "ocata"], env=env, cwd=repo)
            cold_traffic = traffic.read()
            cold_bytes, cold_counts = cold_traffic["bytes_sent"], cold_traffic["by_kind"]

            urls = [f"{front.url}/v2/kolla/{fleet.name(i)}/manifests/ocata" for i in images]
            pairs, warm_rss, warm_counts, requests_floors = [], 0, {}, []
            for _ in range(rounds):
                traffic.mark()
                warm, rss = timed_rss(["docker", "kolla", "lock", "ocata"], env=env, cwd=repo)
                warm_counts = traffic.read()["by_kind"]
                warm_rss = max(warm_rss, rss)
                pairs.append((warm, head_floor(urls)))
                requests_floors.append(requests_head_floor(urls))
            warm = statistics.median(w for w, _ in pairs)
            floor = statistics.median(f for _, f in pairs)
            ratio = statistics.median(w / f for w, f in pairs)
            uniq = unique_bytes(fleet, images)
            return {
                "bench": "lock",
                "images": n,
                "latency_ms_each_way": latency_ms,
                "cold_lock_s": round(cold, 2),
                "skopeo_sequential_s": round(skopeo_seq, 2) if skopeo_seq else None,
                "lockfile_bytes": (repo / "lockfiles" / "ocata.toml").stat().st_size,
                "skopeo_xargs_p8_s": round(skopeo_par, 2),
                "ratio_skopeo_sequential_over_lock": round(skopeo_seq / cold, 1) if skopeo_seq else None,
                "ratio_skopeo_p8_over_lock": round(skopeo_par / cold, 2),
                "cold_requests": cold_counts,
                "cold_bytes_downloaded": cold_bytes,
                "fleet_unique_blob_and_manifest_bytes": uniq,
                "ratio_bytes_downloaded_over_unique": round(cold_bytes / uniq, 3),
                "warm_relock_s": round(warm, 2),
                "cold_lock_peak_rss_mb": cold_rss,
                "warm_relock_peak_rss_mb": warm_rss,
                "keepalive_head_floor_s": round(floor, 2),
                "ratio_warm_relock_over_floor": round(ratio, 2),
                "requests_head_floor_s": round(statistics.median(requests_floors), 2),
                "ratio_warm_relock_over_requests_floor": round(
                    statistics.median(w / f for (w, _), f in zip(pairs, requests_floors)), 2
                ),
                "warm_relock_and_floor_pairs_s": [[round(w, 2), round(f, 2)] for w, f in pairs],
                "load_average_1min": round(os.getloadavg()[0], 1),
                "warm_manifest_gets": warm_counts.get("GET manifest", 0),
                "warm_manifest_heads": warm_counts.get("HEAD manifest", 0),
                "warm_blob_gets": warm_counts.get("GET blob", 0),
                "front": "proxy" if proxy else "registry",
            }
        finally:
            if proxy:
                proxy.stop()
            registry.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=25)
    parser.add_argument("--no-sequential", action="store_true", help="skip the sequential skopeo loop (big fleets)")
    parser.add_argument("--rounds", type=int, default=7, help="warm re-lock + floor pairs (medians of a noisy machine)")
    args = parser.parse_args()
    print(json.dumps(run(args.images, args.latency_ms, not args.no_sequential, args.rounds), sort_keys=True))


if __name__ == "__main__":
    main()
