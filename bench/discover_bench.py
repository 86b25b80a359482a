"""Benchmark (issue 11): discovery of one image's referrers, its requests one after another
(width 1) vs in parallel (width 4, the default), in the same run.

Multi-arch images (an OCI index with amd64 and arm64 and BuildKit attestations), the index
and each platform signed (cosign simple signing), behind a real registry with latency:
through the referrers-API front (one API request per digest) and through a plain latency
proxy (the tag schema: one tags/list per image, then the tags that exist). Images are
discovered one at a time so the figure is the per-image latency; requests are counted at
the front/proxy, and both widths must find and verify the same referrers.
Prints one JSON object. Usage: python bench/discover_bench.py [--images 20] [--latency-ms 25]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)

from docker_kolla.adapters.auth import Authenticator
from docker_kolla.adapters.credentials import CredentialStore
from docker_kolla.adapters.http import make_session
from docker_kolla.adapters.registry import RegistryClient
from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.core.trust import load_key
from docker_kolla.ops.discover import Discoverer
from tests.support import KollaFleet, Proxy, Registry
from tests.support.referrers_front import ReferrersFront
from tests.support.signer import KeyPair, Signer


def client(work: Path, host: str) -> RegistryClient:
    session = make_session("discover-bench", pool_size=16)
    auth = Authenticator(session, CredentialStore.load(work / "docker-config", {}))
    return RegistryClient(session, auth, insecure=(host,))


def discover_all(host: str, fleet: KollaFleet, images: list, key, width: int, work: Path) -> tuple[float, list]:
    found = []
    with client(work, host) as c:
        d = Discoverer(c, (key,), width=width)
        start = time.perf_counter()
        for image in images:
            ref = ImageRef.from_parts(host, fleet.repo(image))
            kids = {Platform.parse(p): Digest.parse(k.digest) for p, k in fleet.children[image].items()}
            found.append(d.discover(ref, Digest.parse(fleet.pushed[image].digest), kids))
        elapsed = time.perf_counter() - start
    return elapsed, [tuple((r.subject, r.digest, r.verified_by) for r in f) for f in found]


def run(n: int, latency_ms: float) -> dict:
    out: dict = {"bench": "discover", "images": n, "latency_ms_each_way": latency_ms}
    with tempfile.TemporaryDirectory(prefix="kolla-discover-bench-") as tmp:
        work = Path(tmp)
        reg = Registry(work / "reg").start()
        try:
            pair = KeyPair.generate()
            key = load_key("kolla.pub", pair.public_pem)
            fleet = KollaFleet(reg.host, namespace="multi")
            images = [f"svc-{i:03d}" for i in range(n)]
            signer = Signer(reg.host)
            for image in images:
                pushed = fleet.multiarch(image)
                signer.sign(fleet.repo(image), pushed.digest, pair)
                for kid in fleet.children[image].values():
                    signer.sign(fleet.repo(image), kid.digest, pair)
            for place, front in (
                ("api", ReferrersFront(reg, latency_ms=latency_ms)),
                ("tag-schema", Proxy(reg.host, latency_ms=latency_ms)),
            ):
                front.start()
                try:
                    row: dict = {}
                    results = {}
                    for rep in range(2):  # alternate the order; the faster of two runs counts
                        for width in (1, 4) if rep == 0 else (4, 1):
                            front.reset_counts()
                            elapsed, found = discover_all(front.host, fleet, images, key, width, work / f"{width}")
                            row.setdefault(f"width_{width}_runs_s", []).append(round(elapsed, 3))
                            row[f"width_{width}_requests"] = front.count()
                            results[width] = found
                    assert results[1] == results[4], "both widths must find the same referrers"
                    verified = sum(1 for f in results[4] for r in f if r[2])
                    t1, t4 = min(row["width_1_runs_s"]), min(row["width_4_runs_s"])
                    row.update(
                        sequential_s=t1,
                        parallel_s=t4,
                        ratio_sequential_over_parallel=round(t1 / t4, 2),
                        signatures_verified=verified,
                        per_image_ms_parallel=round(1000 * t4 / n, 1),
                    )
                    out[place] = row
                finally:
                    front.stop()
        finally:
            reg.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=25)
    args = parser.parse_args()
    print(json.dumps(run(args.images, args.latency_ms), sort_keys=True))


if __name__ == "__main__":
    main()
