"""LockRepo against real repositories, with the `git` CLI as the independent reader.

Repositories are built in tmp_path with both git and dulwich. The environment is
isolated: a private global config, no system config, no GIT_* identity leaking in.
"""

from __future__ import annotations

import hashlib
import itertools
import subprocess
from pathlib import Path

import pytest

from docker_kolla.adapters import gitwrite
from docker_kolla.adapters.gitstore import LockRepo, Version
from docker_kolla.errors import DirtyTree, GitError, NotARepository, RevisionNotFound, UsageError

LOCK = "lockfiles/ocata.toml"


@pytest.fixture(autouse=True)
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Private git config for git and dulwich alike; returns the global config path."""
    home = tmp_path / "home"
    home.mkdir()
    config = home / "gitconfig"
    config.write_text("[user]\n\tname = Config User\n\temail = config@example.com\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "EMAIL",
        "GIT_CEILING_DIRECTORIES",
    ):
        monkeypatch.delenv(var, raising=False)
    return config


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run the git CLI in ``repo``; return stdout."""
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def put(repo: Path, rel: str, text: str) -> None:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def commit(repo: Path, rel: str, text: str, msg: str) -> str:
    """Write, stage and commit one file with git; return the new HEAD sha."""
    put(repo, rel, text)
    git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", msg)
    return git(repo, "rev-parse", "HEAD").strip()


def new_repo(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: four commits, lightweight tag v1 at #2, annotated tag v2 at #3."""
    r = new_repo(tmp_path / "work")
    commit(r, LOCK, "one\n", "c1")
    commit(r, LOCK, "two\n", "c2")
    git(r, "tag", "v1")
    commit(r, "README", "hi\n", "c3")
    git(r, "tag", "-a", "v2", "-m", "release two")
    commit(r, LOCK, "four\n", "c4")
    return r


# -- resolve -----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec,git_spec",
    [
        ("HEAD", None),
        ("@", "HEAD"),
        ("HEAD~2", None),
        ("HEAD^", None),
        ("HEAD^^", None),
        ("HEAD~0", None),
        ("HEAD^0", None),
        ("HEAD~1^", None),
        ("main", None),
        ("main~1", None),
        ("refs/heads/main~3", None),
        ("v1", None),
        ("v2", None),
        ("v2~1", None),
        ("v2^{}", None),
        ("v2^{commit}~1", None),
        ("SHORT", None),
        ("SHORT~1", None),
        ("SHORT^", None),
        ("FULL", None),
        ("FULL~2", None),
        ("SHORT4", None),
    ],
)
def test_resolve_matches_git(repo: Path, spec: str, git_spec: str | None) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    third = git(repo, "rev-parse", "HEAD~1").strip()
    subst = {"SHORT4": third[:4], "SHORT": third[:7], "FULL": head}
    for key in ("SHORT4", "SHORT", "FULL"):
        spec = spec.replace(key, subst[key])
    expected = git(repo, "rev-parse", "--verify", "-q", f"{git_spec or spec}^{{commit}}").strip()
    with LockRepo.open(repo) as lr:
        assert lr.resolve(spec) == expected


