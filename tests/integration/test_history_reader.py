"""verify, log and status over real git histories: the incremental reader and its cache
give exactly what a full parse of every version gives.

The reference below is the full-parse implementation the incremental one replaced:
every version parsed whole with ``parse_lock``, revisions recomputed with
``recompute``. Histories are committed with LockRepo (dulwich) into real
repositories; deletions of the lockfile use the git CLI.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import tomli

from docker_kolla.adapters.gitstore import LockRepo
from docker_kolla.adapters.revcache import RevisionCache
from docker_kolla.core import lockfile, tomlwrite
from docker_kolla.core.channels import parse_channels
from docker_kolla.core.diff import diff_locks, package_changes
from docker_kolla.core.digest import Digest
from docker_kolla.core.revisions import recompute
from docker_kolla.errors import ConfigError, UsageError
from docker_kolla.ops import lockhistory
from docker_kolla.ops.common import parse_lock
from docker_kolla.ops.log import LogEntry, run_channel_log, run_log
from docker_kolla.ops.status import load_history
from docker_kolla.ops.verify import run_verify
from tests.support.lockgen import NAMES, hand_edit, valid_history

LOCK = "lockfiles/ocata.toml"
CONFIG = parse_channels('[defaults]\nimages = ["x"]\n[channels.ocata]\ntag = "ocata"\n')


@pytest.fixture(autouse=True)
def git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "Lock Bot")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "bot@example.test")


class CountingRepo(LockRepo):
    """A LockRepo that counts the lockfile versions it reads (blobs)."""

    reads = 0

    def blob(self, sha: str) -> bytes:
        self.reads += 1
        return super().blob(sha)


def open_repo(path: Path) -> CountingRepo:
    return CountingRepo(LockRepo.open(path)._repo)


def build(
    path: Path, seed: int, versions: int = 30, *, static: bool = False, edits: float = 0.25, parseable: bool = False
) -> list:
    """A lock history with hand edits at random versions; returns [(version index, edited)]."""
    rng = random.Random(seed)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    done = []
    with LockRepo.open(path) as repo:
        for i, lock in enumerate(valid_history(rng, versions, static, bumps=0.5)):
            text = lockfile.dumps(lock)
            edited = rng.random() < edits
            if edited:
                text = hand_edit(rng, text, parseable=parseable)
            if rng.random() < 0.05:  # the lockfile deleted, then written again later
                subprocess.run(["git", "-C", str(path), "rm", "-q", LOCK], check=True, capture_output=True)
                subprocess.run(["git", "-C", str(path), "commit", "-qm", "rm"], check=True)
            data = text.encode("utf-8", "surrogateescape")
            repo.commit_file(LOCK, data, f"lock {i}")
            done.append((i, edited))
    return done


# -- the reference: a full parse of every version ----------------------------


def reference_verify(repo, channel="ocata", config=CONFIG):
    history, problems = [], []
    for version in repo.history(LOCK, "HEAD"):
        if version.data is None:
            continue
        try:
            history.append((version.commit, parse_lock(version.data, f"{LOCK}@{version.commit[:7]}")))
        except ConfigError as exc:
            problems.append(f"{exc.message} (commit {version.commit[:7]})")
    mismatches = recompute(history)
    chan = config.channels.get(channel)
    if history:
        for name, entry in sorted(history[-1][1].images.items()):
            expected = chan.revision_tag(entry.revision)
            if entry.tag != expected:
                problems.append(
                    f"{name}: tag {entry.tag!r} does not match revision {entry.revision} (expected {expected!r})"
                )
    work = repo.worktree_bytes(LOCK)
    if work is not None:
        try:
            parse_lock(work, LOCK)
        except ConfigError as exc:
            problems.append(exc.message)
    return len(history), [m.line() for m in mismatches], problems


def own_table(data: bytes, image: str, where: str):
    """The image's table if the version's head and that table are exactly the writer's text, else None."""
    heads = [lockfile.head_text(c, s).encode() + b"\n[images." for c, s in (("ocata", False), ("4.0.0", True))]
    if not data.startswith(tuple(heads)):
        return None
    key = tomlwrite.key_text(image).encode()
    start = data.find(b"\n\n[images." + key + b"]\n")
    if start < 0:
        return None
    end = start + 2
    while True:  # the next image's header (not one of this image's sub-tables)
        end = data.find(b"\n\n[images.", end + 1)
        if end < 0 or not data.startswith(b"[images." + key + b".", end + 2):
            break
    piece = data[start + 2 : None if end < 0 else end + 1]
    try:
        ((name, table),) = tomli.loads(piece.decode()).get("images", {}).items()
        entry = lockfile.LockEntry.from_toml(name, table, where)
    except (ValueError, ConfigError, UnicodeDecodeError):
        return None
    return entry if name == image and lockfile.entry_text(entry).encode() == piece else None


