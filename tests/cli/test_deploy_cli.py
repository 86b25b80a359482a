"""``export`` / ``pull`` / ``status`` through the docker CLI as plugin host: formats, files, errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from docker_kolla.core.lockfile import LockEntry, Lockfile, dumps
from tests.support.entries import pinned

REG = "registry.example:4000/kolla"
IMAGES = ("keystone", "nova-api", "nova-placement-api", "dnsmasq", "openvswitch-db-server", "nova-base")


def git(repo: Path, env: dict, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def entry(name: str, revision: int) -> LockEntry:
    return pinned(name, revision, repo=REG, media_type="application/vnd.docker.distribution.manifest.v2+json")


@pytest.fixture
def lock_repo(tmp_path, docker_cli) -> Path:
    """Two lock commits: everything at ocata-1, then nova-api and the placement API at ocata-2."""
    repo = tmp_path / "locks"
    (repo / "lockfiles").mkdir(parents=True)
    git(repo, docker_cli.env, "init", "-q", "-b", "main")
    names = ", ".join(f'"{i}"' for i in IMAGES)
    (repo / "lockfiles" / "channels.toml").write_text(f'[channels.ocata]\ntag = "ocata"\nimages = [{names}]\n')
    for revision_of in ({}, {"nova-api": 2, "nova-placement-api": 2}):
        lock = Lockfile("ocata", {i: entry(i, revision_of.get(i, 1)) for i in IMAGES})
        (repo / "lockfiles" / "ocata.toml").write_text(dumps(lock))
        git(repo, docker_cli.env, "add", "lockfiles")
        git(repo, docker_cli.env, "commit", "-q", "-m", f"lock {len(revision_of)}")
    return repo


def one_line_error(result: subprocess.CompletedProcess, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("docker kolla: error:"), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_export_kolla_ansible_vars(docker_cli, lock_repo):
    result = docker_cli.kolla("--repo", str(lock_repo), "export", "ocata", "--format", "kolla-ansible", "--no-check")
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    # The lock covers 5 of the images kolla-ansible deploys: no global openstack_release (the
    # others have no ocata-N tag), each covered container by its own variable instead.
    assert "# openstack_release is not set" in result.stdout
    assert doc == {
        "docker_registry": "registry.example:4000",
        "docker_namespace": "kolla",
        "kolla_base_distro": "centos",
        "kolla_install_type": "binary",
        "keystone_tag": "ocata-1",
        "ironic_dnsmasq_tag": "ocata-1",
        "openvswitch_db_tag": "ocata-1",
        "nova_api_tag": "ocata-2",
        "placement_api_tag": "ocata-2",
    }
    older = docker_cli.kolla("--repo", str(lock_repo), "export", "--lock", "HEAD~1", "--no-check").stdout
    assert yaml.safe_load(older)["nova_api_tag"] == "ocata-1"


@pytest.mark.parametrize("fmt", ["kolla-k8s", "helm", "compose"])
def test_export_yaml_formats_pin_digests(docker_cli, lock_repo, fmt):
    result = docker_cli.kolla("--repo", str(lock_repo), "export", "ocata", "-f", fmt, "--registry", "mirror.test/ops")
    assert result.returncode == 0, result.stderr
    text = json.dumps(yaml.safe_load(result.stdout))
    for image in IMAGES:
        revision = 2 if image in ("nova-api", "nova-placement-api") else 1
        assert f"mirror.test/ops/centos-binary-{image}@{entry(image, revision).digest}" in text


def test_compose_export_is_accepted_by_compose(docker_cli, lock_repo, tmp_path):
    import shutil

    compose = shutil.which("docker-compose")
    assert compose, "docker-compose (Debian package) is missing: run `make deps`"
    target = tmp_path / "compose.yml"
    assert docker_cli.kolla("--repo", str(lock_repo), "export", "-f", "compose", "-o", str(target)).returncode == 0
    checked = subprocess.run(
        [compose, "-f", str(target), "config", "--services"], capture_output=True, text=True, env=docker_cli.env
    )
    assert checked.returncode == 0, checked.stderr
    assert sorted(checked.stdout.split()) == sorted(IMAGES)


def test_export_list_and_json(docker_cli, lock_repo):
    listed = docker_cli.kolla("--repo", str(lock_repo), "export", "-f", "list").stdout.splitlines()
    assert len(listed) == len(IMAGES) and all("@sha256:" in line for line in listed)
    doc = json.loads(docker_cli.kolla("--repo", str(lock_repo), "export", "-f", "json").stdout)
    assert {i["name"]: i["tag"] for i in doc["images"]}["nova-api"] == "ocata-2"


def test_export_output_file_is_replaced_atomically(docker_cli, lock_repo, tmp_path):
    target = tmp_path / "out" / "globals-pins.yml"
    target.parent.mkdir()
    target.write_text("old: content\n")
    result = docker_cli.kolla(
        "--repo", str(lock_repo), "export", "-f", "kolla-ansible", "--no-check", "--output", str(target)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert yaml.safe_load(target.read_text())["nova_api_tag"] == "ocata-2"
    assert sorted(p.name for p in target.parent.iterdir()) == ["globals-pins.yml"]
    missing_dir = docker_cli.kolla(
        "--repo", str(lock_repo), "export", "--no-check", "--output", str(tmp_path / "nope" / "x.yml")
    )
    one_line_error(missing_dir, 3)


def test_bad_input_is_one_line_exit_2(docker_cli, lock_repo):
    assert "HEAD~9" in one_line_error(docker_cli.kolla("--repo", str(lock_repo), "export", "--lock", "HEAD~9"), 2)
    one_line_error(docker_cli.kolla("--repo", str(lock_repo), "export", "-f", "xml"), 2)
    one_line_error(docker_cli.kolla("--repo", str(lock_repo), "export", "--registry", "https://x"), 2)
    one_line_error(docker_cli.kolla("--repo", str(lock_repo), "pull", "--lock", "nosuchrev"), 2)
    one_line_error(docker_cli.kolla("--repo", str(lock_repo), "status", "--lock", "nosuchrev"), 2)
    one_line_error(docker_cli.kolla("--repo", str(lock_repo), "pull", "--mark", "previous"), 2)


def test_engine_errors_are_one_line(docker_cli, lock_repo, tmp_path):
    sock = f"unix://{tmp_path}/none.sock"
    assert "none.sock" in one_line_error(docker_cli.run("-H", sock, "kolla", "--repo", str(lock_repo), "pull"), 3)
    one_line_error(docker_cli.run("-H", sock, "kolla", "--repo", str(lock_repo), "status"), 3)
    assert "ghost" in one_line_error(
        docker_cli.run("--context", "ghost", "kolla", "--repo", str(lock_repo), "status"), 2
    )
    one_line_error(docker_cli.kolla("--repo", str(lock_repo), "status", env={"DOCKER_CONTEXT": "ghost"}), 2)
    one_line_error(docker_cli.kolla("--repo", str(lock_repo), "status", "--context", "ghost"), 2)
    # A context whose engine is down: exit 3, and the message names the context.
    made = docker_cli.run("context", "create", "down", "--docker", f"host={sock}")
    assert made.returncode == 0, made.stderr
    assert "down" in one_line_error(docker_cli.run("--context", "down", "kolla", "--repo", str(lock_repo), "status"), 3)
