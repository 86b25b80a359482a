"""The repository holds source, tests, fixtures and docs: no build output, nothing outside it read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_BYTES = 1 << 20
BUILD_OUTPUT = re.compile(
    r"(^|/)(\.venv|venv|__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|build|dist)/|\.egg-info(/|$)|\.pyc$"
)
# Text that would make the repository read or cite the briefing folder beside the checkout
# (spelled in pieces so that this file does not match itself).
BESIDE = "sha" + "red"
OUTSIDE = re.compile(rf"\.\./{BESIDE}/|(?<![\w.-]){BESIDE}/")
# A merge committed with its conflict left in (spelled so that this file does not match itself).
CONFLICT = re.compile("^(" + "<" * 7 + "|" + ">" * 7 + ") |^" + "=" * 7 + "$", re.M)


def tracked() -> list[str]:
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True)
    return [p for p in out.stdout.decode().split("\0") if p]


def test_no_build_output_is_tracked():
    bad = [p for p in tracked() if BUILD_OUTPUT.search(p)]
    assert bad == [], f"build output in git: {bad[:10]}"


def test_large_files_live_only_under_tests_fixtures():
    big = [
        p
        for p in tracked()
        if (ROOT / p).is_file() and (ROOT / p).stat().st_size > MAX_BYTES and not p.startswith("tests/fixtures/")
    ]
    assert big == [], f"files over 1 MiB outside tests/fixtures/: {big}"


def texts():
    """(path, text) of every tracked text file outside tests/fixtures/."""
    for p in tracked():
        path = ROOT / p
        if p.startswith("tests/fixtures/") or not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        try:
            yield p, path.read_text()
        except UnicodeDecodeError:
            continue


def test_nothing_reads_or_cites_a_path_outside_the_repository():
    hits = []
    for p, text in texts():
        hits += [f"{p}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert hits == [], f"paths outside the repository: {hits}"


def test_no_merge_conflict_is_committed():
    hits = [f"{p}:{text.count(chr(10), 0, m.start()) + 1}" for p, text in texts() for m in CONFLICT.finditer(text)]
    assert hits == [], f"conflict markers: {hits}"


def test_the_checks_catch_what_they_name():
    assert BUILD_OUTPUT.search(".venv/bin/python") and BUILD_OUTPUT.search("docker_kolla/__pycache__/x.pyc")
    assert BUILD_OUTPUT.search("docker_kolla.egg-info/PKG-INFO") and not BUILD_OUTPUT.search("docker_kolla/build.py")
    assert OUTSIDE.search(f"see ../{BESIDE}/DESIGN.md") and OUTSIDE.search(f"({BESIDE}/kolla/ocata-images.tsv)")
    assert not OUTSIDE.search(f"docker_kolla/adapters/{BESIDE}_session.py")
    assert CONFLICT.search("a\n" + "<" * 7 + " HEAD\nb\n") and CONFLICT.search("=" * 7 + "\n")
    assert not CONFLICT.search("a <" + "<" * 6 + " b\n" + "=" * 8 + "\n")
