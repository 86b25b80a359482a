"""A current Kolla release end to end: init --preset 2025.1 -> lock -> export (refused) -> promote -> export.

The test registry holds a quay.io-like fleet (``openstack.kolla/<image>:2025.1-rocky-9``).
The exported kolla-ansible variables are resolved by the real kolla-ansible 20.6.0
defaults (tests/support/kolla_ansible.py), and every image reference kolla-ansible
would then pull is checked with skopeo against the lock.
"""

from __future__ import annotations

import re
import subprocess

import tomli
import yaml

from docker_kolla.core.digest import Digest
from tests.cli.lockrepo import git
from tests.support import kolla_ansible as ka
from tests.support.content import dist_info
from tests.support.fleet import KollaFleet
from tests.support.layers import build_layer
from tests.support.push import push_image

IMAGES = ["glance-api", "keystone", "nova-api", "nova-conductor", "nova-scheduler"]
TAG = "2025.1-rocky-9"


def skopeo_digest(ref: str) -> str:
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], capture_output=True, check=True
    ).stdout
    return str(Digest.of(raw))


def test_lock_promote_export_a_quay_like_fleet(docker_cli, registry, tmp_path):
    fleet = KollaFleet(registry.host, namespace="openstack.kolla", tag=TAG, name_template="{image}")
    fleet.seed(IMAGES)
    repo = tmp_path / "locks"
    repo.mkdir()
    docker_cli.kolla("init", "--preset", "2025.1", "--registry", registry.host, "--no-commit", cwd=repo, check=True)
    channels = repo / "lockfiles" / "channels.toml"
    text = channels.read_text()
    # The operator keeps the images this (test) registry has: the preset lists all 148.
    text = re.sub(r"^images = \[\n(    .*\n)*\]\n", f"images = {IMAGES!r}\n".replace("'", '"'), text, flags=re.M)
    text = re.sub(r"^optional-images = \[\n(    .*\n)*\]\n", "", text, flags=re.M)
    channels.write_text(text)
    assert tomli.loads(text)["defaults"]["kolla-ansible"] == "2025.1"
    git(repo, "add", "lockfiles", env=docker_cli.env)
    git(repo, "commit", "-q", "-m", "channels", env=docker_cli.env)
    docker_cli.kolla("--repo", str(repo), "lock", "2025.1", check=True)
    locked = tomli.loads((repo / "lockfiles" / "2025.1.toml").read_text())["images"]
    assert {n: e["tag"] for n, e in locked.items()} == {n: f"{TAG}-1" for n in IMAGES}
    dest = f"{registry.host}/promoted-2025-1"

    # Before promote no tag-revision exists anywhere: the export refuses and names the fix.
    for where in ((), ("--registry", dest)):
        early = docker_cli.kolla("--repo", str(repo), "export", "2025.1", *where)
        assert early.returncode == 1, early.stderr
        line = early.stderr.strip()
        assert len(line.splitlines()) == 1 and "Traceback" not in line
        assert all(f"{n}:{TAG}-1" in line for n in IMAGES)
        assert "docker kolla promote 2025.1 --to" in line and early.stdout == ""

    docker_cli.kolla("--repo", str(repo), "promote", "2025.1", "--to", dest, check=True)
    result = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--registry", dest)
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["docker_registry"] == registry.host and doc["docker_namespace"] == "promoted-2025-1"
    assert "openstack_tag" not in doc and "openstack_release" not in doc  # 5 of 153 images locked
    assert "# openstack_tag is not set" in result.stdout
    pulled = {}
    for var, full in ka.image_fulls("20.6.0", doc).items():
        repository, _, tag = full.rpartition(":")
        name = repository.rsplit("/", 1)[-1]
        if repository.startswith(dest + "/") and name in locked:
            assert tag == locked[name]["tag"], var
            pulled[full] = locked[name]["digest"]
    assert {ref.rsplit("/", 1)[-1].split(":")[0] for ref in pulled} == set(IMAGES)
    for ref, digest in pulled.items():
        assert skopeo_digest(ref) == digest, ref
    # nova-conductor also runs as nova_super_conductor: kolla-ansible pulls the same pinned image.
    assert f"{dest}/nova-conductor:{TAG}-1" in ka.image_fulls("20.6.0", doc)["nova_super_conductor_image_full"]

    pins = tmp_path / "globals.d" / "docker-kolla-pins.yml"
    pins.parent.mkdir()
    wrote = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--registry", dest, "-o", str(pins))
    assert wrote.returncode == 0 and yaml.safe_load(pins.read_text()) == doc
    assert "5 tag-revisions found at the registry with the locked digest" in wrote.stderr
    full = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--registry", dest, "--full")
    assert full.returncode == 0, full.stderr
    assert yaml.safe_load(full.stdout)["nova_api_image_full"] == f"{dest}/nova-api:{TAG}-1"
    offline = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--registry", "nowhere.invalid/x", "--no-check")
    assert offline.returncode == 0, offline.stderr


