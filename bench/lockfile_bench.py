"""Benchmark (issue 14): the TOML side of re-locking a 2,000-image lock of ~270 packages each.

A re-lock that changes 5 images reads the base lockfile, writes the new one and
checks it reads back. Each way runs in its own process (peak RSS is per process):
- incremental: LockReader.lock (each image parsed once), LockReader.dumps (only the
  5 changed images rendered), read-back parsing only those 5;
- full: lockfile.loads, lockfile.dumps (every image rendered), lockfile.loads again.
Prints one JSON object. Usage: python bench/lockfile_bench.py [--images 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import timed_rss  # noqa: E402
from history_gen import _bump, _entry  # noqa: E402

from docker_kolla.core import lockfile  # noqa: E402
from docker_kolla.core.lockfile import Lockfile  # noqa: E402


def relock(path: Path, how: str) -> None:
    """One re-lock's TOML work on the lockfile at ``path`` (in this process)."""
    from docker_kolla.core.locktext import LockReader
    from docker_kolla.ops.common import parse_lock

    data = path.read_bytes()
    rng = random.Random(2)
    if how == "incremental":
        reader = LockReader(parse_lock, keep_entries=True)
        current = reader.lock(data, str(path))
    else:
        current = parse_lock(data, str(path))
    new = current
    for name in rng.sample(sorted(current.images), 5):
        new = new.with_entry(_bump(rng, new.images[name]))
    if how == "incremental":
        text = reader.dumps(new)
        assert reader.lock(text, str(path)) == new
    else:
        text = lockfile.dumps(new).encode()
        assert lockfile.loads(text.decode(), str(path)) == new


def main(argv: list) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--relock", nargs=2, metavar=("PATH", "HOW"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.relock:
        relock(Path(args.relock[0]), args.relock[1])
        return 0
    with tempfile.TemporaryDirectory(prefix="kolla-lockfile-") as tmp:
        path = Path(tmp) / "ocata.toml"
        rng = random.Random(1)
        lock = Lockfile("ocata", {f"image-{i:04d}": _entry(rng, f"image-{i:04d}", 270) for i in range(args.images)})
        path.write_bytes(lockfile.dumps(lock).encode())
        del lock
        out = {"images": args.images, "lockfile_bytes": path.stat().st_size}
        env = dict(os.environ, PYTHONPATH=str(HERE.parent))
        for how in ("incremental", "full"):
            seconds, rss = timed_rss([sys.executable, __file__, "--relock", str(path), how], env=env)
            out[f"{how}_s"], out[f"{how}_peak_rss_mb"] = round(seconds, 2), rss
        baseline, _ = timed_rss([sys.executable, "-c", "import docker_kolla.ops.common"], env=env)
        out["python_start_s"] = round(baseline, 2)
        out["ratio_full_over_incremental_s"] = round(out["full_s"] / out["incremental_s"], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
