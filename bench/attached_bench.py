"""Benchmark (issue 11): a consumer's cold lock from signed attached manifestos vs from the layers.

One run, a real registry behind a counting proxy with latency. A publisher locks an
N-image fleet and attaches each manifesto signed with its key (`attach --sign-key`).
A consumer trusting that key then cold-locks the same fleet (fresh lock repository,
empty layer cache) twice each way, alternating which goes first:
- `lock --trust-attached-manifesto`: manifests, configs, discovery and the signed
  manifesto artifact, no layer;
- `lock`: every layer read and scanned (the attached manifesto is read and compared).
Prints one JSON object: wall times (the faster of two), their ratio, requests by kind,
bytes sent by the registry, and whether the two lockfiles are equal (they must be).
Usage: python bench/attached_bench.py [--images 100] [--latency-ms 25] [--layer-mb 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from common import lock_repo, plugin_env, timed

from tests.support import KollaFleet, Proxy, Registry
from tests.support.signer import KeyPair


def counts(proxy: Proxy) -> dict:
    return {f"{m} {k}": c for (m, k), c in sorted(proxy.counts().items())}


def trusting(repo: Path, env: dict, key: KeyPair) -> None:
    (repo / "keys").mkdir()
    (repo / "keys" / "kolla.pub").write_bytes(key.public_pem)
    path = repo / "lockfiles" / "channels.toml"
    path.write_text(path.read_text() + '\n[channels.ocata.trust]\nkeys = ["keys/kolla.pub"]\n')
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "trust"], check=True, env=env)


def run(n: int, latency_ms: float, layer_mb: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="kolla-attached-bench-") as tmp:
        work = Path(tmp)
        reg = Registry(work / "registry").start()
        proxy = Proxy(reg.host, latency_ms=latency_ms).start()
        try:
            key = KeyPair.generate()
            # each image gets a layer of its own of layer_mb incompressible bytes (a service layer)
            fleet = KollaFleet(reg.host, namespace="kolla", layer_size=int(layer_mb * 1024 * 1024))
            images = fleet.generate(n)
            env = plugin_env(work / "publisher")
            publisher = lock_repo(work / "publisher-locks", env, reg.host, "kolla", images)
            timed(["docker", "kolla", "lock", "ocata"], env=env, cwd=publisher)
            (work / "sign.key").write_bytes(key.private_pem())
            t_attach = timed(
                ["docker", "kolla", "attach", "ocata", "--sign-key", str(work / "sign.key")], env=env, cwd=publisher
            )

            times: dict = {"trusted": [], "scanned": []}
            seen: dict = {}
            locks: dict = {}
            for rep, order in enumerate((("trusted", "scanned"), ("scanned", "trusted"))):
                for which in order:
                    env = plugin_env(work / f"{which}-{rep}")  # its own empty layer cache
                    repo = lock_repo(work / f"locks-{which}-{rep}", env, proxy.host, "kolla", images)
                    trusting(repo, env, key)
                    args = ["--trust-attached-manifesto"] if which == "trusted" else []
                    proxy.reset_counts()
                    times[which].append(timed(["docker", "kolla", "lock", "ocata", *args], env=env, cwd=repo))
                    seen[which] = (counts(proxy), proxy.count(), proxy.bytes_sent)
                    locks[which] = (repo / "lockfiles" / "ocata.toml").read_text()
            t_trusted, t_scanned = min(times["trusted"]), min(times["scanned"])
            return {
                "bench": "attached",
                "images": n,
                "latency_ms_each_way": latency_ms,
                "own_layer_mb_per_image": layer_mb,
                "attach_signed_s": round(t_attach, 2),
                "cold_lock_trusted_s": round(t_trusted, 2),
                "cold_lock_scanned_s": round(t_scanned, 2),
                "cold_lock_runs_s": {k: [round(t, 2) for t in v] for k, v in times.items()},
                "ratio_trusted_over_scanned": round(t_trusted / t_scanned, 3),
                "requests_trusted": seen["trusted"][0],
                "requests_scanned": seen["scanned"][0],
                "requests_total_trusted": seen["trusted"][1],
                "requests_total_scanned": seen["scanned"][1],
                "bytes_from_registry_trusted": seen["trusted"][2],
                "bytes_from_registry_scanned": seen["scanned"][2],
                "lockfiles_equal": locks["trusted"] == locks["scanned"],
            }
        finally:
            proxy.stop()
            reg.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=25)
    parser.add_argument("--layer-mb", type=float, default=2)
    args = parser.parse_args()
    print(json.dumps(run(args.images, args.latency_ms, args.layer_mb), sort_keys=True))


if __name__ == "__main__":
    main()
