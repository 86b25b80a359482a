"""Issue 5 end to end: rpm images, zstd layers, whiteouts, label checks, the layer cache, via `docker kolla`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import tomli

from tests.cli.lockrepo import git, make_repo
from tests.support.content import SITE_PACKAGES, dist_info, dpkg_status
from tests.support.layers import build_layer
from tests.support.push import push_image

RPMDB = Path(__file__).resolve().parents[1] / "fixtures" / "rpmdb" / "sqlite" / "rpmdb.sqlite.gz"


def inspect(docker_cli, ref: str, cwd, *extra) -> dict:
    proc = docker_cli.kolla("inspect", ref, "--format", "json", *extra, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_rpm_image_lists_rpm_packages(docker_cli, registry, tmp_path):
    assert RPMDB.exists(), f"missing fixture {RPMDB}"
    layer = build_layer(
        {
            "/var/lib/rpm/rpmdb.sqlite": gzip.decompress(RPMDB.read_bytes()),
            **dist_info("/usr/lib/python2.7/site-packages", "nova", "15.0.2"),
        }
    )
    pushed = push_image(registry.host, "rpm/centos-binary-nova-api", "ocata", [layer], {"kolla_version": "4.0.2"})
    doc = inspect(docker_cli, f"{registry.host}/rpm/centos-binary-nova-api:ocata", tmp_path)
    assert doc["digest"] == pushed.digest
    assert doc["manifesto"]["rpm:bash"] == "5.1.8-1.cm2"
    assert doc["manifesto"]["python:nova"] == "15.0.2"
    assert sum(k.startswith("rpm:") for k in doc["manifesto"]) == 129


def test_upper_layers_whiteouts_and_rewritten_status(docker_cli, registry, tmp_path):
    base = build_layer(
        {
            "/var/lib/dpkg/status": dpkg_status({"openssl": "1.1.0f-3", "vim": "8.0"}),
            **dist_info(SITE_PACKAGES, "requests", "2.12.4"),
        }
    )
    upper = build_layer(
        {"/var/lib/dpkg/status": dpkg_status({"openssl": "1.1.0f-3+deb9u2"})},
        whiteouts=[f"{SITE_PACKAGES}/requests-2.12.4.dist-info"],
        compression="zstd",
    )
    push_image(registry.host, "wh/centos-binary-x", "ocata", [base, upper], {}, oci=True)
    manifesto = inspect(docker_cli, f"{registry.host}/wh/centos-binary-x:ocata", tmp_path)["manifesto"]
    assert manifesto.get("deb:openssl") == "1.1.0f-3+deb9u2"
    assert "deb:vim" not in manifesto and "python:requests" not in manifesto


def test_label_disagreeing_with_content_warns_and_strict_fails(docker_cli, registry, tmp_path):
    layer = build_layer(dist_info(SITE_PACKAGES, "kolla", "4.0.1"))
    push_image(registry.host, "lbl/centos-binary-nova-api", "ocata", [layer], {"kolla_version": "4.0.2"})
    fleet = type("F", (), {"host": registry.host, "namespace": "lbl", "tag": "ocata"})
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"])
    head = git(repo, "rev-parse", "HEAD")
    strict = docker_cli.kolla("lock", "ocata", "--strict-labels", cwd=repo)
    assert (
        strict.returncode == 1
        and "label kolla_version says kolla 4.0.2, content has python:kolla 4.0.1" in strict.stderr
    )
    assert git(repo, "rev-parse", "HEAD") == head
    lenient = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert lenient.returncode == 0 and "warning: nova-api: label kolla_version says kolla 4.0.2" in lenient.stderr
    entry = tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]["nova-api"]
    assert entry["manifesto"] == {"python:kolla": "4.0.1"} and entry["labels"]["kolla_version"] == "4.0.2"


def test_layer_cache_makes_a_second_cold_lock_fetch_no_blob(docker_cli, fleet, proxy_factory, tmp_path):
    images = ["nova-api", "nova-compute", "keystone"]
    fleet.seed(images)
    proxy = proxy_factory(fleet.host)
    via = type("F", (), {"host": proxy.host, "namespace": fleet.namespace, "tag": "ocata"})
    first = make_repo(tmp_path / "one", docker_cli, via, images)
    assert docker_cli.kolla("lock", "ocata", cwd=first).returncode == 0
    layer_gets = proxy.count(method="GET", kind="blob")
    assert layer_gets > 0
    proxy.reset_counts()
    second = make_repo(tmp_path / "two", docker_cli, via, images)  # a fresh repo: no lock to start from
    assert docker_cli.kolla("lock", "ocata", cwd=second).returncode == 0
    # only the three config blobs: every layer comes from the persistent cache
    assert proxy.count(method="GET", kind="blob") == len(images)
    assert (first / "lockfiles" / "ocata.toml").read_text() == (second / "lockfiles" / "ocata.toml").read_text()


def test_verify_catches_a_wrong_merge_of_two_lock_branches(docker_cli, fleet, tmp_path):
    fleet.seed(["nova-api", "keystone"])
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api", "keystone"])
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    assert docker_cli.kolla("lock", "ocata", "--branch", "update-a", cwd=repo).returncode == 0
    fleet.rebuild("nova-api", versions={"nova": "15.0.4"})
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0  # main: nova-api ocata-2 (15.0.4)
    git(repo, "merge", "-q", "-X", "theirs", "-m", "merge update-a", "update-a", env=docker_cli.env)
    assert docker_cli.kolla("verify", cwd=repo).returncode != 0
    out = docker_cli.kolla("verify", cwd=repo)
    assert out.returncode == 1 and "nova-api: revision 2" in out.stdout and "expected 3" in out.stdout


def test_verify_remote_names_a_pinned_digest_that_vanished(docker_cli, fleet, tmp_path):
    fleet.seed(["nova-api", "keystone"])
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api", "keystone"])
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    assert docker_cli.kolla("verify", "--remote", cwd=repo).returncode == 0
    fleet.delete("keystone")
    out = docker_cli.kolla("verify", "ocata", "--remote", cwd=repo)
    assert out.returncode == 1 and "keystone: pinned digest" in out.stdout and "no longer exists" in out.stdout
    assert "nova-api" not in out.stdout
