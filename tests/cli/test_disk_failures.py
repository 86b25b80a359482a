"""lock's write is one transaction, whatever the disk does.

A full disk (a tmpfs of a few hundred KB, filled to several levels) and read-only
parts of the repository (as root without CAP_DAC_OVERRIDE, through setpriv, so
permissions apply): the run either commits completely or exits 3 with one line
and leaves the repository byte for byte as it was: HEAD, index, work tree. No
``.lock`` or temp file survives, ``git fsck`` stays clean, and the next lock
succeeds once space is freed or permissions are restored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.lockrepo import git, make_repo, snapshot
from tests.cli.test_lock_errors import one_line_error

IMAGES = ["nova-api", "keystone"]
DISK_KB = 768


def _leftovers(repo: Path) -> list[str]:
    """Lock files, temp files and backups of ours, git's or dulwich's anywhere in the repository."""
    return sorted(
        str(p.relative_to(repo))
        for p in repo.rglob("*")
        if p.name.endswith((".lock", ".tmp", ".orig")) or p.name.startswith("tmp_obj")
    )


def _state(repo: Path) -> tuple:
    """refs, status, work-tree bytes and the staged entries (``git status`` may rewrite the index
    file itself to refresh its stat cache, so its bytes are not compared)."""
    refs, status, files, _ = snapshot(repo)
    return refs, status, files, git(repo, "ls-files", "-s")


def _fsck_clean(repo: Path) -> None:
    proc = subprocess.run(["git", "-C", str(repo), "fsck", "--strict", "--no-dangling"], capture_output=True, text=True)
    assert proc.returncode == 0 and "error" not in proc.stderr + proc.stdout, proc.stderr + proc.stdout


def _free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("mounting a tmpfs needs root (run the tests as root, as make test does)", pytrace=False)
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_KB}k", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


@pytest.fixture
def relock(tmp_path, docker_cli, fleet):
    """``relock(where)``: a repository at ``where`` locked once, with a real change upstream to lock next."""

    def make(where: Path) -> Path:
        fleet.seed(IMAGES)
        repo = make_repo(where, docker_cli, fleet, IMAGES)
        assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
        fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
        return repo

    return make


def _lock_is_complete(repo: Path, proc) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "ocata-2" in (repo / "lockfiles" / "ocata.toml").read_text()
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-list", "--count", "HEAD") == "3\n"


# on this tmpfs the levels fail at the objects, the work-tree file, the index and the ref
# (in that order as space grows) and succeed from about 30 KB on
@pytest.mark.parametrize("free_kb", [0, 8, 16, 18, 20, 22, 24, 28, 48])
def test_a_full_disk_leaves_the_repository_as_it_was(small_disk, relock, docker_cli, free_kb):
    repo = relock(small_disk / "locks")
    filler = small_disk / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(_free_bytes(small_disk) - free_kb * 1024, 0))
    before = _state(repo)
    proc = docker_cli.kolla("lock", "ocata", cwd=repo)
    if proc.returncode == 0:  # enough room at this level: then it is complete
        _lock_is_complete(repo, proc)
    else:
        one_line_error(proc, 3, "No space left on device", "free disk space")
        assert _state(repo) == before
    assert _leftovers(repo) == []
    _fsck_clean(repo)
    filler.unlink()
    proc = docker_cli.kolla("lock", "ocata", cwd=repo)
    _lock_is_complete(repo, proc)
    _fsck_clean(repo)


def test_some_fill_level_does_fail(small_disk, relock, docker_cli):
    """The sweep above must reach the failure path: with no space at all the lock fails."""
    repo = relock(small_disk / "locks")
    with open(small_disk / "filler", "wb") as f:
        f.write(b"\0" * _free_bytes(small_disk))
    one_line_error(docker_cli.kolla("lock", "ocata", cwd=repo), 3, "No space left on device")


NO_DAC_OVERRIDE = ["setpriv", "--inh-caps=-dac_override", "--bounding-set=-dac_override"]


def _read_only(target: Path) -> dict[Path, int]:
    """chmod ``target`` (a file: 0444; a folder and every folder in it: 0555); returns the old modes."""
    paths = [target] + ([p for p in target.rglob("*") if p.is_dir()] if target.is_dir() else [])
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    return modes


# each part fails a different step: the work-tree file, the objects, the index lock, the ref,
# the second reflog line (the first, the branch's, must then be taken back)
@pytest.mark.parametrize("part", ["lockfiles", ".git/objects", ".git", ".git/refs/heads", ".git/logs/HEAD"], ids=str)
def test_a_read_only_part_leaves_the_repository_as_it_was(tmp_path, relock, docker_cli, part):
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv is missing (Debian package util-linux)", pytrace=False)
    repo = relock(tmp_path / "locks")
    before = _state(repo)
    reflog = (repo / ".git/logs/refs/heads/main").read_bytes()
    modes = _read_only(repo / part)
    try:
        proc = subprocess.run(
            [*NO_DAC_OVERRIDE, "docker", "kolla", "lock", "ocata"],
            cwd=repo,
            env=docker_cli.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    one_line_error(proc, 3, "Permission denied", "writable")
    assert _state(repo) == before
    assert (repo / ".git/logs/refs/heads/main").read_bytes() == reflog
    assert _leftovers(repo) == []
    _fsck_clean(repo)
    _lock_is_complete(repo, docker_cli.kolla("lock", "ocata", cwd=repo))
