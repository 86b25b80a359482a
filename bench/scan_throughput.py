"""Benchmark: scan_layer throughput and memory on a generated gzip layer.

Usage: python bench/scan_throughput.py [--size BYTES] [--files-kib KIB]

Writes a gzip tar of about --size bytes of content (default 1 GiB) to a temp dir,
scans it with scan_layer in a child process (so the peak RSS is the scan's alone),
times `tar -tzf` on the same file, and prints one JSON line. Not part of the tests.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import time

CHUNK = 1 << 20


def generate(path: str, size: int, file_kib: int) -> int:
    """Write the layer; returns the uncompressed tar content bytes of its files."""
    rng = random.Random(0)
    pool = bytes(rng.choice(b"abcdefghijklmnop ") for _ in range(4 * CHUNK))  # ~2:1 under gzip
    file_size = file_kib * 1024
    status = b"".join(f"Package: pkg{i}\nStatus: install ok installed\nVersion: 1.{i}\n\n".encode() for i in range(500))
    written = 0
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        _add(tar, "var/lib/dpkg/status", status)
        for i in range(200):
            meta = f"Metadata-Version: 2.1\nName: proj{i}\nVersion: 2.{i}\n".encode()
            _add(tar, f"usr/lib/python3/dist-packages/proj{i}-2.{i}.dist-info/METADATA", meta)
        index = 0
        while written < size:
            start = rng.randrange(0, len(pool) - file_size)
            _add(tar, f"usr/share/bench/{index // 1000}/f{index}", pool[start : start + file_size])
            written += file_size
            index += 1
    return written


def _inflated_size(path: str) -> int:
    """Bytes of tar inside the gzip file (the 'decompressed data' the rates are over)."""
    total = 0
    with gzip.open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            total += len(block)
    return total


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def scan_child(path: str) -> None:
    """In the child: scan the file in 1 MiB chunks, print seconds, entries and peak RSS."""
    from docker_kolla.core.manifest import OCI_LAYER_GZIP
    from docker_kolla.scan.layers import scan_layer
    from docker_kolla.scan.merge import merge_layers

    def chunks():
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                yield block

    start = time.perf_counter()
    facts = scan_layer(chunks(), OCI_LAYER_GZIP)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "entries": len(merge_layers([facts])), "peak_rss_kib": peak_kib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1 << 30, help="bytes of file content (default 1 GiB)")
    parser.add_argument("--files-kib", type=int, default=64, help="size of each generated file")
    parser.add_argument("--scan", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scan:
        scan_child(args.scan)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "layer.tar.gz")
        generate(path, args.size, args.files_kib)
        tar_bytes, compressed = _inflated_size(path), os.path.getsize(path)
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        child = subprocess.run(
            [sys.executable, __file__, "--scan", path], capture_output=True, text=True, check=True, env=env
        )
        scan = json.loads(child.stdout)
        start = time.perf_counter()
        subprocess.run(["tar", "-tzf", path], stdout=subprocess.DEVNULL, check=True)
        tar_seconds = time.perf_counter() - start
    mib = tar_bytes / (1 << 20)
    print(
        json.dumps(
            {
                "tar_mib": round(mib, 1),
                "compressed_mib": round(compressed / (1 << 20), 1),
                "scan_seconds": round(scan["seconds"], 2),
                "scan_mib_s": round(mib / scan["seconds"], 1),
                "tar_tzf_seconds": round(tar_seconds, 2),
                "tar_tzf_mib_s": round(mib / tar_seconds, 1),
                "scan_peak_rss_mib": round(scan["peak_rss_kib"] / 1024, 1),
                "entries_found": scan["entries"],
            }
        )
    )


if __name__ == "__main__":
    main()
