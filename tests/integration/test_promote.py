"""``promote`` between real registries (anonymous source, htpasswd destination), checked with skopeo.

Request counts come from a counting Proxy in front of the destination and from
the RegistryClient stats; faults (a failing upload, a corrupted source blob)
are injected by the same Proxy.
"""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from docker_kolla.adapters.auth import Authenticator
from docker_kolla.adapters.copier import Copier
from docker_kolla.adapters.credentials import CredentialStore
from docker_kolla.adapters.gitstore import LockRepo
from docker_kolla.adapters.http import RetryPolicy, make_session
from docker_kolla.adapters.registry import RegistryClient
from docker_kolla.core import lockfile
from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.ops.promote import COPIED, FAILED, PRESENT, TAGGED, PromoteOptions, run_promote
from tests.support import KollaFleet
from tests.support.paths import PLUGIN
from tests.support.skopeo import skopeo_copy

FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.05, retry_after_cap=0.1)
ROOT = Path(__file__).resolve().parents[2]
CLI = str(PLUGIN)
USER, PASSWORD = "kolla", "s3cret"


# -- helpers -------------------------------------------------------------------------


def make_client(auths: dict | None = None) -> RegistryClient:
    """A client whose config.json ``auths`` holds ``{host: (user, password)}``."""
    config = {
        "auths": {
            host: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for host, (u, p) in (auths or {}).items()
        }
    }
    session = make_session("docker-kolla-test", pool_size=16)
    return RegistryClient(session, Authenticator(session, CredentialStore(config, {}), policy=FAST), policy=FAST)


def write_lock_repo(
    root: Path,
    fleet: KollaFleet,
    revisions: dict,
    *,
    source_host: str | None = None,
    channel: str = "ocata",
    static: bool = False,
    message: str = "lock",
) -> Path:
    """Write channels.toml and ``lockfiles/<channel>.toml`` for ``{image: revision}`` and commit them.

    The digests are what the fleet pushed last; ``source_host`` names another host
    (a proxy) in the lock's repositories.
    """
    host = source_host or fleet.host
    lockdir = root / "lockfiles"
    lockdir.mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        _git(root, "init", "-q", "-b", "main")
    images = sorted(revisions)
    (lockdir / "channels.toml").write_text(
        f'[defaults]\nregistry = "{host}"\nnamespace = "{fleet.namespace}"\nimages = {json.dumps(images)}\n\n'
        f'[channels.{channel}]\ntag = "{fleet.tag}"\n' + ("static = true\n" if static else "")
    )
    lock = Lockfile(channel=channel, static=static)
    for image, revision in revisions.items():
        pushed = fleet.pushed[image]
        kids = fleet.children.get(image, {})
        lock = lock.with_entry(
            LockEntry(
                name=image,
                repository=ImageRef.parse_repository(f"{host}/{fleet.repo(image)}"),
                tag=fleet.tag if static else f"{fleet.tag}-{revision}",
                revision=None if static else revision,
                digest=Digest.parse(pushed.digest),
                media_type=pushed.media_type,
                platform=Platform.parse("linux/amd64"),
                platforms={Platform.parse(p): Digest.parse(k.digest) for p, k in kids.items()},
                manifesto={"label:kolla_version": "4.0.0"},
            )
        )
    (lockdir / f"{channel}.toml").write_text(lockfile.dumps(lock))
    _git(root, "add", "lockfiles")
    _git(root, "commit", "-q", "-m", message)
    return root


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def skopeo_raw(ref: str, creds: str | None = None) -> bytes:
    args = [
        "skopeo",
        "inspect",
        "--raw",
        "--tls-verify=false",
        *(["--creds", creds] if creds else []),
        f"docker://{ref}",
    ]
    return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout


def skopeo_digest(ref: str, creds: str | None = None) -> str:
    return str(Digest.of(skopeo_raw(ref, creds)))