def test_export_kolla_ansible_override_bad_version_is_exit_2(docker_cli, registry, tmp_path):
    fleet = KollaFleet(registry.host, namespace="openstack.kolla", tag=TAG, name_template="{image}")
    fleet.seed(["keystone"])
    repo = tmp_path / "locks"
    repo.mkdir()
    docker_cli.kolla("init", "--preset", "2025.1", "--registry", registry.host, "--no-commit", cwd=repo, check=True)
    channels = repo / "lockfiles" / "channels.toml"
    text = re.sub(r"^images = \[\n(    .*\n)*\]\n", 'images = ["keystone"]\n', channels.read_text(), flags=re.M)
    channels.write_text(re.sub(r"^optional-images = \[\n(    .*\n)*\]\n", "", text, flags=re.M))
    docker_cli.kolla("--repo", str(repo), "lock", "2025.1", "--no-commit", check=True)
    git(repo, "add", "lockfiles", env=docker_cli.env)
    git(repo, "commit", "-q", "-m", "lock", env=docker_cli.env)
    bad = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--kolla-ansible", "1.0", "-o", str(tmp_path / "x"))
    assert bad.returncode == 2 and "unknown kolla-ansible version '1.0'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
    older = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--kolla-ansible", "18.8.0", "--no-check")
    assert older.returncode == 0 and "kolla-ansible 2024.1 variables" in older.stdout
    for wanted, release in (("9.3.2", "train"), ("train", "train"), ("16", "2023.1"), ("6.2.3", "queens")):
        between = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--kolla-ansible", wanted, "--no-check")
        assert between.returncode == 0 and f"kolla-ansible {release} variables" in between.stdout, between.stderr
        assert f"{TAG}-1" in yaml.safe_load(between.stdout).values()  # keystone pinned by that release's variable
    later = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--kolla-ansible", "23.0.0")
    assert later.returncode == 2 and "no kolla-ansible variable table for 2026.2 ('23.0.0')" in later.stderr
    assert "ocata to 2026.1" in later.stderr and len(later.stderr.strip().splitlines()) == 1


def test_export_refuses_a_tag_revision_that_points_elsewhere(docker_cli, registry, tmp_path):
    fleet = KollaFleet(registry.host, namespace="openstack.kolla", tag=TAG, name_template="{image}")
    fleet.seed(["keystone", "nova-api"])
    repo = tmp_path / "locks"
    repo.mkdir()
    docker_cli.kolla("init", "--preset", "2025.1", "--registry", registry.host, "--no-commit", cwd=repo, check=True)
    channels = repo / "lockfiles" / "channels.toml"
    text = re.sub(
        r"^images = \[\n(    .*\n)*\]\n", 'images = ["keystone", "nova-api"]\n', channels.read_text(), flags=re.M
    )
    channels.write_text(re.sub(r"^optional-images = \[\n(    .*\n)*\]\n", "", text, flags=re.M))
    git(repo, "add", "lockfiles", env=docker_cli.env)
    git(repo, "commit", "-q", "-m", "channels", env=docker_cli.env)
    docker_cli.kolla("--repo", str(repo), "lock", "2025.1", check=True)
    dest = f"{registry.host}/elsewhere-2025-1"
    docker_cli.kolla("--repo", str(repo), "promote", "2025.1", "--to", dest, check=True)
    # Someone overwrites the tag-revision with other bytes at the destination.
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
         f"docker://{dest}/keystone:{TAG}-1", f"docker://{dest}/nova-api:{TAG}-1"],
        check=True, capture_output=True,
    )  # fmt: skip
    moved = docker_cli.kolla("--repo", str(repo), "export", "2025.1", "--registry", dest)
    assert moved.returncode == 1 and moved.stdout == ""
    assert f"1 pointing at another digest than the lock: nova-api:{TAG}-1" in moved.stderr


def test_source_image_keeps_the_venv_and_the_system_copy_of_one_distribution_apart(docker_cli, registry, tmp_path):
    system, venv = "/usr/lib/python3.9/site-packages", "/var/lib/kolla/venv/lib/python3.9/site-packages"

    def push(venv_six: str) -> str:
        os_layer = build_layer({**dist_info(system, "six", "1.15.0"), **dist_info(system, "PyYAML", "5.4.1")})
        venv_layer = build_layer({**dist_info(venv, "six", venv_six), **dist_info(venv, "nova", "31.0.0")})
        return push_image(registry.host, "venv.kolla/nova-api", TAG, [os_layer, venv_layer], {}, oci=True).digest

    first = push("1.16.0")
    repo = tmp_path / "locks"
    (repo / "lockfiles").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main", env=docker_cli.env)
    (repo / "lockfiles" / "channels.toml").write_text(
        f'[defaults]\nregistry = "{registry.host}"\nnamespace = "venv.kolla"\nname-template = "{{image}}"\n'
        f'images = ["nova-api"]\nkolla-ansible = "2025.1"\n\n[channels."2025.1"]\ntag = "{TAG}"\n'
    )
    git(repo, "add", "lockfiles", env=docker_cli.env)
    git(repo, "commit", "-q", "-m", "channels", env=docker_cli.env)
    docker_cli.kolla("--repo", str(repo), "lock", "2025.1", check=True)
    entry = tomli.loads((repo / "lockfiles" / "2025.1.toml").read_text())["images"]["nova-api"]
    assert entry["digest"] == first
    facts = entry["manifesto"]
    assert facts["python:six"] == "1.15.0" and facts["venv:six"] == "1.16.0"  # two keys, neither hides the other
    assert facts["python:pyyaml"] == "5.4.1" and facts["venv:nova"] == "31.0.0"
    assert "python:nova" not in facts and "venv:pyyaml" not in facts

    push("1.17.0")  # only the venv's copy changes: a new revision, and the diff says which copy
    docker_cli.kolla("--repo", str(repo), "lock", "2025.1", check=True)
    entry = tomli.loads((repo / "lockfiles" / "2025.1.toml").read_text())["images"]["nova-api"]
    assert entry["revision"] == 2 and entry["manifesto"]["python:six"] == "1.15.0"
    diff = docker_cli.kolla("--repo", str(repo), "diff", "HEAD~1", "HEAD", check=True).stdout
    assert "venv:six 1.16.0 -> 1.17.0" in diff and "python:six" not in diff
