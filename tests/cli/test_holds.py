"""Issue 10 item 6: holds in channels.toml and partial re-locks with --image / --exclude."""

from __future__ import annotations

import json

import tomli

from tests.cli.lockrepo import channels_toml, git, make_repo, snapshot

IMAGES = ["nova-api", "keystone", "glance-api"]


def load(repo) -> dict:
    return tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


def table(repo, name: str) -> str:
    text = (repo / "lockfiles" / "ocata.toml").read_text()
    start = text.index(f"[images.{name}]")
    end = text.find("\n[images.", start + 1)
    return text[start:] if end < 0 else text[start:end]


def set_holds(repo, docker_cli, fleet, holds: str) -> None:
    path = repo / "lockfiles" / "channels.toml"
    path.write_text(channels_toml(fleet, IMAGES) + f"\n[channels.ocata.holds]\n{holds}\n")
    git(repo, "commit", "-q", "--allow-empty", "-am", "holds", env=docker_cli.env)


def test_holds_keep_images_and_partial_relocks(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    first = {n: e["digest"] for n, e in load(repo).items()}

    set_holds(repo, docker_cli, fleet, 'nova-api = { revision = 1, reason = "CVE fix breaks cells v1" }')
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    fleet.rebuild("keystone", versions={"keystone": "11.0.2"})
    out = docker_cli.kolla("lock", "ocata", "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr
    images = load(repo)
    assert images["nova-api"]["digest"] == first["nova-api"] and images["nova-api"]["tag"] == "ocata-1"
    assert images["keystone"]["tag"] == "ocata-2"
    doc = json.loads(out.stdout)
    [held] = doc["held"]
    assert held == {
        "name": "nova-api",
        "tag": "ocata-1",
        "digest": first["nova-api"],
        "reason": "CVE fix breaks cells v1",
        "tag-now": fleet.pushed["nova-api"].digest,
    }
    assert "nova-api: held at ocata-1" in out.stderr and "ocata moved upstream" in out.stderr
    message = git(repo, "log", "-1", "--format=%B")
    assert "- nova-api: held at ocata-1 (CVE fix breaks cells v1); tag moved upstream" in message
    md = docker_cli.kolla("diff", "HEAD~1", "HEAD", "--format", "markdown", cwd=repo).stdout
    short = lambda d: d.split(":")[1][:12]  # noqa: E731
    row = f"| nova-api | ocata-1 `{short(first['nova-api'])}` | CVE fix breaks cells v1 | moved to "
    assert "#### Held" in md and row + f"`{short(fleet.pushed['nova-api'].digest)}` |" in md, md
    text = docker_cli.kolla("diff", "HEAD~1", "HEAD", cwd=repo).stdout
    assert f"held nova-api at ocata-1 ({short(first['nova-api'])}): CVE fix breaks cells v1; tag moved" in text

    # a digest hold on an image that moved on: taken back to that digest under the next revision
    set_holds(repo, docker_cli, fleet, f'keystone = {{ digest = "{first["keystone"]}" }}')
    assert docker_cli.kolla("lock", "ocata", "--exclude", "nova-*", cwd=repo).returncode == 0
    images = load(repo)
    assert (images["keystone"]["digest"], images["keystone"]["tag"]) == (first["keystone"], "ocata-3")
    assert images["nova-api"]["tag"] == "ocata-1"  # excluded: not re-locked although no longer held

    # --exclude leaves the rest byte-identical; --image locks only what it names
    fleet.rebuild("glance-api", versions={"glance": "14.0.1"})
    before = {n: table(repo, n) for n in IMAGES}
    assert docker_cli.kolla("lock", "ocata", "--exclude", "glance-*", "--exclude", "nova-*", cwd=repo).returncode == 0
    assert {n: table(repo, n) for n in IMAGES} == before
    assert docker_cli.kolla("lock", "ocata", "--image", "glance-api", cwd=repo).returncode == 0
    after = {n: table(repo, n) for n in IMAGES}
    assert after["nova-api"] == before["nova-api"] and after["keystone"] == before["keystone"]
    assert load(repo)["glance-api"]["tag"] == "ocata-2"
    ok = docker_cli.kolla("verify", cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_bad_holds_and_excludes_are_one_line_exit_2(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    cases = [
        ("mariadb = { revision = 1 }", [], "'mariadb' is not an image of channel 'ocata'"),
        ('nova-api = { digest = "sha256:' + "0" * 64 + '" }', [], "does not exist at"),
        ('nova-api = { digest = "sha256:abc" }', [], "is not a sha256 digest"),
        ("nova-api = { revision = 7 }", [], "revision 7 was never locked"),
        ('nova-api = { revision = 1, digest = "sha256:' + "0" * 64 + '" }', [], "exactly one of digest and revision"),
        ("", ["--exclude", "zzz*"], "--exclude 'zzz*' matches no image"),
        ("", ["--exclude", "*"], "leaves no image"),
    ]
    for holds, args, needle in cases:
        set_holds(repo, docker_cli, fleet, holds)
        before = snapshot(repo)
        bad = docker_cli.kolla("lock", "ocata", *args, cwd=repo)
        assert bad.returncode == 2, (holds, args, bad.stdout, bad.stderr)
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in bad.stderr, (holds, bad.stderr)
        assert snapshot(repo) == before
