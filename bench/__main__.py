"""`make bench`: every benchmark, side by side with the tool a user would otherwise use.

Runs each bench script in its own process (one JSON line each), stores the
results in bench/results/, and prints the ratios the README quotes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCHES = [
    ("history", ["history_bench.py", "--commits", "1000"]),
    ("lock", ["lock_bench.py", "--images", "200", "--latency-ms", "25"]),
    ("lockfile", ["lockfile_bench.py", "--images", "2000"]),
    ("lock2000", ["lock_bench.py", "--images", "2000", "--latency-ms", "0", "--no-sequential"]),
    ("promote", ["promote_bench.py", "--images", "200"]),
    # 5 runs: on loopback the registries' CPU for the same requests moves from run to run
    ("promote-loopback", ["promote_bench.py", "--images", "200", "--latency-ms", "0", "--repeat", "5"]),
    # the same with the registries' storage in memory: what the disk's fsyncs cost each tool
    (
        "promote-loopback-tmpfs",
        [
            "promote_bench.py",
            *("--images", "200", "--latency-ms", "0", "--repeat", "5", "--registry-dir", "/dev/shm", "--settle", "0"),
        ],
    ),
    ("pull", ["pull_bench.py", "--images", "50", "--present", "200"]),
    ("scan", ["scan_throughput.py"]),
    ("supply", ["supply_bench.py", "--images", "200", "--latency-ms", "25"]),
    ("attached", ["attached_bench.py", "--images", "100", "--latency-ms", "25", "--layer-mb", "2"]),
    ("discover", ["discover_bench.py", "--images", "20", "--latency-ms", "25"]),
]


def main(argv: list) -> int:
    wanted = set(argv) or {name for name, _ in BENCHES}
    RESULTS.mkdir(exist_ok=True)
    failed = 0
    for name, cmd in BENCHES:
        if name not in wanted:
            continue
        print(f"== bench {name}: {' '.join(cmd)}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, *cmd], cwd=HERE, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            failed += 1
            continue
        out = proc.stdout.strip()
        result = json.loads(out[out.index("{") :])  # one JSON object, on one line or indented
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(json.dumps(result, indent=2, sort_keys=True))
        print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
