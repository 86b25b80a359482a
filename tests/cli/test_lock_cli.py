"""Issue 2 through the real docker CLI: lock, revisions from git, diff, log, verify, inspect."""

from __future__ import annotations

import json
import subprocess

import pytest
import tomli

from tests.cli.lockrepo import git, make_repo, snapshot
from tests.support.skopeo import skopeo_copy

IMAGES = ["nova-api", "nova-compute", "keystone", "glance-api", "mariadb"]


def skopeo_digest(ref: str) -> str:
    out = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"], check=True, capture_output=True
    ).stdout
    import hashlib

    return "sha256:" + hashlib.sha256(out).hexdigest()


def load(repo) -> dict:
    return tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


@pytest.fixture
def seeded(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    fleet.multiarch("keystone")
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    return repo, fleet


def test_lock_rebuild_bump_and_history(seeded, docker_cli):
    repo, fleet = seeded
    first = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert first.returncode == 0, first.stderr
    images = load(repo)
    assert {n: e["tag"] for n, e in images.items()} == {n: "ocata-1" for n in IMAGES}
    for name in IMAGES:  # digests equal what skopeo (the independent client) sees
        assert images[name]["digest"] == skopeo_digest(fleet.image_ref(name))
    ks = images["keystone"]
    assert ks["media-type"] == "application/vnd.oci.image.index.v1+json"
    assert set(ks["platforms"]) == {"linux/amd64", "linux/arm64"}  # attestation entry skipped
    assert images["nova-api"]["manifesto"] == fleet.expected_manifesto("nova-api")

    # nothing changed: byte-identical file, no commit
    before = (repo / "lockfiles" / "ocata.toml").read_bytes()
    head = git(repo, "rev-parse", "HEAD")
    again = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert again.returncode == 0 and "unchanged" in again.stderr
    assert (repo / "lockfiles" / "ocata.toml").read_bytes() == before and git(repo, "rev-parse", "HEAD") == head

    # a rebuild with the same versions: new digest, nothing committed
    fleet.rebuild("glance-api")
    rebuilt = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert rebuilt.returncode == 0 and "rebuilt without version change" in rebuilt.stderr
    assert git(repo, "rev-parse", "HEAD") == head

    # a version bump of two images: exactly those go to revision 2
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    fleet.rebuild("nova-compute", versions={"nova": "15.0.3"})
    bumped = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert bumped.returncode == 0, bumped.stderr
    images = load(repo)
    assert {n: e["tag"] for n, e in images.items()} == {
        "nova-api": "ocata-2",
        "nova-compute": "ocata-2",
        "keystone": "ocata-1",
        "glance-api": "ocata-1",
        "mariadb": "ocata-1",
    }
    assert images["nova-api"]["manifesto"]["python:nova"] == "15.0.3"

    # the real git CLI reads what dulwich wrote
    log = git(repo, "log", "--oneline").splitlines()
    assert len(log) == 3 and "lock ocata" in log[0]
    assert git(repo, "show", "--stat", "--format=", "HEAD").split("|")[0].strip() == "lockfiles/ocata.toml"
    assert git(repo, "status", "--porcelain") == ""
    subprocess.run(["git", "-C", str(repo), "fsck", "--strict"], check=True, capture_output=True)

    # diff in all three formats
    text = docker_cli.kolla("diff", "HEAD~1", cwd=repo)
    assert text.returncode == 0 and "python:nova 15.0.2 -> 15.0.3 in 2 images" in text.stdout
    md = docker_cli.kolla("diff", "HEAD~1..HEAD", "--format", "markdown", cwd=repo)
    assert "| `python:nova` | 15.0.2 | 15.0.3 | 2: nova-api, nova-compute |" in md.stdout
    js = json.loads(docker_cli.kolla("diff", "HEAD~1", "HEAD", "--format", "json", cwd=repo).stdout)
    changed = {i["name"]: i for i in js["channels"][0]["images"]}
    assert set(changed) == {"nova-api", "nova-compute"} and changed["nova-api"]["new"]["tag"] == "ocata-2"
    assert docker_cli.kolla("diff", "HEAD~1", "--exit-code", cwd=repo).returncode == 1
    assert docker_cli.kolla("diff", "--exit-code", cwd=repo).returncode == 0

    # log and verify
    log_out = docker_cli.kolla("log", "nova-api", cwd=repo)
    assert log_out.returncode == 0 and "ocata-2" in log_out.stdout and "ocata-1" in log_out.stdout
    ok = docker_cli.kolla("verify", cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_verify_names_a_hand_edited_revision(seeded, docker_cli):
    repo, _ = seeded
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    path = repo / "lockfiles" / "ocata.toml"
    text = path.read_text()
    start = text.index("[images.keystone]")
    path.write_text(
        text[:start] + text[start:].replace('tag = "ocata-1"\nrevision = 1', 'tag = "ocata-4"\nrevision = 4', 1)
    )
    git(repo, "commit", "-qam", "hand edit", env=docker_cli.env)
    bad = docker_cli.kolla("verify", cwd=repo)
    assert bad.returncode == 1
    assert "keystone: revision 4" in bad.stdout and "expected 1" in bad.stdout
    assert "Traceback" not in bad.stderr


def test_branch_and_push_leave_worktree_and_head(seeded, docker_cli, tmp_path):
    repo, fleet = seeded
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    head = git(repo, "rev-parse", "HEAD")
    before = snapshot(repo)
    out = docker_cli.kolla("lock", "ocata", "--branch", "lock/ocata", "--push", "origin", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert git(repo, "rev-parse", "HEAD") == head and snapshot(repo)[1:] == before[1:]
    assert not (repo / "lockfiles" / "ocata.toml").exists()
    pushed = subprocess.run(
        ["git", "-C", str(remote), "log", "--oneline", "lock/ocata"], capture_output=True, text=True, check=True
    ).stdout
    assert "lock ocata" in pushed.splitlines()[0]
    shown = subprocess.run(
        ["git", "-C", str(remote), "show", "lock/ocata:lockfiles/ocata.toml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert tomli.loads(shown)["images"]["nova-api"]["tag"] == "ocata-1"


def test_lock_keeps_the_users_other_changes(seeded, docker_cli):
    repo, _ = seeded
    (repo / "notes.txt").write_text("staged\n")
    git(repo, "add", "notes.txt")
    (repo / "lockfiles" / "channels.toml").write_text(
        (repo / "lockfiles" / "channels.toml").read_text() + "\n# local\n"
    )
    status = git(repo, "status", "--porcelain")
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    assert git(repo, "status", "--porcelain") == status
    assert git(repo, "show", "--stat", "--format=", "HEAD").split("|")[0].strip() == "lockfiles/ocata.toml"


def test_static_channel_is_locked_once_and_never_revised(tmp_path, docker_cli, fleet):
    fleet.seed(["nova-api"])
    fleet.tag_as("nova-api", "4.0.0")
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"], static_tag="4.0.0")
    assert docker_cli.kolla("lock", "4.0.0", cwd=repo).returncode == 0
    entry = tomli.loads((repo / "lockfiles" / "4.0.0.toml").read_text())["images"]["nova-api"]
    assert entry["tag"] == "4.0.0" and "revision" not in entry
    fleet.rebuild("nova-api", versions={"nova": "15.0.9"})
    fleet.tag_as("nova-api", "4.0.0")
    head = git(repo, "rev-parse", "HEAD")
    moved = docker_cli.kolla("lock", "4.0.0", cwd=repo)
    assert moved.returncode == 1 and "nova-api" in moved.stderr and "--accept-moved" in moved.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    accepted = docker_cli.kolla("lock", "4.0.0", "--accept-moved", cwd=repo)
    assert accepted.returncode == 0
    entry = tomli.loads((repo / "lockfiles" / "4.0.0.toml").read_text())["images"]["nova-api"]
    assert entry["digest"] == fleet.digest_of("nova-api", "4.0.0") and "revision" not in entry


def test_inspect_prints_manifesto_without_writing(seeded, docker_cli):
    repo, fleet = seeded
    out = docker_cli.kolla("inspect", fleet.image_ref("nova-api"), "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["manifesto"] == fleet.expected_manifesto("nova-api")
    assert doc["labels"]["build-date"] and "kolla_version" not in doc["labels"]
    assert git(repo, "status", "--porcelain") == ""


def test_image_subset_no_commit_and_registry_override(seeded, docker_cli, registry):
    repo, fleet = seeded
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    head = git(repo, "rev-parse", "HEAD")
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    fleet.rebuild("keystone", versions={"keystone": "11.0.2"})
    out = docker_cli.kolla("lock", "ocata", "--image", "nova-api", "--no-commit", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    images = load(repo)
    assert images["nova-api"]["tag"] == "ocata-2" and images["keystone"]["tag"] == "ocata-1"  # only --image moved
    assert set(images) == set(IMAGES)
    assert git(repo, "status", "--porcelain").strip() == "M lockfiles/ocata.toml"
    git(repo, "checkout", "--", "lockfiles/ocata.toml")
    # the same image under another host name and namespace (copied by skopeo, digest kept):
    # only where it lives changes, and only for --image
    host = fleet.host.replace("127.0.0.1", "localhost")
    mirror = f"{fleet.namespace}-mirror"
    assert host != fleet.host
    skopeo_copy(fleet.image_ref("mariadb"), f"{host}/{mirror}/{fleet.name('mariadb')}:{fleet.tag}")
    before = load(repo)
    other = docker_cli.kolla(
        "lock", "ocata", "--image", "mariadb", "--registry", host, "--namespace", mirror, "--no-commit", cwd=repo
    )
    assert other.returncode == 0, other.stderr
    after = load(repo)
    assert after["mariadb"]["repository"] == f"{host}/{mirror}/{fleet.name('mariadb')}"
    assert after["mariadb"]["digest"] == before["mariadb"]["digest"] and after["mariadb"]["tag"] == "ocata-1"
    assert {n: e for n, e in after.items() if n != "mariadb"} == {n: e for n, e in before.items() if n != "mariadb"}


def test_removed_then_re_added_image_keeps_its_numbering(tmp_path, docker_cli, fleet):
    from tests.cli.lockrepo import channels_toml

    fleet.seed(["nova-api", "keystone"])
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api", "keystone"])
    channels = repo / "lockfiles" / "channels.toml"
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    channels.write_text(channels_toml(fleet, ["keystone"]))
    git(repo, "commit", "-qam", "drop nova-api", env=docker_cli.env)
    dropped = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert dropped.returncode == 0 and "nova-api: removed" in dropped.stdout and "nova-api" not in load(repo)
    fleet.rebuild("nova-api", versions={"nova": "15.0.4"})
    channels.write_text(channels_toml(fleet, ["nova-api", "keystone"]))
    git(repo, "commit", "-qam", "re-add nova-api", env=docker_cli.env)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    assert load(repo)["nova-api"]["tag"] == "ocata-3"  # never reuses ocata-1 / ocata-2
    assert docker_cli.kolla("verify", cwd=repo).returncode == 0


def test_lock_reports_the_registry_pull_limit(tmp_path, docker_cli, fleet, proxy_factory):
    fleet.seed(["nova-api"])
    proxy = proxy_factory(fleet.host)
    proxy.extra_headers = {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600"}
    via = type("F", (), {"host": proxy.host, "namespace": fleet.namespace, "tag": "ocata"})
    repo = make_repo(tmp_path / "locks", docker_cli, via, ["nova-api"])
    out = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert out.returncode == 0 and "registry pull limit: 76 of 100 left" in out.stderr


def test_a_plain_relock_heads_once_and_reads_what_the_last_lock_verified(tmp_path, docker_cli, fleet, proxy_factory):
    """`lock CHANNEL` starts its HEADs before typer loads (cli/prestart.py) and takes the
    image tables the previous lock verified from .git/docker-kolla/ instead of parsing them;
    neither changes a result: each HEAD goes out once, and with the cache, without it, or
    with it damaged, the output is the same; a hand edit is still caught."""
    fleet.seed(IMAGES)
    proxy = proxy_factory(fleet.host)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    channels = repo / "lockfiles" / "channels.toml"
    channels.write_text(channels.read_text().replace(fleet.host, proxy.host))
    git(repo, "commit", "-qam", "through the proxy")
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    cache = repo / ".git" / "docker-kolla" / "history" / "lock-tables"
    (entry,) = [p for p in cache.rglob("*") if p.is_file()]

    for args, where in ((("lock", "ocata"), repo), (("--repo", str(repo), "lock", "ocata", "-j", "3"), tmp_path)):
        proxy.reset_counts()
        warm = docker_cli.kolla(*args, cwd=where)
        assert warm.returncode == 0 and "unchanged" in warm.stderr, warm.stderr
        assert proxy.counts() == {("HEAD", "manifest"): len(IMAGES)}

    fleet.rebuild("nova-api", versions={"deb:openssl": "1.1.0f-3+deb9u99"})
    dry = ("lock", "ocata", "--dry-run", "--format", "json")
    with_cache = docker_cli.kolla(*dry, cwd=repo)
    assert with_cache.returncode == 0, with_cache.stderr
    assert json.loads(with_cache.stdout)["changed"] is True
    raw = entry.read_bytes()
    entry.write_bytes(raw[:-3] + b"xyz")  # damaged: its checksum no longer matches
    assert docker_cli.kolla(*dry, cwd=repo).stdout == with_cache.stdout
    assert entry.read_bytes().partition(b"\n")[0] == raw.partition(b"\n")[0]  # written again, whole
    subprocess.run(["rm", "-r", str(cache)], check=True)
    assert docker_cli.kolla(*dry, cwd=repo).stdout == with_cache.stdout

    # a committed hand edit of a package version: that image's text is new, so it is parsed and checked
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    path = repo / "lockfiles" / "ocata.toml"
    text = path.read_text()
    assert '"deb:openssl" = "1.1.0f-3+deb9u99"' in text
    path.write_text(text.replace('"deb:openssl" = "1.1.0f-3+deb9u99"', '"deb:openssl" = "1.1.0f-3+deb9u98"'))
    git(repo, "commit", "-qam", "hand edit")
    edited = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert edited.returncode != 0 and "manifesto-digest does not match" in edited.stderr, edited.stderr
    assert "Traceback" not in edited.stderr