def image_in(data: bytes, image: str, where: str):
    """What `log IMAGE` reads of one version: the full parser's entry; for a version that does not
    parse, the image's own table when it and the head are the writer's (the other images' tables
    are verify's job), else the full parser's error."""
    try:
        return parse_lock(data, where).get(image)
    except ConfigError:
        own = own_table(data, image, where)
        if own is None:
            raise
        return own


def reference_log(repo, image, rev="HEAD"):
    entries, previous = [], None
    for version in repo.history(LOCK, rev):
        where = f"{LOCK}@{version.commit[:7]}"
        current = image_in(version.data, image, where) if version.data is not None else None
        if current == previous:
            continue
        if current is None:
            entries.append(LogEntry(version.commit, version.time, version.author, None, "", "", "removed"))
        elif (
            previous is None
            or current.digest != previous.digest
            or current.manifesto_digest != previous.manifesto_digest
        ):
            pkgs = package_changes(previous.facts if previous else {}, current.facts)
            change = "added" if previous is None else f"{len(pkgs)} package change(s)" if pkgs else "digest only"
            entries.append(
                LogEntry(
                    version.commit,
                    version.time,
                    version.author,
                    current.revision,
                    current.tag,
                    str(current.digest),
                    change,
                    pkgs,
                )
            )
        previous = current
    if not entries:
        raise UsageError("never locked", "")
    return list(reversed(entries))


def reference_channel_log(repo):
    """`log --channel` as a full parse of every version (the implementation the streaming one replaced)."""
    out, previous = [], None
    for version in repo.history(LOCK, "HEAD"):
        if version.data is None:
            continue
        lock = parse_lock(version.data, f"{LOCK}@{version.commit[:7]}")
        subject = version.message.splitlines()[0] if version.message else ""
        out.append(
            (version.commit, version.time, version.author, subject, diff_locks(previous, lock), len(lock.images))
        )
        previous = lock
    return list(reversed(out))


def got_channel_log(repo):
    return [(e.commit, e.time, e.author, e.subject, e.diff, e.images) for e in run_channel_log(repo, "ocata")]


def got_verify(repo):
    result = run_verify(repo, "ocata", CONFIG)
    return result.versions, [m.line() for m in result.mismatches], result.problems


def outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except (ConfigError, UsageError) as exc:
        return "error", exc.message


def all_logs(repo, reference=False):
    fn = reference_log if reference else lambda r, image: run_log(r, image, "ocata")
    return {image: outcome(fn, repo, image) for image in NAMES}


def status_versions(repo):
    _, history = load_history(repo, "ocata", "HEAD")
    return [
        sorted((e.name, str(e.digest), e.tag, e.revision) for e in lock.images.values()) for lock in history.versions
    ]


def reference_status_versions(repo):
    current = parse_lock(repo.read("HEAD", LOCK), LOCK)
    versions = []
    for version in repo.history(LOCK, "HEAD"):
        if version.data is None:
            continue
        try:
            versions.append(parse_lock(version.data, LOCK))
        except ConfigError:
            continue
    if not versions or versions[-1] != current:
        versions.append(current)
    return [sorted((e.name, str(e.digest), e.tag, e.revision) for e in lock.images.values()) for lock in versions]


