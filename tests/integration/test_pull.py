"""``docker kolla pull`` through the docker CLI as plugin host, against a real dockerd and registry.

The lock repositories point at a counting proxy in front of the registry, so a test
can tell exactly which images the engine fetched.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry, Lockfile, dumps
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef
from tests.support.paths import PLUGIN

pytestmark = pytest.mark.engine

IMAGES = ("keystone", "nova-api", "glance-api")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.test",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.test",
}


# -- helpers shared with test_status.py ------------------------------------------------


def plugin_env(config_dir: Path) -> dict:
    """Environment for the real docker CLI with docker-kolla installed as a CLI plugin."""
    plugins = config_dir / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "docker-kolla"
    if not link.exists():
        link.symlink_to(PLUGIN)
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY")}
    env.update(DOCKER_CONFIG=str(config_dir), TERM="dumb")
    return env


def docker(env: dict, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV}
    )
    return out.stdout.strip()


def new_lock_repo(path: Path, images=IMAGES) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / "lockfiles").mkdir()
    names = ", ".join(f'"{i}"' for i in images)
    (path / "lockfiles" / "channels.toml").write_text(f'[channels.ocata]\ntag = "ocata"\nimages = [{names}]\n')
    git(path, "add", "lockfiles/channels.toml")
    git(path, "commit", "-q", "-m", "channels")
    return path


def lock_entry(repository: str, image: str, revision: int, pushed) -> LockEntry:
    return LockEntry(
        name=image,
        repository=ImageRef.parse_repository(repository),
        tag=f"ocata-{revision}",
        revision=revision,
        digest=Digest.parse(pushed.digest),
        media_type=pushed.media_type,
        platform=Platform.parse("linux/amd64"),
    )


def commit_lock(repo: Path, entries, message: str) -> str:
    lock = Lockfile(channel="ocata", images={e.name: e for e in entries})
    (repo / "lockfiles" / "ocata.toml").write_text(dumps(lock))
    git(repo, "add", "lockfiles/ocata.toml")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def two_revisions(repo_dir: Path, fleet, host: str, bumped=("nova-api",)) -> dict:
    """Commit revision 1 of IMAGES, rebuild ``bumped``, commit revision 2; returns {image: [entries]}."""
    first = fleet.seed(list(IMAGES))
    old = {i: lock_entry(f"{host}/{fleet.repo(i)}", i, 1, first[i]) for i in IMAGES}
    commit_lock(repo_dir, old.values(), "lock ocata r1")
    new = dict(old)
    for image in bumped:
        new[image] = lock_entry(f"{host}/{fleet.repo(image)}", image, 2, fleet.rebuild(image))
    commit_lock(repo_dir, new.values(), "lock ocata r2")
    return {i: (old[i], new[i]) for i in IMAGES}


def image_attrs(dockerd, ref: str) -> dict | None:
    out = dockerd.docker("image", "inspect", ref, check=False)
    return json.loads(out.stdout)[0] if out.returncode == 0 else None


def assert_one_line_error(result: subprocess.CompletedProcess, code: int) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and lines[0].startswith("docker kolla: error:")


# -- tests ------------------------------------------------------------------------------


@pytest.fixture
def setup(tmp_path, fleet, proxy_factory, registry):
    proxy = proxy_factory(registry)
    repo = new_lock_repo(tmp_path / "locks")
    pins = two_revisions(repo, fleet, proxy.host)
    env = plugin_env(tmp_path / "docker-config")
    return repo, pins, proxy, env


def test_pull_previous_then_head_then_nothing(setup, dockerd):
    repo, pins, proxy, env = setup
    proxy.reset_counts()
    first = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "ocata", "--lock", "HEAD~1", cwd=repo)
    assert first.returncode == 0, first.stderr
    assert "3 pulled" in first.stdout
    for image, (old, _) in pins.items():
        attrs = image_attrs(dockerd, f"{old.repository}:ocata-1")
        assert attrs is not None, image
        assert old.pinned in attrs["RepoDigests"]
    assert proxy.count(kind="manifest") >= 3  # the engine really went to the registry

    proxy.reset_counts()
    second = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "ocata", "--lock", "HEAD", cwd=repo)
    assert second.returncode == 0, second.stderr
    assert "1 pulled, 2 already present" in second.stdout
    old_nova, new_nova = pins["nova-api"]
    assert new_nova.pinned in image_attrs(dockerd, f"{new_nova.repository}:ocata-2")["RepoDigests"]
    # Both revisions' tags stay: roll back is a tag away.
    assert old_nova.pinned in image_attrs(dockerd, f"{old_nova.repository}:ocata-1")["RepoDigests"]
    for image in ("keystone", "glance-api"):
        assert image_attrs(dockerd, f"{pins[image][0].repository}:ocata-2") is None
    # the engine resolved the new pin at the registry; its layers may already sit in the
    # session dockerd's content-addressed store from another test, so no blob count is certain
    assert proxy.count(kind="manifest") >= 1

    proxy.reset_counts()
    third = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "ocata", "--format", "json", cwd=repo)
    assert third.returncode == 0, third.stderr
    doc = json.loads(third.stdout)
    assert {i["action"] for i in doc["images"]} == {"present"}
    assert proxy.count() == 0


def test_mark_deployed_keeps_previous(setup, dockerd):
    repo, pins, proxy, env = setup
    base = ["-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "ocata", "--mark", "deployed"]
    assert docker(env, *base, "--lock", "HEAD~1").returncode == 0
    old_nova, new_nova = pins["nova-api"]
    assert old_nova.pinned in image_attrs(dockerd, f"{old_nova.repository}:ocata-deployed")["RepoDigests"]
    result = docker(env, *base, "--lock", "HEAD")
    assert result.returncode == 0, result.stderr
    assert new_nova.pinned in image_attrs(dockerd, f"{new_nova.repository}:ocata-deployed")["RepoDigests"]
    assert old_nova.pinned in image_attrs(dockerd, f"{old_nova.repository}:ocata-previous")["RepoDigests"]
    keystone = pins["keystone"][0]
    assert keystone.pinned in image_attrs(dockerd, f"{keystone.repository}:ocata-deployed")["RepoDigests"]
    assert image_attrs(dockerd, f"{keystone.repository}:ocata-previous") is None


def test_missing_digest_fails_that_image_only(setup, dockerd, fleet, registry):
    repo, pins, proxy, env = setup
    _, gone = pins["glance-api"]
    fleet.delete("glance-api", str(gone.digest))
    result = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "ocata", cwd=repo)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "glance-api" in result.stderr and "1 of 3 images failed" in result.stderr
    assert "Traceback" not in result.stderr
    for image in ("keystone", "nova-api"):
        _, new = pins[image]
        assert new.pinned in image_attrs(dockerd, f"{new.repository}:{new.tag}")["RepoDigests"]
    assert image_attrs(dockerd, f"{gone.repository}:ocata-1") is None


def test_only_named_images_and_unknown_image(setup, dockerd):
    repo, pins, proxy, env = setup
    result = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "--image", "keystone", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert image_attrs(dockerd, f"{pins['keystone'][1].repository}:ocata-1") is not None
    assert image_attrs(dockerd, f"{pins['nova-api'][1].repository}:ocata-2") is None
    bad = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "--image", "nope", cwd=repo)
    assert_one_line_error(bad, 2)


def test_errors_are_one_line(setup, tmp_path):
    repo, pins, proxy, env = setup
    unreachable = docker(env, "-H", f"unix://{tmp_path}/no-engine.sock", "kolla", "--repo", str(repo), "pull", "ocata")
    assert_one_line_error(unreachable, 3)
    assert "no-engine.sock" in unreachable.stderr
    unknown_ctx = docker(env, "--context", "nope", "kolla", "--repo", str(repo), "pull", "ocata")
    assert_one_line_error(unknown_ctx, 2)
    assert "nope" in unknown_ctx.stderr
    env_ctx = docker({**env, "DOCKER_CONTEXT": "missing"}, "kolla", "--repo", str(repo), "pull", "ocata")
    assert_one_line_error(env_ctx, 2)
    bad_rev = docker(
        env, "-H", f"unix://{tmp_path}/x.sock", "kolla", "--repo", str(repo), "pull", "ocata", "--lock", "HEAD~7"
    )
    assert_one_line_error(bad_rev, 2)


def test_a_pull_stalled_behind_the_engine_ends_at_its_timeout(setup, dockerd, fleet):
    """The engine's registry drips keystone's manifest a byte at a time: the engine's stream
    stalls (the SDK reads it without any timeout). --timeout ends that image's pull with one
    line naming the deadline; the other images are pulled, and keystone is left untagged."""
    repo, pins, proxy, env = setup
    # content no other test pushed, so the session engine cannot have it cached
    pushed = fleet.rebuild("keystone", versions={"python:keystone": f"99.0.{secrets.randbelow(10**9)}"})
    keystone = lock_entry(f"{proxy.host}/{fleet.repo('keystone')}", "keystone", 2, pushed)
    commit_lock(repo, [keystone, pins["nova-api"][1], pins["glance-api"][1]], "lock ocata r3")
    proxy.drip_interval = 5.0  # a ~1 KB manifest would take over an hour
    proxy.set_fault("drip", match=f"{keystone.repository.path}/manifests/", method="GET", phase="body")
    args = ["-H", dockerd.host, "kolla", "--repo", str(repo), "pull", "ocata", "--timeout", "3"]
    result = docker(env, *args, cwd=repo, timeout=600)  # the hang guard of any test, not a figure
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "keystone" in result.stderr and "1 of 3 images failed" in result.stderr, result.stderr
    assert "did not finish within the 3 s deadline" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for image in ("nova-api", "glance-api"):
        _, new = pins[image]
        assert new.pinned in image_attrs(dockerd, f"{new.repository}:{new.tag}")["RepoDigests"]
    assert image_attrs(dockerd, f"{keystone.repository}:{keystone.tag}") is None
    bad = docker(env, *args[:-1], "0", cwd=repo)
    assert_one_line_error(bad, 2)


def test_multiarch_index_digest_is_pulled_and_verified(tmp_path, fleet, registry, dockerd):
    """Locks of multi-arch images pin the index; the engine records that digest in RepoDigests."""
    index = fleet.multiarch("heat-api", with_attestation=True)
    repo = new_lock_repo(tmp_path / "locks", images=("heat-api",))
    pin = LockEntry(
        name="heat-api",
        repository=ImageRef.parse_repository(f"{registry.host}/{fleet.repo('heat-api')}"),
        tag="ocata-1",
        revision=1,
        digest=Digest.parse(index.digest),
        media_type=index.media_type,
        platform=Platform.parse("linux/amd64"),
        platforms={Platform.parse("linux/amd64"): Digest.parse(fleet.children["heat-api"]["linux/amd64"].digest)},
    )
    commit_lock(repo, [pin], "lock multi-arch")
    env = plugin_env(tmp_path / "docker-config")
    result = docker(env, "-H", dockerd.host, "kolla", "--repo", str(repo), "pull")
    assert result.returncode == 0, result.stderr
    assert pin.pinned in image_attrs(dockerd, f"{pin.repository}:ocata-1")["RepoDigests"]
