"""Issue 11: `lock` / `inspect --trust-attached-manifesto` use a manifesto artifact signed by a
trusted key instead of scanning the layers (requests counted at a proxy in front of the
registry); an unsigned, foreign-key or wrong-subject artifact is not trusted, and the layers
are scanned as usual."""

from __future__ import annotations

import json

import tomli

from tests.cli.lockrepo import git, make_repo
from tests.support.push import OCI_MANIFEST, push_blob
from tests.support.signer import KeyPair, Signer

IMAGES = ["keystone", "nova-api"]


def trust(repo, docker_cli, key: KeyPair) -> None:
    (repo / "keys").mkdir(exist_ok=True)
    (repo / "keys" / "kolla.pub").write_bytes(key.public_pem)
    path = repo / "lockfiles" / "channels.toml"
    path.write_text(path.read_text() + '\n[channels.ocata.trust]\nkeys = ["keys/kolla.pub"]\n')
    git(repo, "add", "keys/kolla.pub", "lockfiles/channels.toml", env=docker_cli.env)
    git(repo, "commit", "-q", "-m", "trust", env=docker_cli.env)


def publish(tmp_path, docker_cli, fleet, images, key: KeyPair | None) -> dict:
    """A publisher locks ``images`` and attaches their manifestos (signed with ``key``)."""
    fleet.seed(images)
    repo = make_repo(tmp_path / "publisher", docker_cli, fleet, images)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    args = []
    if key is not None:
        (tmp_path / "sign.key").write_bytes(key.private_pem())
        args = ["--sign-key", str(tmp_path / "sign.key")]
    done = docker_cli.kolla("attach", "ocata", *args, cwd=repo)
    assert done.returncode == 0, done.stderr
    return tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


def layer_digests(fleet, images) -> set:
    return {layer["digest"] for i in images for layer in json.loads(fleet.pushed[i].manifest_bytes)["layers"]}


def consumer(tmp_path, name, docker_cli, fleet, proxy, images, key) -> object:
    via = type("F", (), {"host": proxy.host, "namespace": fleet.namespace, "tag": fleet.tag})
    repo = make_repo(tmp_path / name, docker_cli, via, images)
    trust(repo, docker_cli, key)
    return repo


def images_of(repo) -> dict:
    return tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


def test_lock_uses_a_trusted_attached_manifesto_without_reading_a_layer(tmp_path, docker_cli, fleet, proxy_factory):
    key = KeyPair.generate()
    published = publish(tmp_path, docker_cli, fleet, IMAGES, key)
    layers = layer_digests(fleet, IMAGES)
    proxy = proxy_factory(fleet.host)

    def layer_gets() -> list:
        return [p for m, p, _ in proxy.log if m == "GET" and "/blobs/" in p and p.rsplit("/", 1)[1] in layers]

    trusting = consumer(tmp_path, "trusting", docker_cli, fleet, proxy, IMAGES, key)
    done = docker_cli.kolla(
        "lock", "ocata", "--trust-attached-manifesto", "--cache-dir", str(tmp_path / "cache-a"), cwd=trusting
    )
    assert done.returncode == 0, done.stderr
    assert layer_gets() == []  # not one layer blob read
    for name in IMAGES:
        assert f"{name}: manifesto from attached artifact" in done.stderr
    assert done.stderr.count(f"signed by {key.fingerprint} (layers not read)") == 2

    proxy.reset_counts()
    scanning = consumer(tmp_path, "scanning", docker_cli, fleet, proxy, IMAGES, key)
    scanned = docker_cli.kolla("lock", "ocata", "--cache-dir", str(tmp_path / "cache-b"), cwd=scanning)
    assert scanned.returncode == 0, scanned.stderr
    assert set(p.rsplit("/", 1)[1] for p in layer_gets()) == layers  # without the flag every layer is read
    assert "nova-api: attached manifesto" in scanned.stderr and "matches the scanned content" in scanned.stderr

    used, read = images_of(trusting), images_of(scanning)
    assert used == read  # the attached manifesto is exactly what scanning finds, referrers and all
    for name in IMAGES:
        assert used[name]["manifesto"] == published[name]["manifesto"]
        assert used[name]["manifesto-digest"] == published[name]["manifesto-digest"]

    untrusted = make_repo(tmp_path / "untrusted", docker_cli, fleet, IMAGES)  # no keys in its policy
    refused = docker_cli.kolla("lock", "ocata", "--trust-attached-manifesto", cwd=untrusted)
    assert refused.returncode == 2 and "--trust-attached-manifesto needs trusted keys" in refused.stderr
    assert not (untrusted / "lockfiles" / "ocata.toml").exists()