# -- tests ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_incremental_equals_full_parse_with_hand_edits(tmp_path, seed):
    static = seed % 3 == 2
    build(tmp_path / "r", seed, static=static, parseable=seed % 2 == 0)
    with open_repo(tmp_path / "r") as repo:
        expected = reference_verify(repo)
        assert got_verify(repo) == expected
        assert got_verify(repo) == expected  # from the cache
        assert lockhistory.verify_history(repo, LOCK, use_cache=False)[1].patched > 0  # changed tables read as patches
        logs = all_logs(repo, reference=True)
        assert all_logs(repo) == logs
        assert all_logs(repo) == logs  # from the cache
        assert outcome(got_channel_log, repo) == outcome(reference_channel_log, repo)
        head_ok = outcome(parse_lock, repo.read("HEAD", LOCK), LOCK)[0] == "ok"
        if head_ok:
            assert status_versions(repo) == reference_status_versions(repo)
    shutil.rmtree(tmp_path / "r" / ".git" / "docker-kolla")
    with open_repo(tmp_path / "r") as repo:
        assert got_verify(repo) == expected and all_logs(repo) == logs  # deleting the cache changes nothing


def test_verify_names_hand_edited_revisions(tmp_path):
    rng = random.Random(7)
    path = tmp_path / "r"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    edited = {}
    with LockRepo.open(path) as repo:
        for i, lock in enumerate(valid_history(rng, 40)):
            if i in (5, 17, 33) and lock.images:
                name = rng.choice(sorted(lock.images))
                entry = lock.images[name]
                lock = lock.with_entry(replace(entry, revision=entry.revision + 7, tag=f"ocata-{entry.revision + 7}"))
                sha = repo.commit_file(LOCK, lockfile.dumps(lock).encode(), f"lock {i}")
                edited[(sha[:7], name)] = entry.revision + 7
            else:
                repo.commit_file(LOCK, lockfile.dumps(lock).encode(), f"lock {i}")
    with open_repo(path) as repo:
        lines = got_verify(repo)[1]
        assert lines == reference_verify(repo)[1]
        for (sha, name), found in edited.items():
            assert any(line.startswith(f"{name}: revision {found} at {sha}") for line in lines), (name, lines)


def checkpoint_files(path: Path, kind: str) -> list:
    return sorted((path / ".git" / "docker-kolla" / "history" / kind).rglob("*"))


def test_second_verify_after_one_new_lock_reads_one_version(tmp_path):
    build(tmp_path / "r", 11, versions=20, edits=0)
    with open_repo(tmp_path / "r") as repo:
        first = got_verify(repo)
        assert repo.reads == first[0]  # cold: every version once
        lock = parse_lock(repo.read("HEAD", LOCK), LOCK)
        name = sorted(lock.images)[0]
        entry = lock.images[name]
        bumped = replace(
            entry, revision=entry.revision + 1, tag=f"ocata-{entry.revision + 1}", digest=Digest("sha256", "e" * 64)
        )
        repo.commit_file(LOCK, lockfile.dumps(lock.with_entry(bumped)).encode(), "one more")
        repo.reads = 0
        second = got_verify(repo)
        assert repo.reads == 1 and second[0] == first[0] + 1
        assert second == reference_verify(repo)
        assert len([p for p in checkpoint_files(tmp_path / "r", "verify") if p.is_file()]) == 1  # superseded one gone
        repo.reads = 0
        log = run_log(repo, name, "ocata")
        log_reads = repo.reads
        repo.reads = 0
        assert run_log(repo, name, "ocata") == log == reference_log(repo, name)
        assert repo.reads == 0 < log_reads