def skopeo_missing(ref: str, creds: str | None = None) -> bool:
    args = [
        "skopeo",
        "inspect",
        "--raw",
        "--tls-verify=false",
        *(["--creds", creds] if creds else []),
        f"docker://{ref}",
    ]
    return subprocess.run(args, capture_output=True, timeout=60).returncode != 0


def promote(repo: Path, to: str, src: RegistryClient, dst: RegistryClient, **kw):
    with LockRepo.open(repo) as lock_repo, Copier(src, dst, blob_jobs=4) as copier:
        return run_promote(lock_repo, PromoteOptions(channel="ocata", to=to, jobs=4, **kw), src, dst, copier)


def statuses(result) -> dict:
    return {o.item.target.name: o.status for o in result.outcomes}


@pytest.fixture
def ns() -> str:
    return f"mirror-{uuid.uuid4().hex[:8]}"


CREDS = f"{USER}:{PASSWORD}"


# -- tests ---------------------------------------------------------------------------------


def test_promote_to_htpasswd_registry_then_second_run_writes_nothing(
    fleet, htpasswd_registry, proxy_factory, tmp_path, ns
):
    fleet.seed(["nova-api", "keystone"])
    fleet.multiarch("glance-api")
    repo = write_lock_repo(tmp_path / "locks", fleet, {"nova-api": 3, "keystone": 1, "glance-api": 2})
    dst_proxy = proxy_factory(htpasswd_registry)
    src, dst = make_client(), make_client({dst_proxy.host: (USER, PASSWORD)})

    result = promote(repo, f"{dst_proxy.host}/{ns}", src, dst)
    assert statuses(result) == {"nova-api": COPIED, "keystone": COPIED, "glance-api": COPIED}
    # shared base layers travel once; the other destination repositories mount them
    assert result.totals.bytes_moved > 0 and result.totals.bytes_mounted > 0

    dest = htpasswd_registry.host
    for image, rev in (("nova-api", 3), ("keystone", 1), ("glance-api", 2)):
        locked = fleet.pushed[image].digest
        name = fleet.name(image)
        assert skopeo_digest(f"{dest}/{ns}/{name}:ocata-{rev}", CREDS) == locked
        assert skopeo_digest(f"{dest}/{ns}/{name}:ocata", CREDS) == locked
    # the multi-arch index arrives whole: same bytes, every child (attestations too) present
    index_raw = skopeo_raw(f"{dest}/{ns}/{fleet.name('glance-api')}:ocata-2", CREDS)
    assert index_raw == fleet.pushed["glance-api"].manifest_bytes
    children = json.loads(index_raw)["manifests"]
    assert len(children) == 4
    for child in children:
        assert skopeo_digest(f"{dest}/{ns}/{fleet.name('glance-api')}@{child['digest']}", CREDS) == child["digest"]
    inspected = json.loads(
        subprocess.run(
            [
                "skopeo",
                "inspect",
                "--tls-verify=false",
                "--creds",
                CREDS,
                "--override-arch",
                "arm64",
                f"docker://{dest}/{ns}/{fleet.name('glance-api')}:ocata",
            ],
            check=True,
            capture_output=True,
        ).stdout
    )
    assert inspected["Architecture"] == "arm64"

    dst_proxy.reset_counts()
    again_src, again_dst = make_client(), make_client({dst_proxy.host: (USER, PASSWORD)})
    second = promote(repo, f"{dst_proxy.host}/{ns}", again_src, again_dst)
    assert set(statuses(second).values()) == {PRESENT}
    assert second.totals.bytes_moved == 0 and second.totals.manifests_put == 0
    assert again_dst.stats.puts == 0 and again_src.stats.bytes_downloaded == 0
    assert dst_proxy.count("PUT") == dst_proxy.count("POST") == dst_proxy.count("PATCH") == 0
    assert dst_proxy.count(kind="blob") == 0


