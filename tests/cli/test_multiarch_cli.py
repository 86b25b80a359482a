"""Issue 5 item 1 through the real docker CLI: a manifesto for each platform a lock describes."""

from __future__ import annotations

import hashlib
import json

import tomli

from docker_kolla.adapters.auth import Authenticator
from docker_kolla.adapters.credentials import CredentialStore
from docker_kolla.adapters.http import make_session
from docker_kolla.adapters.registry import RegistryClient
from docker_kolla.core.reference import ImageRef
from docker_kolla.ops.resolve import LayerScanner, Resolver
from tests.cli.lockrepo import git, make_repo
from tests.support.push import push_index

TWO = ("linux/amd64", "linux/arm64")
IMAGES = ["nova-api", "nova-compute", "keystone"]


def load(repo) -> dict:
    return tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


def canonical_sha(value) -> str:
    body = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def rebuild_arm64_only(fleet, image: str, versions: dict) -> dict:
    """Push a new index: the same amd64 child, a new arm64 child with ``versions``; return its facts."""
    state = fleet._state(image)
    saved = dict(state.python)
    state.python.update(versions)
    arm = fleet._push(image, None, "arm64")
    expected = fleet.expected_manifesto(image)
    state.python.clear()
    state.python.update(saved)
    kids = {"linux/amd64": fleet.children[image]["linux/amd64"], "linux/arm64/v8": arm}
    fleet.children[image] = kids
    fleet.pushed[image] = push_index(
        fleet.host, fleet.repo(image), fleet.tag, list(kids.items()), oci=True, with_attestation=True, auth=fleet.client
    )
    return expected


def test_two_platform_channel_locks_revisions_and_diffs_arm64(tmp_path, docker_cli, fleet):
    fleet.seed(["keystone"])
    for image in ("nova-api", "nova-compute"):
        fleet.multiarch(image)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES, platforms=TWO)
    first = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert first.returncode == 0, first.stderr
    images = load(repo)
    nova = images["nova-api"]
    assert nova["platform"] == "linux/amd64" and set(nova["platforms"]) == set(TWO)
    assert nova["manifesto"] == fleet.expected_manifesto("nova-api")
    assert nova["platform-manifestos"] == {"linux/arm64": fleet.expected_manifesto("nova-api")}
    assert nova["manifesto-digest"] == canonical_sha({p: fleet.expected_manifesto("nova-api") for p in TWO})
    assert "platform-manifestos" not in images["keystone"]  # single manifest: one platform to describe

    # the upstream rebuilds only the arm64 build of two images with a new nova
    arm = {image: rebuild_arm64_only(fleet, image, {"nova": "15.0.3"}) for image in ("nova-api", "nova-compute")}
    assert arm["nova-api"]["python:nova"] == "15.0.3"
    bumped = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert bumped.returncode == 0, bumped.stderr
    images = load(repo)
    assert {n: e["tag"] for n, e in images.items()} == {
        "nova-api": "ocata-2",
        "nova-compute": "ocata-2",
        "keystone": "ocata-1",
    }
    assert images["nova-api"]["manifesto"] == fleet.expected_manifesto("nova-api")  # amd64 unchanged
    assert images["nova-api"]["platform-manifestos"]["linux/arm64"] == arm["nova-api"]
    assert images["nova-api"]["digest"] == fleet.pushed["nova-api"].digest

    text = docker_cli.kolla("diff", "HEAD~1", cwd=repo)
    assert text.returncode == 0, text.stderr
    assert "linux/arm64 python:nova 15.0.2 -> 15.0.3 in 2 images" in text.stdout
    js = json.loads(docker_cli.kolla("diff", "HEAD~1", "--format", "json", cwd=repo).stdout)
    keys = {p["key"] for i in js["channels"][0]["images"] for p in i["packages"]}
    assert keys == {"linux/arm64 python:nova"}
    md = docker_cli.kolla("diff", "HEAD~1", "--format", "markdown", cwd=repo).stdout
    assert "| `linux/arm64 python:nova` | 15.0.2 | 15.0.3 | 2: nova-api, nova-compute |" in md

    ok = docker_cli.kolla("verify", cwd=repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    again = docker_cli.kolla("lock", "ocata", cwd=repo)  # nothing moved: nothing committed
    assert again.returncode == 0 and len(git(repo, "log", "--oneline").splitlines()) == 3


def test_single_platform_lock_is_unchanged_by_a_multiarch_index(tmp_path, docker_cli, fleet):
    fleet.multiarch("nova-api")
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"])
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    text = (repo / "lockfiles" / "ocata.toml").read_text()
    assert "platform-manifestos" not in text
    nova = load(repo)["nova-api"]
    assert nova["manifesto-digest"] == canonical_sha(fleet.expected_manifesto("nova-api"))
    # an arm64-only change is invisible to a channel that describes amd64: kept, not bumped
    rebuild_arm64_only(fleet, "nova-api", {"nova": "15.0.3"})
    out = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert out.returncode == 0 and "rebuilt without version change" in out.stderr
    assert (repo / "lockfiles" / "ocata.toml").read_text() == text


def test_inspect_shows_each_platforms_manifesto(tmp_path, docker_cli, fleet):
    fleet.multiarch("nova-api")
    expected_arm = rebuild_arm64_only(fleet, "nova-api", {"nova": "15.0.3"})
    ref = fleet.image_ref("nova-api")
    args = ("inspect", ref, "--platform", "linux/amd64", "--platform", "linux/arm64")
    proc = docker_cli.kolla(*args, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["platform"] == "linux/amd64" and doc["manifesto"] == fleet.expected_manifesto("nova-api")
    assert doc["platform-manifestos"] == {"linux/arm64": expected_arm}
    text = docker_cli.kolla(*args, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    after_arm = text.stdout[text.stdout.index("\nlinux/arm64:\n") :]
    assert "15.0.3" in after_arm and "15.0.3" not in text.stdout[: text.stdout.index("\nlinux/arm64:\n")]
    one = json.loads(docker_cli.kolla("inspect", ref, "--format", "json", cwd=tmp_path).stdout)
    assert one["platform-manifestos"] == {} and one["manifesto"] == doc["manifesto"]


def test_layers_shared_between_platforms_are_scanned_once(fleet):
    fleet.multiarch("nova-api")
    session = make_session("docker-kolla-test", pool_size=4)
    client = RegistryClient(session, Authenticator(session, CredentialStore({}, {})))
    scanner = LayerScanner(client)
    report = Resolver(client, scanner, platforms=TWO).resolve("nova-api", ImageRef.parse(fleet.image_ref("nova-api")))
    assert set(map(str, report.resolved.platform_manifestos)) == {"linux/arm64"}
    per_arch = [{layer.digest for layer in fleet.layers("nova-api", arch)} for arch in ("amd64", "arm64")]
    assert per_arch[0] & per_arch[1]  # the fleet does share layers between arches
    assert scanner.scanned == len(per_arch[0] | per_arch[1])  # each unique layer once