def damage(files: list, how: str) -> None:
    for path in files:
        if not path.is_file():
            continue
        raw = path.read_bytes()
        if how == "flip":
            path.write_bytes(raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:])
        elif how == "truncate":
            path.write_bytes(raw[: len(raw) // 2])
        elif how == "garbage":
            path.write_bytes(b"not a cache entry\n{}")


@pytest.mark.parametrize("how", ["flip", "truncate", "garbage", "stale", "moved", "shape"])
def test_damaged_or_stale_cache_entries_are_ignored(tmp_path, how):
    build(tmp_path / "r", 21, versions=15, edits=0.3)
    path = tmp_path / "r"
    with open_repo(path) as repo:
        expected = reference_verify(repo)
        logs = all_logs(repo, reference=True)
        assert got_verify(repo) == expected and all_logs(repo) == logs
        cache = repo.revision_cache
        files = checkpoint_files(path, "verify") + checkpoint_files(path, "log")
        if how == "stale":  # the same entries, written by another version of the product
            other = RevisionCache(cache.root, version="0.0.0-other")
            for kind in ("verify", "log"):
                for f in checkpoint_files(path, kind):
                    if f.is_file():
                        raw = f.read_bytes().partition(b"\n")[2]
                        doc = json.loads(raw)
                        other.put(kind, doc["key"], doc["value"])
        elif how == "moved":  # a valid entry under another key (another commit's name)
            good = [f for f in checkpoint_files(path, "verify") if f.is_file()]
            head = repo.resolve("HEAD")
            for ref in repo.walk(LOCK):
                target = cache._path("verify", f"{LOCK}\n{ref.commit}")
                if ref.commit != head:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(good[0], target)
            good[0].unlink()
        elif how == "shape":  # a valid file whose value is not what the reader expects
            for ref in repo.walk(LOCK):
                cache.put("verify", f"{LOCK}\n{ref.commit}", {"versions": "x"})
                for image in NAMES:
                    cache.put("log", f"{LOCK}\n{image}\n{ref.commit}", [1, 2])
        else:
            damage(files, how)
        repo.reads = 0
        assert got_verify(repo) == expected
        assert repo.reads > 1  # the damaged checkpoint was not used
        assert all_logs(repo) == logs
        repo.reads = 0
        assert got_verify(repo) == expected and repo.reads == 0  # rewritten, good again


def test_a_checkpoint_from_a_shallow_clone_is_not_used_after_deepening(tmp_path):
    build(tmp_path / "r", 31, versions=12, edits=0)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "4", f"file://{tmp_path / 'r'}", str(clone)], check=True)
    with open_repo(clone) as repo:
        shallow = got_verify(repo)
        assert shallow == reference_verify(repo) and shallow[0] <= 4
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "--unshallow"], check=True)
    with open_repo(clone) as repo:
        deep = got_verify(repo)
        assert deep == reference_verify(repo) and deep[0] == 12


def commit_history(path: Path, texts: list) -> list:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    with LockRepo.open(path) as repo:
        return [repo.commit_file(LOCK, text.encode("utf-8"), f"lock {i}") for i, text in enumerate(texts)]


def test_log_reads_its_image_where_another_images_table_is_broken_and_verify_names_that_version(tmp_path):
    locks = list(valid_history(random.Random(41), 14))
    texts = [lockfile.dumps(lock) for lock in locks]
    image = next(n for n in NAMES if all(n in lock.images for lock in locks[6:]))
    other = next(n for n in sorted(locks[6].images) if n != image)
    piece = lockfile.entry_text(locks[6].images[other])
    broken = list(texts)
    broken[6] = texts[6].replace(piece, piece.replace("tag = ", 'colour = "red"\ntag = ', 1))  # a hand edit
    assert broken[6] != texts[6]
    commit_history(tmp_path / "good", texts)
    bad = commit_history(tmp_path / "bad", broken)

    def facts(path):
        with open_repo(path) as repo:
            return [(e.revision, e.tag, e.digest, e.change, e.packages) for e in run_log(repo, image, "ocata")]

    assert facts(tmp_path / "bad") == facts(tmp_path / "good")  # the broken table is not this image's
    with open_repo(tmp_path / "bad") as repo:
        assert all_logs(repo) == all_logs(repo, reference=True)
        problems = got_verify(repo)[2]
    assert any(f"@{bad[6][:7]} [images.{other}]" in p and "unknown key 'colour'" in p for p in problems), problems
    with open_repo(tmp_path / "good") as repo:
        assert got_verify(repo)[2] == []

    # this image's own table broken, or the head: log reports it as before
    for edit in (
        lambda t: t.replace(lockfile.entry_text(locks[9].images[image]), "", 1),  # removed: still read whole
        lambda t: t.replace("[lock]\n", "[lock]\ncolour = 1\n", 1),
        lambda t: t.replace(
            lockfile.entry_text(locks[9].images[image]),
            lockfile.entry_text(locks[9].images[image]).replace("tag = ", "tag =  ", 1).replace('"ocata-', '"x-', 1),
            1,
        ),
    ):
        edited = list(texts)
        edited[9] = edit(texts[9])
        target = tmp_path / f"edit{len(list(tmp_path.iterdir()))}"
        commit_history(target, edited)
        with open_repo(target) as repo:
            assert outcome(run_log, repo, image, "ocata") == outcome(reference_log, repo, image)
            shutil.rmtree(target / ".git" / "docker-kolla", ignore_errors=True)
            assert outcome(run_log, repo, image, "ocata") == outcome(reference_log, repo, image)