def test_bump_moves_channel_tag_and_immutable_conflict_is_refused(fleet, htpasswd_registry, tmp_path, ns):
    fleet.seed(["nova-api", "keystone"])
    first = {"nova-api": fleet.pushed["nova-api"].digest, "keystone": fleet.pushed["keystone"].digest}
    repo = write_lock_repo(tmp_path / "locks", fleet, {"nova-api": 1, "keystone": 1})
    dst = make_client({htpasswd_registry.host: (USER, PASSWORD)})
    to = f"{htpasswd_registry.host}/{ns}"
    promote(repo, to, make_client(), dst)

    fleet.rebuild("nova-api", versions={"nova": "15.0.9"})
    bumped = fleet.pushed["nova-api"].digest
    write_lock_repo(repo, fleet, {"nova-api": 2, "keystone": 1}, message="bump nova-api")
    result = promote(repo, to, make_client(), dst)
    assert statuses(result) == {"nova-api": COPIED, "keystone": PRESENT}
    nova = f"{htpasswd_registry.host}/{ns}/{fleet.name('nova-api')}"
    assert skopeo_digest(f"{nova}:ocata-2", CREDS) == bumped
    assert skopeo_digest(f"{nova}:ocata", CREDS) == bumped
    assert skopeo_digest(f"{nova}:ocata-1", CREDS) == first["nova-api"]
    # only the new layer(s) moved: the shared base layers were already there
    assert 0 < result.totals.bytes_moved < sum(layer.size for layer in fleet.pushed["nova-api"].layers)

    # a lock that claims ocata-2 is yet another digest: refused, nothing overwritten (exit 1 via the CLI)
    fleet.rebuild("nova-api", versions={"nova": "15.0.10"})
    write_lock_repo(repo, fleet, {"nova-api": 2, "keystone": 1}, message="rewritten history")
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps({"auths": {htpasswd_registry.host: {"auth": base64.b64encode(CREDS.encode()).decode()}}})
    )
    proc = subprocess.run(
        [CLI, "--config", str(config), "--repo", str(repo), "promote", "ocata", "--to", to],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "refused" in proc.stderr and "ocata-2" in proc.stderr and "never overwritten" in proc.stderr
    assert skopeo_digest(f"{nova}:ocata-2", CREDS) == bumped
    assert skopeo_digest(f"{nova}:ocata", CREDS) == bumped


def test_failed_upload_leaves_no_tag_and_rerun_converges(fleet, htpasswd_registry, proxy_factory, tmp_path, ns):
    fleet.seed(["nova-api", "nova-compute", "keystone"])
    repo = write_lock_repo(tmp_path / "locks", fleet, {"nova-api": 1, "nova-compute": 1, "keystone": 1})
    dst_proxy = proxy_factory(htpasswd_registry)
    victim = fleet.pushed["nova-compute"].layers[-1].digest.split(":")[1]  # the image's own layer
    dst_proxy.set_fault("status", match=victim, method="PUT", status=500)
    to = f"{dst_proxy.host}/{ns}"
    dst = make_client({dst_proxy.host: (USER, PASSWORD)})

    result = promote(repo, to, make_client(), dst)
    assert statuses(result) == {"nova-api": COPIED, "nova-compute": FAILED, "keystone": COPIED}
    assert "upload" in result.outcomes[[o.item.target.name for o in result.outcomes].index("nova-compute")].error
    compute = f"{htpasswd_registry.host}/{ns}/{fleet.name('nova-compute')}"
    assert skopeo_missing(f"{compute}:ocata-1", CREDS) and skopeo_missing(f"{compute}:ocata", CREDS)

    dst_proxy.clear_faults()
    dst_proxy.reset_counts()
    again = promote(repo, to, make_client(), make_client({dst_proxy.host: (USER, PASSWORD)}))
    assert statuses(again) == {"nova-api": PRESENT, "nova-compute": COPIED, "keystone": PRESENT}
    assert again.totals.blobs_uploaded == 1  # only the layer that failed; the rest was already there
    assert skopeo_digest(f"{compute}:ocata-1", CREDS) == fleet.pushed["nova-compute"].digest
    assert skopeo_digest(f"{compute}:ocata", CREDS) == fleet.pushed["nova-compute"].digest


def test_corrupt_source_blob_aborts_that_image_and_keeps_its_tags(
    fleet, registry, htpasswd_registry, proxy_factory, tmp_path, ns
):
    fleet.seed(["nova-api", "keystone"])
    src_proxy = proxy_factory(registry)
    repo = write_lock_repo(tmp_path / "locks", fleet, {"nova-api": 1, "keystone": 1}, source_host=src_proxy.host)
    dst = make_client({htpasswd_registry.host: (USER, PASSWORD)})
    to = f"{htpasswd_registry.host}/{ns}"
    promote(repo, to, make_client(), dst)
    old = fleet.pushed["nova-api"].digest

    fleet.rebuild("nova-api", extra_file=True)
    fleet.rebuild("keystone", extra_file=True)
    write_lock_repo(repo, fleet, {"nova-api": 2, "keystone": 2}, source_host=src_proxy.host, message="bump")
    bad = fleet.pushed["nova-api"].layers[-1].digest.split(":")[1]
    src_proxy.set_fault("corrupt", match=bad, method="GET", kind="blob")
    result = promote(repo, to, make_client(), dst)
    assert statuses(result) == {"nova-api": FAILED, "keystone": COPIED}
    error = next(o.error for o in result.outcomes if o.status == FAILED)
    assert "expected sha256:" + bad in error
    nova = f"{htpasswd_registry.host}/{ns}/{fleet.name('nova-api')}"
    assert skopeo_digest(f"{nova}:ocata", CREDS) == old
    assert skopeo_missing(f"{nova}:ocata-2", CREDS)
    assert not dst.blob_exists(make_ref(nova), Digest.parse("sha256:" + bad))


def make_ref(repository: str):
    from docker_kolla.core.reference import ImageRef

    return ImageRef.parse(repository)


def test_same_registry_uses_cross_repository_mount(fleet, registry, tmp_path, ns):
    fleet.seed(["nova-api", "keystone"])
    fleet.multiarch("glance-api")
    repo = write_lock_repo(tmp_path / "locks", fleet, {"nova-api": 1, "keystone": 1, "glance-api": 1})
    client = make_client()
    result = promote(repo, f"{registry.host}/{ns}", client, client)
    assert set(statuses(result).values()) == {COPIED}
    assert result.totals.bytes_mounted > 0 and result.totals.bytes_moved == 0
    assert result.totals.blobs_uploaded == 0 and client.stats.bytes_downloaded == 0
    for image in ("nova-api", "keystone", "glance-api"):
        assert skopeo_digest(f"{registry.host}/{ns}/{fleet.name(image)}:ocata-1") == fleet.pushed[image].digest


def test_platform_subset_makes_new_index(fleet, registry, htpasswd_registry, tmp_path, ns):
    fleet.multiarch("glance-api")
    repo = write_lock_repo(tmp_path / "locks", fleet, {"glance-api": 4})
    dst = make_client({htpasswd_registry.host: (USER, PASSWORD)})
    result = promote(repo, f"{htpasswd_registry.host}/{ns}", make_client(), dst, platforms=("linux/arm64",))
    assert statuses(result) == {"glance-api": COPIED}
    (target,) = result.subsets
    assert target.digest != target.locked
    raw = skopeo_raw(f"{htpasswd_registry.host}/{ns}/{fleet.name('glance-api')}:ocata-4", CREDS)
    assert str(Digest.of(raw)) == str(target.digest)
    kept = json.loads(raw)["manifests"]
    arm = fleet.children["glance-api"]["linux/arm64/v8"].digest
    assert [m["digest"] for m in kept][0] == arm and len(kept) == 2  # arm64 and its attestation
    amd = fleet.children["glance-api"]["linux/amd64"].digest
    assert skopeo_missing(f"{htpasswd_registry.host}/{ns}/{fleet.name('glance-api')}@{amd}", CREDS)
    again = promote(repo, f"{htpasswd_registry.host}/{ns}", make_client(), dst, platforms=("linux/arm64",))
    assert statuses(again) == {"glance-api": PRESENT}


def test_static_channel_gets_release_tag_only(fleet, registry, tmp_path, ns):
    fleet.seed(["keystone"])
    repo = write_lock_repo(tmp_path / "locks", fleet, {"keystone": 1}, static=True)
    client = make_client()
    result = promote(repo, f"{registry.host}/{ns}", client, client)
    assert [o.item.put_tags for o in result.outcomes] == [("ocata",)]
    tags = client.list_tags(make_ref(f"{registry.host}/{ns}/{fleet.name('keystone')}"))
    assert tags == ["ocata"]
    again = make_client()
    assert statuses(promote(repo, f"{registry.host}/{ns}", again, again)) == {"keystone": PRESENT}
    assert again.stats.puts == 0


def test_present_revision_is_retagged_without_copying(fleet, registry, tmp_path, ns):
    """The immutable ``:ocata-1`` is already at the destination (put there by skopeo), ``:ocata`` is not:
    promote only moves ``:ocata`` onto it: one manifest PUT, no blob."""
    fleet.seed(["keystone"])
    digest = fleet.pushed["keystone"].digest
    dest = f"{registry.host}/{ns}/{fleet.name('keystone')}"
    skopeo_copy(fleet.digest_ref("keystone"), f"{dest}:ocata-1")
    assert skopeo_missing(f"{dest}:ocata")
    repo = write_lock_repo(tmp_path / "locks", fleet, {"keystone": 1})
    client = make_client()
    result = promote(repo, f"{registry.host}/{ns}", client, client)
    assert statuses(result) == {"keystone": TAGGED}
    assert [o.item.put_tags for o in result.outcomes] == [("ocata",)]
    assert client.stats.puts == 1 and result.totals.bytes_moved == 0 and client.stats.blob_heads == 0
    assert skopeo_digest(f"{dest}:ocata") == digest and skopeo_digest(f"{dest}:ocata-1") == digest


def test_channel_tag_moved_elsewhere_is_put_back_without_copying(fleet, registry, tmp_path, ns):
    fleet.seed(["keystone"])
    old = fleet.pushed["keystone"]
    repo = write_lock_repo(tmp_path / "locks", fleet, {"keystone": 1})
    client = make_client()
    to = f"{registry.host}/{ns}"
    promote(repo, to, client, client)
    fleet.rebuild("keystone", extra_file=True)
    write_lock_repo(repo, fleet, {"keystone": 2}, message="bump")
    promote(repo, to, client, client)
    dest = make_ref(f"{registry.host}/{ns}/{fleet.name('keystone')}")
    client.put_manifest(dest.with_tag("ocata"), old.manifest_bytes, old.media_type)  # someone moved it back
    client = make_client()
    result = promote(repo, to, client, client)
    assert statuses(result) == {"keystone": TAGGED}
    assert client.stats.puts == 1 and result.totals.bytes_moved == 0 and client.stats.blob_heads == 0
    assert skopeo_digest(f"{registry.host}/{ns}/{fleet.name('keystone')}:ocata") == fleet.pushed["keystone"].digest
    assert skopeo_digest(f"{registry.host}/{ns}/{fleet.name('keystone')}:ocata-1") == old.digest


def test_cli_dry_run_exit_codes_and_json(fleet, registry, tmp_path, ns):
    fleet.seed(["keystone"])
    repo = write_lock_repo(tmp_path / "locks", fleet, {"keystone": 1})
    to = f"{registry.host}/{ns}"
    base = [CLI, "--repo", str(repo), "promote", "ocata", "--to", to]
    dry = subprocess.run(base + ["--dry-run", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert dry.returncode == 1, dry.stderr
    doc = json.loads(dry.stdout)
    assert doc["images"][0]["action"] == "copy" and doc["images"][0]["put-tags"] == ["ocata-1", "ocata"]
    assert skopeo_missing(f"{to}/{fleet.name('keystone')}:ocata-1")
    real = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert real.returncode == 0, real.stderr
    assert "1 copied" in real.stdout and "moved" in real.stdout
    assert skopeo_digest(f"{to}/{fleet.name('keystone')}:ocata-1") == fleet.pushed["keystone"].digest
    done = subprocess.run(base + ["--dry-run"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "1 already present" in done.stdout


def test_token_registry_mount_asks_for_source_pull_scope(fleet_factory, token_registry, token_server, tmp_path, ns):
    src_fleet = fleet_factory(token_registry, auth=(USER, PASSWORD))
    # one image only: the support Client's own mounts lack the `from` scope on a token registry
    src_fleet.seed(["nova-api"])
    repo = write_lock_repo(tmp_path / "locks", src_fleet, {"nova-api": 1})
    client = make_client({token_registry.host: (USER, PASSWORD)})
    token_server.reset()
    result = promote(repo, f"{token_registry.host}/{ns}", client, client)
    assert set(statuses(result).values()) == {COPIED}
    assert result.totals.bytes_moved == 0 and result.totals.blobs_mounted > 0
    # the destination token for a mount also carries pull on the source repository
    src_repo = src_fleet.repo("nova-api")
    dst_repo = f"{ns}/{src_fleet.name('nova-api')}"
    assert token_server.count(scope=f"repository:{src_repo}:pull") >= 1
    assert any(
        f"repository:{dst_repo}:pull,push" in r.scopes and f"repository:{src_repo}:pull" in r.scopes
        for r in token_server.requests
    )
    assert skopeo_digest(f"{token_registry.host}/{dst_repo}:ocata", CREDS) == src_fleet.pushed["nova-api"].digest


def test_killed_promote_leaves_no_tag_on_incomplete_image_and_rerun_converges(
    fleet, htpasswd_registry, proxy_factory, tmp_path, ns
):
    names = ["nova-api", "nova-compute", "keystone", "glance-api", "cinder-api"]
    fleet.seed(names)
    repo = write_lock_repo(tmp_path / "locks", fleet, {n: 1 for n in names})
    dst_proxy = proxy_factory(htpasswd_registry, latency_ms=40)
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps({"auths": {dst_proxy.host: {"auth": base64.b64encode(CREDS.encode()).decode()}}})
    )
    to = f"{dst_proxy.host}/{ns}"
    proc = subprocess.Popen(
        [CLI, "--config", str(config), "--repo", str(repo), "promote", "ocata", "--to", to, "--jobs", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = 600
        while dst_proxy.count("PUT", "upload") < 6 and proc.poll() is None and deadline:
            subprocess.run(["sleep", "0.05"])
            deadline -= 1
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert dst_proxy.count("PUT", "upload") >= 6
    check = make_client({htpasswd_registry.host: (USER, PASSWORD)})
    incomplete = 0
    for name in names:
        dest = make_ref(f"{htpasswd_registry.host}/{ns}/{fleet.name(name)}")
        pushed = fleet.pushed[name]
        complete = all(
            check.blob_exists(dest, Digest.parse(d))
            for d in [pushed.config_digest] + [layer.digest for layer in pushed.layers]
        )
        tagged = not skopeo_missing(f"{dest.repository}:ocata-1", CREDS)
        assert complete or not tagged, f"{name} tagged while incomplete"
        incomplete += not tagged
    assert incomplete > 0  # the kill did interrupt the run

    again = promote(repo, to, make_client(), make_client({dst_proxy.host: (USER, PASSWORD)}))
    assert not again.by_status(FAILED) and again.by_status(COPIED)
    for name in names:
        dest = f"{htpasswd_registry.host}/{ns}/{fleet.name(name)}"
        assert (
            skopeo_digest(f"{dest}:ocata-1", CREDS)
            == skopeo_digest(f"{dest}:ocata", CREDS)
            == fleet.pushed[name].digest
        )