def plant_foreign_artifact(fleet, signer: Signer, key: KeyPair, source: str, target: str) -> str:
    """Copy ``source``'s manifesto artifact (its subject: ``source``'s digest) into ``target``'s
    repository, list it in ``target``'s tag-schema index and sign it properly with ``key``: only its
    subject is wrong."""
    digest = fleet.pushed[source].digest
    listed = signer.referrers(fleet.repo(source), digest)
    artifact = next(d for d in listed if d.get("artifactType") == "application/vnd.docker-kolla.manifesto.v1+json")
    raw = signer.get_manifest(fleet.repo(source), artifact["digest"])
    doc = json.loads(raw)
    for blob in [doc["config"], *doc["layers"]]:
        push_blob(fleet.host, fleet.repo(target), signer.get_blob(fleet.repo(source), blob["digest"]))
    signer.put(fleet.repo(target), artifact["digest"], raw, OCI_MANIFEST)
    signer._add_to_tag_index(fleet.repo(target), fleet.pushed[target].digest, artifact)
    signer.sign(fleet.repo(target), artifact["digest"], key)
    return artifact["digest"]


def test_unsigned_foreign_key_and_wrong_subject_artifacts_are_scanned(tmp_path, docker_cli, fleet, proxy_factory):
    key, other = KeyPair.generate(), KeyPair.generate()
    publish(tmp_path / "a", docker_cli, fleet, ["nova-api"], None)  # attached, unsigned
    publish(tmp_path / "b", docker_cli, fleet, ["keystone"], other)  # signed by a key nobody trusts
    fleet.seed(["glance-api"])
    signer = Signer(fleet.host)
    plant_foreign_artifact(fleet, signer, key, "keystone", "glance-api")  # trusted signature, wrong subject
    images = ["keystone", "nova-api", "glance-api"]
    proxy = proxy_factory(fleet.host)
    repo = consumer(tmp_path, "consumer", docker_cli, fleet, proxy, images, key)
    done = docker_cli.kolla("lock", "ocata", "--trust-attached-manifesto", "--cache-dir", str(tmp_path / "c"), cwd=repo)
    assert done.returncode == 0, done.stderr
    lines = {line.split(":", 2)[1].strip(): line for line in done.stderr.splitlines() if "attached manifesto" in line}
    assert "not trusted (unsigned): layers scanned" in lines["nova-api"]
    assert "not trusted (signature not verified: no trusted key verifies the signature)" in lines["keystone"]
    assert "not trusted (its subject is another digest)" in lines["glance-api"]
    assert "manifesto from attached artifact" not in done.stderr
    layers = layer_digests(fleet, images)
    read = {p.rsplit("/", 1)[1] for m, p, _ in proxy.log if m == "GET" and "/blobs/" in p}
    assert layers <= read  # every image was scanned

    scanning = make_repo(tmp_path / "scanning", docker_cli, fleet, images)
    assert docker_cli.kolla("lock", "ocata", cwd=scanning).returncode == 0
    for name in images:
        assert images_of(repo)[name]["manifesto"] == images_of(scanning)[name]["manifesto"]


def test_inspect_trusts_a_signed_attached_manifesto(tmp_path, docker_cli, fleet, proxy_factory):
    key = KeyPair.generate()
    published = publish(tmp_path, docker_cli, fleet, ["nova-api"], key)
    proxy = proxy_factory(fleet.host)
    repo = consumer(tmp_path, "consumer", docker_cli, fleet, proxy, ["nova-api"], key)
    layers = layer_digests(fleet, ["nova-api"])
    ref = f"{proxy.host}/{fleet.repo('nova-api')}:{fleet.tag}"
    cache = ["--cache-dir", str(tmp_path / "inspect-cache")]  # not the publisher's: nothing scanned yet

    shown = docker_cli.kolla("inspect", ref, "--trust-attached-manifesto", "-f", "json", *cache, cwd=repo)
    assert shown.returncode == 0, shown.stderr
    assert "manifesto from attached artifact" in shown.stderr and key.fingerprint in shown.stderr
    assert not [p for m, p, _ in proxy.log if m == "GET" and p.rsplit("/", 1)[1] in layers]
    doc = json.loads(shown.stdout)

    proxy.reset_counts()
    plain = docker_cli.kolla("inspect", ref, "-f", "json", *cache, cwd=repo)
    assert plain.returncode == 0, plain.stderr
    assert "matches the content read from the layers" in plain.stderr
    assert {p.rsplit("/", 1)[1] for m, p, _ in proxy.log if m == "GET" and "/blobs/" in p} >= layers
    assert json.loads(plain.stdout) == doc  # same manifesto, labels and digests as the scan
    assert doc["manifesto"] == published["nova-api"]["manifesto"]

    outside = docker_cli.kolla("inspect", ref, "--trust-attached-manifesto", cwd=tmp_path)
    assert outside.returncode == 2 and "trusted keys" in outside.stderr
