"""Benchmark (issue 11): what signatures and attestations cost a lock, and promote carrying them.

One run, real registries behind counting proxies with latency:
1. cold `docker kolla lock` of an N-image fleet with 20% of the images signed (cosign
   simple signing, verified with a trusted key) and 10% with a DSSE attestation, vs the
   same fleet unsigned: wall time ratio and requests, the extra requests per signed image;
2. warm re-lock of the signed fleet: requests (target: one HEAD per image, as unsigned);
3. `docker kolla promote` of the signed fleet (carrying every signature) vs `skopeo sync`
   (which copies none): time and bytes read from the source.
Signatures come from the independent test signer (tests/support/signer.py).
Prints one JSON object. Usage: python bench/supply_bench.py [--images 200] [--latency-ms 25]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from common import lock_repo, plugin_env, timed

from tests.support import KollaFleet, Proxy, Registry
from tests.support.signer import KeyPair, Signer

SPDX = "https://spdx.dev/Document"


def counts(proxy: Proxy) -> dict:
    return {f"{m} {k}": c for (m, k), c in sorted(proxy.counts().items())}


def signed_fleet(host: str, n: int, key: KeyPair) -> tuple[KollaFleet, list, list, list]:
    fleet = KollaFleet(host, namespace="signed")
    images = fleet.generate(n)
    signer = Signer(host)
    signed = images[: max(1, n // 5)]
    attested = images[: max(1, n // 10)]
    for image in signed:
        signer.sign(fleet.repo(image), fleet.pushed[image].digest, key)
    for image in attested:
        signer.attest(fleet.repo(image), fleet.pushed[image].digest, key, SPDX, {"spdxVersion": "SPDX-2.3"})
    return fleet, images, signed, attested


def trusted(repo: Path, env: dict, key: KeyPair) -> None:
    (repo / "keys").mkdir()
    (repo / "keys" / "kolla.pub").write_bytes(key.public_pem)
    path = repo / "lockfiles" / "channels.toml"
    path.write_text(path.read_text() + '\n[channels.ocata.trust]\nkeys = ["keys/kolla.pub"]\n')
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "trust"], check=True, env=env)


def cold_lock(proxy: Proxy, repo: Path, env: dict) -> tuple[float, dict, int]:
    proxy.reset_counts()
    elapsed = timed(["docker", "kolla", "lock", "ocata"], env=env, cwd=repo)
    return elapsed, counts(proxy), proxy.count()


def run(n: int, latency_ms: float, promote_latency_ms: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="kolla-supply-bench-") as tmp:
        work = Path(tmp)
        regs = {name: Registry(work / name).start() for name in ("src", "dst-promote", "dst-skopeo")}
        proxy = Proxy(regs["src"].host, latency_ms=latency_ms).start()
        try:
            key = KeyPair.generate()
            plain = KollaFleet(regs["src"].host, namespace="plain")
            plain_images = plain.generate(n)
            fleet, images, signed, attested = signed_fleet(regs["src"].host, n, key)
            # each cold lock twice, alternating which goes first, fresh caches and lock repositories
            # every time; the faster of the two counts (the machine is shared)
            times: dict = {"plain": [], "signed": []}
            for rep, order in enumerate((("plain", "signed"), ("signed", "plain"))):
                for which in order:
                    env = plugin_env(work / f"{which}-{rep}")
                    names = plain_images if which == "plain" else images
                    repo = lock_repo(work / f"locks-{which}-{rep}", env, proxy.host, which, names)
                    if which == "signed":
                        trusted(repo, env, key)
                    elapsed, seen, total = cold_lock(proxy, repo, env)
                    times[which].append(elapsed)
                    if which == "plain":
                        c_plain, r_plain = seen, total
                    else:
                        c_signed, r_signed, repo_b, env_b = seen, total, repo, env
            t_plain, t_signed = min(times["plain"]), min(times["signed"])
            lock = (repo_b / "lockfiles" / "ocata.toml").read_text()
            verified = lock.count("verified-by = ")

            proxy.reset_counts()
            t_warm = timed(["docker", "kolla", "lock", "ocata"], env=env_b, cwd=repo_b)
            warm = counts(proxy)

            # promote (carrying signatures) vs skopeo sync (copies none), both through latency
            proxy.latency_ms = promote_latency_ms
            dst_p = Proxy(regs["dst-promote"].host, latency_ms=promote_latency_ms).start()
            dst_s = Proxy(regs["dst-skopeo"].host, latency_ms=promote_latency_ms).start()
            try:
                proxy.reset_counts()
                start = time.perf_counter()
                proc = subprocess.run(
                    ["docker", "kolla", "promote", "ocata", "--to", dst_p.host, "--format", "json"],
                    env=env_b,
                    cwd=repo_b,
                    capture_output=True,
                    text=True,
                )
                t_promote = time.perf_counter() - start
                if proc.returncode != 0:
                    raise SystemExit(f"bench: promote exited {proc.returncode}:\n{proc.stderr[-2000:]}")
                carried = sum(i.get("referrers", 0) for i in json.loads(proc.stdout)["images"])
                promote_bytes = proxy.bytes_sent
                proxy.reset_counts()
                spec = {proxy.host: {"tls-verify": False, "images": {fleet.repo(i): ["ocata"] for i in images}}}
                (work / "sync.yaml").write_text(json.dumps(spec))
                cmd = ["skopeo", "sync", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false"]
                t_skopeo = timed([*cmd, str(work / "sync.yaml"), f"{dst_s.host}/mirror"], env=env_b)
                skopeo_bytes = proxy.bytes_sent
            finally:
                dst_p.stop()
                dst_s.stop()
            return {
                "bench": "supply",
                "images": n,
                "signed_images": len(signed),
                "attested_images": len(attested),
                "latency_ms_each_way": latency_ms,
                "cold_lock_unsigned_s": round(t_plain, 2),
                "cold_lock_signed_s": round(t_signed, 2),
                "cold_lock_runs_s": {k: [round(t, 2) for t in v] for k, v in times.items()},
                "ratio_signed_over_unsigned": round(t_signed / t_plain, 3),
                "cold_requests_unsigned": c_plain,
                "cold_requests_signed": c_signed,
                "extra_requests_per_signed_image": round((r_signed - r_plain) / len(signed), 2),
                "signatures_verified_in_lock": verified,
                "warm_relock_signed_s": round(t_warm, 2),
                "warm_requests_signed": warm,
                "promote_latency_ms_each_way": promote_latency_ms,
                "promote_with_signatures_s": round(t_promote, 2),
                "promote_manifests_carried": carried,
                "promote_bytes_from_source": promote_bytes,
                "skopeo_sync_s": round(t_skopeo, 2),
                "skopeo_bytes_from_source": skopeo_bytes,
                "ratio_skopeo_over_promote": round(t_skopeo / t_promote, 2),
            }
        finally:
            proxy.stop()
            for reg in regs.values():
                reg.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=25)
    parser.add_argument("--promote-latency-ms", type=float, default=5)
    args = parser.parse_args()
    print(json.dumps(run(args.images, args.latency_ms, args.promote_latency_ms), sort_keys=True))


if __name__ == "__main__":
    main()
