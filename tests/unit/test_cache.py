"""LayerCache on a real directory: round trip, damage detection, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

from docker_kolla.adapters.cache import LayerCache, default_cache_dir
from docker_kolla.core.digest import Digest
from docker_kolla.scan import layers
from docker_kolla.scan.layers import LayerFacts

DIGEST = Digest.of(b"layer one")


def facts(n: int = 0) -> LayerFacts:
    files = {
        f"usr/lib/python3/dist-packages/p{i}-1.0.dist-info/METADATA": {f"python:p{i}": f"1.{n}"} for i in range(200)
    }
    return LayerFacts(files=files, whiteouts=["var/lib/rpm"], opaque=["var/lib/dpkg"], notes=["n"])


def test_round_trip_and_miss(tmp_path):
    cache = LayerCache(tmp_path)
    assert cache.get(DIGEST) is None
    cache.put(DIGEST, facts())
    assert cache.get(DIGEST) == facts()
    assert cache.get(Digest.of(b"other")) is None


def _entry(tmp_path: Path) -> Path:
    return next((tmp_path / "layers").glob("sha256/*.json"))


def test_corrupted_entry_is_detected(tmp_path):
    cache = LayerCache(tmp_path)
    cache.put(DIGEST, facts())
    path = _entry(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("1.0", "6.6", 1))  # body edited, checksum not
    assert cache.get(DIGEST) is None
    path.write_text(text[: len(text) // 2])  # truncated
    assert cache.get(DIGEST) is None
    cache.put(DIGEST, facts())  # a rescan repairs it
    assert cache.get(DIGEST) == facts()


def test_other_scanner_version_or_digest_is_ignored(tmp_path, monkeypatch):
    cache = LayerCache(tmp_path)
    cache.put(DIGEST, facts())
    monkeypatch.setattr(layers, "SCANNER_VERSION", layers.SCANNER_VERSION + 1)
    assert cache.get(DIGEST) is None
    monkeypatch.undo()
    path = _entry(tmp_path)
    envelope = json.loads(path.read_text())
    envelope["digest"] = str(Digest.of(b"elsewhere"))
    path.write_text(json.dumps(envelope))
    assert cache.get(DIGEST) is None


def _writer(root: str, n: int, rounds: int) -> None:
    cache = LayerCache(Path(root))
    for _ in range(rounds):
        cache.put(DIGEST, facts(n))
        got = cache.get(DIGEST)
        assert got in (facts(1), facts(2)), "a reader saw a partial entry"


def test_two_processes_writing_the_same_entry(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), n, 200)) for n in (1, 2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0]
    assert LayerCache(tmp_path).get(DIGEST) in (facts(1), facts(2))
    assert [p.name for p in (tmp_path / "layers" / "sha256").iterdir()] == [f"{DIGEST.hex}.json"]


def test_prune(tmp_path):
    cache = LayerCache(tmp_path)
    old, new = Digest.of(b"old"), Digest.of(b"new")
    cache.put(old, facts())
    cache.put(new, facts())
    stale = time.time() - 10 * 86400
    os.utime(cache._path(old), (stale, stale))
    assert cache.prune(older_than_days=5) == 1
    assert cache.get(old) is None and cache.get(new) == facts()
    assert cache.prune() == 1
    assert LayerCache(tmp_path / "absent").prune() == 0


def test_default_cache_dir():
    assert default_cache_dir({"DOCKER_KOLLA_CACHE": "/c", "XDG_CACHE_HOME": "/x"}) == Path("/c")
    assert default_cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == Path("/x/docker-kolla")
    assert default_cache_dir({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == Path("/h/.cache/docker-kolla")
    assert default_cache_dir({"HOME": "/h"}) == Path("/h/.cache/docker-kolla")


def test_entries_torn_by_a_crash_read_as_misses(tmp_path):
    """Entries are written without an fsync: after a crash one may be empty, zero-filled
    (data blocks never written) or cut short anywhere. Each is a miss, never an error,
    and the next put repairs it."""
    cache = LayerCache(tmp_path)
    cache.put(DIGEST, facts())
    path = _entry(tmp_path)
    whole = path.read_bytes()
    torn = [b"", b"\0" * len(whole), whole[:1], whole[: len(whole) - 2]]
    torn.append(whole[:4096] + b"\0" * (len(whole) - 4096))  # the first page written, the rest not
    envelope = json.loads(whole)
    envelope["body"] = envelope["body"][: len(envelope["body"]) // 3]  # valid JSON, body cut short
    torn.append(json.dumps(envelope).encode())
    for data in torn:
        path.write_bytes(data)
        assert cache.get(DIGEST) is None, data[:80]
    cache.put(DIGEST, facts())
    assert cache.get(DIGEST) == facts()


def test_put_leaves_no_temp_file_and_prune_removes_stale_ones(tmp_path):
    cache = LayerCache(tmp_path)
    cache.put(DIGEST, facts())
    folder = tmp_path / "layers" / "sha256"
    assert [p.name for p in folder.iterdir()] == [f"{DIGEST.hex}.json"]
    left = folder / f".{DIGEST.hex}.json.0123456789ab.tmp"  # what an interrupted write leaves
    left.write_bytes(b"{")
    fresh = folder / f".{DIGEST.hex}.json.ba9876543210.tmp"  # maybe a write in progress: kept
    fresh.write_bytes(b"{")
    stale = time.time() - 2 * 86400
    os.utime(left, (stale, stale))
    assert cache.prune(older_than_days=30) == 0
    assert not left.exists() and fresh.exists()
    assert cache.get(DIGEST) == facts()