def test_resolve_second_parent_of_merge(tmp_path: Path) -> None:
    r = new_repo(tmp_path / "m")
    commit(r, "a", "1\n", "a1")
    git(r, "checkout", "-q", "-b", "side")
    side = commit(r, "b", "1\n", "b1")
    git(r, "checkout", "-q", "main")
    main = commit(r, "a", "2\n", "a2")
    git(r, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    with LockRepo.open(r) as lr:
        assert lr.resolve("HEAD^2") == side
        assert lr.resolve("HEAD^1") == main == lr.resolve("HEAD~1")
        assert lr.resolve("HEAD^2~1") == git(r, "rev-parse", "HEAD^2~1").strip()
        with pytest.raises(RevisionNotFound):
            lr.resolve("HEAD^3")


@pytest.mark.parametrize(
    "spec",
    [
        "HEAD~99",
        "HEAD^^^^^",
        "no-such-branch",
        "garbage~1",
        "HEAD~x",
        "HEAD^{tree}",
        "",
        " ",
        "main..HEAD",
        "HEAD:lockfiles/ocata.toml",
        "HEAD@{1}",
        "~1",
        "ffffffff",
        "v1^2",
        "../HEAD",
    ],
)
def test_resolve_unknown(repo: Path, spec: str) -> None:
    with LockRepo.open(repo) as lr, pytest.raises(RevisionNotFound) as err:
        lr.resolve(spec)
    assert err.value.exit_code == 2
    assert "\n" not in err.value.line()


def test_resolve_ambiguous_short_sha(repo: Path) -> None:
    """Make unreferenced commits until two share a 4-hex prefix; git agrees it is ambiguous."""
    seen: dict[str, str] = {}
    prefix = None
    for i in itertools.count():
        sha = git(repo, "commit-tree", "HEAD^{tree}", "-m", f"filler {i}").strip()
        if sha[:4] in seen:
            prefix = sha[:4]
            break
        seen[sha[:4]] = sha
    assert git(repo, "rev-parse", "--verify", "-q", prefix, check=False) == ""
    with LockRepo.open(repo) as lr, pytest.raises(RevisionNotFound, match="ambiguous"):
        lr.resolve(prefix)


def test_empty_repository(tmp_path: Path) -> None:
    r = new_repo(tmp_path / "empty", branch="trunk")
    with LockRepo.open(r) as lr:
        assert lr.is_empty()
        assert lr.head_branch() == "trunk"
        assert lr.history(LOCK) == []
        with pytest.raises(RevisionNotFound) as err:
            lr.resolve("HEAD")
        assert "docker kolla lock" in err.value.hint
        with pytest.raises(RevisionNotFound):
            lr.read("HEAD~1", LOCK)


# -- read, history -----------------------------------------------------------


def test_read_and_worktree_bytes(repo: Path) -> None:
    put(repo, LOCK, "edited\n")
    with LockRepo.open(repo / "lockfiles") as lr:  # discovered upward
        assert lr.root == repo.resolve()
        assert lr.read("HEAD", LOCK) == b"four\n"
        assert lr.read("HEAD~2", LOCK) == b"two\n"
        assert lr.read("v1", "README") is None
        assert lr.read("HEAD", "lockfiles") is None  # a directory is not a file
        assert lr.worktree_bytes(LOCK) == b"edited\n"
        assert lr.worktree_bytes("lockfiles/none.toml") is None
        with pytest.raises(UsageError):
            lr.read("HEAD", "../etc/passwd")


def test_history_first_parent_oldest_first(tmp_path: Path) -> None:
    r = new_repo(tmp_path / "h")
    c1 = commit(r, LOCK, "v1\n", "add lock")
    commit(r, "README", "x\n", "docs only")
    git(r, "checkout", "-q", "-b", "feature")
    commit(r, LOCK, "feature-1\n", "feature lock 1")
    commit(r, LOCK, "feature-2\n", "feature lock 2")
    git(r, "checkout", "-q", "main")
    commit(r, "README", "y\n", "docs again")
    git(r, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    merge = git(r, "rev-parse", "HEAD").strip()
    git(r, "rm", "-q", LOCK)
    git(r, "commit", "-q", "-m", "drop lock")
    deleted = git(r, "rev-parse", "HEAD").strip()
    commit(r, "README", "z\n", "docs while deleted")
    back = commit(r, LOCK, "v3\n", "lock again")
    commit(r, "README", "w\n", "docs last")

    oracle = git(r, "log", "--first-parent", "--reverse", "--format=%H", "--", LOCK).split()
    with LockRepo.open(r) as lr:
        versions = lr.history(LOCK)
        assert [v.commit for v in versions] == [c1, merge, deleted, back] == oracle
        assert [v.data for v in versions] == [b"v1\n", b"feature-2\n", None, b"v3\n"]
        assert versions[1].parents[1] == git(r, "rev-parse", "feature").strip()
        assert versions[0] == Version(
            c1,
            (),
            "Config User <config@example.com>",
            int(git(r, "log", "-1", "--format=%at", c1)),
            "add lock\n",
            b"v1\n",
        )
        assert [v.commit for v in lr.history(LOCK, "HEAD~4")] == [c1, merge]
        assert [v.commit for v in lr.history(LOCK, "feature")] == git(
            r, "log", "--first-parent", "--reverse", "--format=%H", "feature", "--", LOCK
        ).split()
        assert lr.history("lockfiles/never.toml") == []


# -- commit_file -------------------------------------------------------------


def _snapshot(r: Path) -> tuple[str, str, str]:
    return (git(r, "status", "--porcelain", "--untracked-files=all"), git(r, "diff", "--cached"), git(r, "diff"))


@pytest.mark.parametrize(
    "index_setup", [(), ("update-index", "--index-version", "4"), ("config", "core.untrackedCache", "true")]
)
def test_commit_file_keeps_other_changes(repo: Path, index_setup: tuple[str, ...]) -> None:
    if index_setup:
        git(repo, *index_setup)
    commit(repo, "src/a.txt", "a\n", "a")
    commit(repo, "src/b.txt", "b\n", "b")
    put(repo, "src/a.txt", "a staged\n")
    git(repo, "add", "src/a.txt")
    put(repo, "src/b.txt", "b unstaged\n")
    put(repo, "new-staged.txt", "n\n")
    git(repo, "add", "new-staged.txt")
    put(repo, "src/a.txt", "a staged then edited\n")
    put(repo, "untracked/u.txt", "u\n")
    put(repo, "intent.txt", "i\n")
    git(repo, "add", "-N", "intent.txt")
    git(repo, "rm", "-q", "--cached", "README")
    before = _snapshot(repo)  # `git status` also writes the untracked cache, if enabled
    old_head = git(repo, "rev-parse", "HEAD").strip()

    with LockRepo.open(repo) as lr:
        sha = lr.commit_file(LOCK, b"five\n", "lock ocata: five")
    assert _snapshot(repo) == before
    assert git(repo, "rev-parse", "HEAD").strip() == sha
    assert git(repo, "rev-parse", "HEAD~1").strip() == old_head
    assert git(repo, "log", "--oneline", "-1").split(None, 1)[1] == "lock ocata: five\n"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [LOCK]
    assert git(repo, "show", f"HEAD:{LOCK}") == "five\n"
    assert (repo / LOCK).read_text() == "five\n"
    assert git(repo, "status", "--porcelain", "--", LOCK) == ""
    assert git(repo, "fsck", "--strict", "--no-dangling") == ""
    # The user's next `git commit` takes their staged changes and keeps our lockfile.
    git(repo, "commit", "-q", "-m", "user work")
    assert git(repo, "show", f"HEAD:{LOCK}") == "five\n"
    assert git(repo, "show", "HEAD:src/a.txt") == "a staged\n"


def test_commit_file_new_path_in_new_directory_and_noop(repo: Path) -> None:
    with LockRepo.open(repo) as lr:
        first = lr.commit_file("lockfiles/deep/new.toml", b"x = 1\n", "add new")
        assert git(repo, "show", "--name-only", "--format=", first).split() == ["lockfiles/deep/new.toml"]
        assert lr.commit_file("lockfiles/deep/new.toml", b"x = 1\n", "again") == first
        assert git(repo, "rev-parse", "HEAD").strip() == first
        assert lr.history("lockfiles/deep/new.toml")[-1].commit == first
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "fsck", "--strict", "--no-dangling") == ""


def test_commit_in_empty_repository(tmp_path: Path) -> None:
    r = new_repo(tmp_path / "fresh", branch="trunk")
    put(r, "other.txt", "staged\n")
    git(r, "add", "other.txt")
    with LockRepo.open(r) as lr:
        sha = lr.commit_file(LOCK, b"first\n", "first lock")
        assert not lr.is_empty()
    assert git(r, "rev-parse", "refs/heads/trunk").strip() == sha
    assert git(r, "log", "--format=%s").splitlines() == ["first lock"]
    assert git(r, "show", "--name-only", "--format=", "HEAD").split() == [LOCK]
    assert git(r, "status", "--porcelain") == "A  other.txt\n"
    assert git(r, "fsck", "--strict", "--no-dangling") == ""


def test_init_creates_main_or_configured_branch(tmp_path: Path, git_env: Path) -> None:
    with LockRepo.init(tmp_path / "made" / "here") as lr:
        assert lr.head_branch() == "main"
        lr.commit_file("a.toml", b"a\n", "a")
    assert git(tmp_path / "made" / "here", "branch", "--show-current") == "main\n"
    with LockRepo.init(tmp_path / "made" / "here" / "sub") as lr:  # an existing repo is opened
        assert lr.root == (tmp_path / "made" / "here").resolve()
    git_env.write_text(git_env.read_text() + "[init]\n\tdefaultBranch = trunk\n")
    with LockRepo.init(tmp_path / "other") as lr:
        assert lr.head_branch() == "trunk"
    assert git(tmp_path / "other", "symbolic-ref", "HEAD") == "refs/heads/trunk\n"


def test_commit_on_branch_leaves_checkout_alone(repo: Path) -> None:
    put(repo, "README", "unstaged\n")
    put(repo, LOCK, "user edit\n")  # even a dirty lockfile is not touched by a branch commit
    before = _snapshot(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    index = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    with LockRepo.open(repo) as lr:
        assert not lr.branch_exists("kolla/lock-ocata")
        one = lr.commit_file(LOCK, b"branch one\n", "lock on branch", branch="kolla/lock-ocata")
        assert lr.branch_exists("kolla/lock-ocata")
        two = lr.commit_file(LOCK, b"branch two\n", "lock again", branch="kolla/lock-ocata")
        assert lr.head_branch() == "main"
    assert _snapshot(repo) == before
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main\n"
    assert hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest() == index
    assert (repo / LOCK).read_text() == "user edit\n"
    assert git(repo, "log", "--format=%H %s", "-3", "kolla/lock-ocata").splitlines() == [
        f"{two} lock again",
        f"{one} lock on branch",
        f"{head} c4",
    ]
    assert git(repo, "show", f"kolla/lock-ocata:{LOCK}") == "branch two\n"
    assert git(repo, "fsck", "--strict", "--no-dangling") == ""


def test_branch_named_like_head_commits_on_head(repo: Path) -> None:
    with LockRepo.open(repo) as lr:
        sha = lr.commit_file(LOCK, b"via branch arg\n", "on main", branch="main")
    assert git(repo, "rev-parse", "HEAD").strip() == sha
    assert (repo / LOCK).read_text() == "via branch arg\n"
    assert git(repo, "status", "--porcelain") == ""


def test_bad_branch_name(repo: Path) -> None:
    with LockRepo.open(repo) as lr, pytest.raises(UsageError):
        lr.commit_file(LOCK, b"x\n", "m", branch="bad..name")


def test_author_from_environment_and_config(repo: Path, git_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fmt = "--format=%an <%ae>|%cn <%ce>|%G?"
    with LockRepo.open(repo) as lr:
        lr.commit_file(LOCK, b"by config\n", "config identity")
        assert git(repo, "log", "-1", fmt) == "Config User <config@example.com>|Config User <config@example.com>|N\n"
        monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Author")
        monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.org")
        lr.commit_file(LOCK, b"by env\n", "env identity")
        assert git(repo, "log", "-1", fmt) == "Env Author <author@example.org>|Config User <config@example.com>|N\n"
        monkeypatch.delenv("GIT_AUTHOR_NAME")
        monkeypatch.delenv("GIT_AUTHOR_EMAIL")
        # Nothing configured: our fallback, never user@hostname. gpgsign must not sign or prompt.
        git_env.write_text("[commit]\n\tgpgsign = true\n[user]\n\tsigningkey = NOPE\n")
        lr.commit_file(LOCK, b"fallback\n", "fallback identity")
    assert (
        git(repo, "log", "-1", fmt) == "docker-kolla <docker-kolla@localhost>|docker-kolla <docker-kolla@localhost>|N\n"
    )
    assert "gpgsig" not in git(repo, "cat-file", "commit", "HEAD")
    assert git(repo, "log", "-1", "--format=%ad", "--date=format:%z") == "+0000\n"


def test_expected_parent_and_concurrent_ref_change(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    with LockRepo.open(repo) as lr:
        with pytest.raises(GitError) as err:
            lr.commit_file(LOCK, b"x\n", "stale", expected_parent=git(repo, "rev-parse", "HEAD~1").strip())
        assert err.value.exit_code == 3
        assert git(repo, "rev-parse", "HEAD").strip() == head
        assert (repo / LOCK).read_text() == "four\n"
        assert lr.commit_file(LOCK, b"ok\n", "fresh", expected_parent=head) != head

        # A real race: our commit object is built on `mine`, then git moves main first.
        mine = git(repo, "rev-parse", "HEAD").strip().encode()
        sig = gitwrite.Signature(b"A <a@example.test>", b"C <c@example.test>", 1_700_000_000)
        ours = gitwrite.commit_path(lr._repo, mine, LOCK.encode(), b"ours\n", b"ours\n", sig)
        theirs = commit(repo, "README", "theirs\n", "theirs")
        with pytest.raises(GitError, match="moved"):
            gitwrite.move_ref(lr._repo, b"HEAD", mine, ours, b"ours\n", sig)
        with pytest.raises(GitError, match="moved"):
            lr.commit_file(LOCK, b"late\n", "late", branch="kolla/x", expected_parent=mine.decode())
    assert git(repo, "rev-parse", "HEAD").strip() == theirs


def test_split_index_is_refused_before_committing(repo: Path) -> None:
    git(repo, "update-index", "--split-index")
    head = git(repo, "rev-parse", "HEAD").strip()
    with LockRepo.open(repo) as lr, pytest.raises(GitError, match="split"):
        lr.commit_file(LOCK, b"x\n", "blocked")
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", ".git/config", "sub/.GIT/x", "", "."])
def test_paths_outside_the_work_tree_are_refused(repo: Path, bad: str) -> None:
    with LockRepo.open(repo) as lr:
        with pytest.raises(UsageError):
            lr.commit_file(bad, b"x\n", "nope")
        with pytest.raises(UsageError):
            lr.worktree_bytes(bad)
    assert git(repo, "status", "--porcelain") == ""


def test_busy_index_fails_before_committing(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / ".git" / "index.lock").write_bytes(b"")
    with LockRepo.open(repo) as lr, pytest.raises(GitError, match="index"):
        lr.commit_file(LOCK, b"x\n", "blocked")
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert (repo / LOCK).read_text() == "four\n"


@pytest.mark.parametrize("setup", ["unstaged", "staged", "conflict"])
def test_commit_refuses_to_lose_edits(repo: Path, setup: str) -> None:
    if setup == "conflict":
        git(repo, "checkout", "-q", "-b", "other", "HEAD~1")
        commit(repo, LOCK, "other side\n", "other")
        git(repo, "checkout", "-q", "main")
        git(repo, "merge", "-q", "other", check=False)
    else:
        put(repo, LOCK, "hand edit\n")
        if setup == "staged":
            git(repo, "add", LOCK)
    head = git(repo, "rev-parse", "HEAD").strip()
    before = _snapshot(repo)
    with LockRepo.open(repo) as lr:
        assert lr.is_dirty(LOCK)
        with pytest.raises(DirtyTree):
            lr.commit_file(LOCK, b"generated\n", "would clobber")
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert _snapshot(repo) == before


def test_commit_accepts_worktree_already_holding_the_data(repo: Path) -> None:
    with LockRepo.open(repo) as lr:
        lr.write_worktree(LOCK, b"prepared\n")  # e.g. `lock --no-commit`, then `lock`
        assert git(repo, "status", "--porcelain") == f" M {LOCK}\n"
        lr.commit_file(LOCK, b"prepared\n", "commit prepared")
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    "state", ["clean", "unstaged", "staged", "untracked", "deleted", "absent", "staged-then-reverted"]
)
def test_is_dirty_agrees_with_git_status(repo: Path, state: str) -> None:
    path = "lockfiles/new.toml" if state in ("untracked", "absent") else LOCK
    if state in ("unstaged", "untracked"):
        put(repo, path, "edit\n")
    elif state == "staged":
        put(repo, path, "edit\n")
        git(repo, "add", path)
    elif state == "deleted":
        (repo / path).unlink()
    elif state == "staged-then-reverted":
        put(repo, path, "edit\n")
        git(repo, "add", path)
        put(repo, path, "four\n")
    with LockRepo.open(repo) as lr:
        assert lr.is_dirty(path) == bool(git(repo, "status", "--porcelain", "--", path))


def test_open_errors(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotARepository) as err:
        LockRepo.open(plain)
    assert err.value.exit_code == 2
    assert "is not a git repository" in err.value.line()
    assert "docker kolla init" in err.value.hint
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    with pytest.raises(NotARepository, match="bare"):
        LockRepo.open(tmp_path / "bare.git")


# -- push --------------------------------------------------------------------


def test_push_to_bare_remote(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    with LockRepo.open(repo) as lr:
        sha = lr.commit_file(LOCK, b"pr\n", "lock for PR", branch="kolla/pr")
        lr.push(str(bare), "kolla/pr")
        assert git(bare, "rev-parse", "refs/heads/kolla/pr").strip() == sha
        sha2 = lr.commit_file(LOCK, b"pr2\n", "second", branch="kolla/pr")
        lr.push("origin", "kolla/pr")  # by remote name, fast-forward
        assert git(bare, "rev-parse", "refs/heads/kolla/pr").strip() == sha2
        assert git(bare, "fsck", "--strict", "--no-dangling") == ""

        # Someone else moves the remote branch: our push is a non-fast-forward.
        other = git(repo, "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "someone else").strip()
        git(repo, "push", "-q", "-f", str(bare), f"{other}:refs/heads/kolla/pr")
        lr.commit_file(LOCK, b"pr3\n", "third", branch="kolla/pr")
        with pytest.raises(GitError, match="refused") as err:
            lr.push(str(bare), "kolla/pr")
        assert err.value.hint and "\n" not in err.value.line()
        assert git(bare, "rev-parse", "refs/heads/kolla/pr").strip() == other

        with pytest.raises(UsageError):
            lr.push(str(bare), "no-such-branch")
        with pytest.raises(GitError):
            lr.push(str(tmp_path / "missing.git"), "kolla/pr")


def test_push_refuses_non_bare_remote(repo: Path, tmp_path: Path) -> None:
    other = new_repo(tmp_path / "nonbare")
    commit(other, "x", "x\n", "x")
    with LockRepo.open(repo) as lr:
        lr.commit_file(LOCK, b"pr\n", "lock", branch="main2")
        with pytest.raises(GitError, match="work tree"):
            lr.push(str(other), "main2")
    assert git(other, "branch", "--list", "main2") == ""


def test_damaged_repository_gives_git_error(repo: Path) -> None:
    blob = git(repo, "rev-parse", f"HEAD:{LOCK}").strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    with LockRepo.open(repo) as lr:
        for call in (lambda: lr.read("HEAD", LOCK), lambda: lr.history(LOCK)):
            with pytest.raises(GitError) as err:
                call()
            assert err.value.exit_code == 3 and "\n" not in err.value.line()
