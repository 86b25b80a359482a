"""Issue 11: the manifesto as an OCI artifact in the registry (attach, promote --attach-manifesto,
inspect), and standard SBOMs validated with the reference libraries (spdx-tools, cyclonedx-python-lib)."""

from __future__ import annotations

import json

import pytest
import tomli
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from tests.cli.lockrepo import make_repo
from tests.support import Registry
from tests.support.signer import KeyPair, Signer

IMAGES = ["keystone", "nova-api"]
PASSWORD = "correct horse battery staple"


def locked(tmp_path, docker_cli, fleet, images=IMAGES):
    fleet.seed(images)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, images)
    done = docker_cli.kolla("lock", "ocata", cwd=repo)
    assert done.returncode == 0, done.stderr
    return repo, tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]


def test_attach_then_inspect_reads_no_layer(tmp_path, docker_cli, fleet, proxy_factory):
    repo, images = locked(tmp_path, docker_cli, fleet)
    first = docker_cli.kolla("attach", "ocata", cwd=repo)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("attached") == 2
    again = docker_cli.kolla("attach", "ocata", cwd=repo)
    assert again.stdout.count("already attached") == 2  # same bytes: nothing new

    proxy = proxy_factory(fleet.host)
    ref = f"{proxy.host}/{fleet.repo('nova-api')}@{images['nova-api']['digest']}"
    shown = docker_cli.kolla("inspect", ref, "--attached", "--format", "json", cwd=repo)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["manifesto"] == images["nova-api"]["manifesto"]
    assert doc["manifesto-digest"] == images["nova-api"]["manifesto-digest"]
    assert doc["annotations"]["dev.docker-kolla.tag"] == "ocata-1"
    blobs = [path for method, path, _ in proxy.log if "/blobs/" in path and method == "GET"]
    assert blobs == [f"/v2/{fleet.repo('nova-api')}/blobs/{doc['manifesto-digest']}"]  # no image layer read

    scanned = docker_cli.kolla("inspect", ref, cwd=repo)  # a normal inspect says it found one, and compares
    assert scanned.returncode == 0, scanned.stderr
    assert "attached manifesto" in scanned.stderr and "matches the content read from the layers" in scanned.stderr

    fleet.seed(["glance-api"])
    none = docker_cli.kolla("inspect", fleet.image_ref("glance-api"), "--attached", cwd=repo)
    assert none.returncode == 2 and "no manifesto is attached" in none.stderr


def test_promote_attach_manifesto_at_the_destination(tmp_path, docker_cli, fleet, tmp_path_factory):
    repo, images = locked(tmp_path, docker_cli, fleet)
    key = KeyPair.generate()
    (tmp_path / "sign.key").write_bytes(key.private_pem())
    with Registry(tmp_path_factory.mktemp("attach-dest")) as dest:
        alone = docker_cli.kolla(
            "promote", "ocata", "--to", dest.host, "--sign-key", str(tmp_path / "sign.key"), cwd=repo
        )
        assert alone.returncode == 2 and "--attach-manifesto" in alone.stderr
        (tmp_path / "locked.key").write_bytes(key.private_pem(PASSWORD.encode()))
        locked_key = docker_cli.kolla(
            "promote",
            "ocata",
            "--to",
            dest.host,
            "--attach-manifesto",
            "--sign-key",
            str(tmp_path / "locked.key"),
            cwd=repo,
        )
        assert locked_key.returncode == 2 and "is encrypted" in locked_key.stderr
        gone = docker_cli.kolla("inspect", f"{dest.host}/{fleet.repo('keystone')}:ocata-1", cwd=repo)
        assert gone.returncode != 0  # the key is read first: nothing was copied
        done = docker_cli.kolla(
            "promote",
            "ocata",
            "--to",
            dest.host,
            "--attach-manifesto",
            "--sign-key",
            str(tmp_path / "sign.key"),
            cwd=repo,
        )
        assert done.returncode == 0, done.stderr
        assert f"attached the manifesto to 2 promoted image(s), signed by {key.fingerprint}" in done.stderr
        ref = f"{dest.host}/{fleet.repo('keystone')}:ocata-1"
        shown = docker_cli.kolla("inspect", ref, "--attached", "--format", "json", cwd=repo)
        assert shown.returncode == 0, shown.stderr
        doc = json.loads(shown.stdout)
        assert doc["manifesto"] == images["keystone"]["manifesto"]
        assert Signer(dest.host).verify(fleet.repo("keystone"), doc["attached-manifesto"], key.public_pem) == ["sig"]


@pytest.mark.parametrize("fmt", ["spdx", "cyclonedx"])
def test_sbom_validates_with_the_reference_libraries(tmp_path, docker_cli, fleet, fmt):
    repo, images = locked(tmp_path, docker_cli, fleet)
    one = tmp_path / f"nova.{fmt}.json"
    done = docker_cli.kolla("sbom", "nova-api", "--format", fmt, "--output", str(one), cwd=repo)
    assert done.returncode == 0, done.stderr
    channel = docker_cli.kolla("sbom", "ocata", "--format", fmt, cwd=repo)
    assert channel.returncode == 0, channel.stderr
    both = tmp_path / f"ocata.{fmt}.json"
    both.write_text(channel.stdout)
    for path in (one, both):
        text = path.read_text()
        if fmt == "spdx":
            document = parse_file(str(path))
            assert validate_full_spdx_document(document) == []
            purls = {r.locator for p in document.packages for r in p.external_references}
        else:
            assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None
            doc = json.loads(text)
            comps = doc["components"]
            purls = {c["purl"] for c in comps} | {c["purl"] for top in comps for c in top.get("components", [])}
        assert "pkg:pypi/nova@15.0.2" in purls
        assert "pkg:deb/debian/openssl@1.1.0f-3%2Bdeb9u2?arch=amd64" in purls
    assert docker_cli.kolla("sbom", "nova-api", "--format", fmt, cwd=repo).stdout == one.read_text()  # deterministic
    bad = docker_cli.kolla("sbom", "nova-api", "--format", "xml", cwd=repo)
    assert bad.returncode == 2


def validated(fmt: str, text: str, path) -> dict:
    """The SBOM parsed after the reference library accepted it."""
    path.write_text(text)
    if fmt == "spdx":
        assert validate_full_spdx_document(parse_file(str(path))) == []
    else:
        assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None
    return json.loads(text)


def test_sbom_covers_every_described_platform(tmp_path, docker_cli, fleet):
    """A two-platform lock whose arm64 build has another nova: each platform's packages, with
    its arch, under a package/component for that platform's manifest digest."""
    from tests.cli.test_multiarch_cli import TWO, rebuild_arm64_only

    fleet.multiarch("nova-api")
    rebuild_arm64_only(fleet, "nova-api", {"nova": "15.0.3"})
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["nova-api"], platforms=TWO)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    entry = tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]["nova-api"]
    amd, arm = entry["platforms"]["linux/amd64"], entry["platforms"]["linux/arm64"]

    spdx = validated("spdx", docker_cli.kolla("sbom", "nova-api", cwd=repo).stdout, tmp_path / "s.json")
    by_id = {p["SPDXID"]: p for p in spdx["packages"]}
    contains: dict = {}
    for rel in spdx["relationships"]:
        if rel["relationshipType"] == "CONTAINS":
            contains.setdefault(rel["spdxElementId"], []).append(by_id[rel["relatedSpdxElement"]])
    platforms = {p["checksums"][0]["checksumValue"]: p for p in contains["SPDXRef-Image-0"]}
    assert set(platforms) == {amd.split(":")[1], arm.split(":")[1]}

    def purls_of(package) -> set:
        return {r["referenceLocator"] for p in contains[package["SPDXID"]] for r in p["externalRefs"]}

    amd_purls, arm_purls = purls_of(platforms[amd.split(":")[1]]), purls_of(platforms[arm.split(":")[1]])
    assert "pkg:pypi/nova@15.0.2" in amd_purls and "pkg:pypi/nova@15.0.3" in arm_purls
    assert "pkg:pypi/nova@15.0.3" not in amd_purls
    assert "pkg:deb/debian/openssl@1.1.0f-3%2Bdeb9u2?arch=amd64" in amd_purls
    assert "pkg:deb/debian/openssl@1.1.0f-3%2Bdeb9u2?arch=arm64" in arm_purls
    assert any(
        r["referenceLocator"].startswith(f"pkg:oci/{fleet.name('nova-api')}@{arm.replace(':', '%3A')}?arch=arm64")
        for r in platforms[arm.split(":")[1]]["externalRefs"]
    )

    cdx = validated(
        "cyclonedx", docker_cli.kolla("sbom", "nova-api", "-f", "cyclonedx", cwd=repo).stdout, tmp_path / "c.json"
    )
    assert cdx["metadata"]["component"]["hashes"][0]["content"] == entry["digest"].split(":")[1]
    kids = {c["properties"][0]["value"]: c for c in cdx["components"]}
    assert set(kids) == set(TWO)
    assert kids["linux/arm64"]["hashes"][0]["content"] == arm.split(":")[1]
    arm_libs = {c["purl"] for c in kids["linux/arm64"]["components"]}
    amd_libs = {c["purl"] for c in kids["linux/amd64"]["components"]}
    assert "pkg:pypi/nova@15.0.3" in arm_libs and "pkg:pypi/nova@15.0.2" in amd_libs
    assert "pkg:deb/debian/openssl@1.1.0f-3%2Bdeb9u2?arch=arm64" in arm_libs


def test_lock_reads_an_attached_manifesto_and_says_so(tmp_path, docker_cli, fleet):
    repo, images = locked(tmp_path, docker_cli, fleet)
    assert docker_cli.kolla("attach", "ocata", "--image", "nova-api", cwd=repo).returncode == 0
    other = make_repo(tmp_path / "other", docker_cli, fleet, IMAGES)  # a consumer locking the same images
    done = docker_cli.kolla("lock", "ocata", cwd=other)
    assert done.returncode == 0, done.stderr
    assert "nova-api: attached manifesto" in done.stderr and "(tag ocata-1) matches the scanned content" in done.stderr
    assert "keystone: attached manifesto" not in done.stderr
    mine = tomli.loads((other / "lockfiles" / "ocata.toml").read_text())["images"]["nova-api"]
    assert [r["artifact-type"] for r in mine["referrers"]] == ["application/vnd.docker-kolla.manifesto.v1+json"]
    assert mine["manifesto"] == images["nova-api"]["manifesto"]  # the layers were still scanned


def artifact_of(docker_cli, repo, fleet, image: str, digest: str) -> str:
    shown = docker_cli.kolla(
        "inspect", f"{fleet.host}/{fleet.repo(image)}@{digest}", "--attached", "-f", "json", cwd=repo
    )
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)["attached-manifesto"]


def test_attach_signs_the_artifact_and_the_independent_verifier_accepts_it(tmp_path, docker_cli, fleet):
    repo, images = locked(tmp_path, docker_cli, fleet)
    key = KeyPair.generate()
    pem = tmp_path / "sign.key"
    pem.write_bytes(key.private_pem(PASSWORD.encode()))

    no_password = docker_cli.kolla("attach", "ocata", "--sign-key", str(pem), cwd=repo)
    assert no_password.returncode == 2 and "is encrypted" in no_password.stderr
    assert "DOCKER_KOLLA_SIGN_PASSWORD" in no_password.stderr
    assert "Traceback" not in no_password.stderr
    wrong = docker_cli.kolla(
        "attach", "ocata", "--sign-key", str(pem), cwd=repo, env={"DOCKER_KOLLA_SIGN_PASSWORD": "x"}
    )
    assert wrong.returncode == 2 and "wrong password" in wrong.stderr
    nothing = docker_cli.kolla("inspect", fleet.image_ref("nova-api"), "--attached", cwd=repo)
    assert nothing.returncode == 2  # a bad key attached nothing

    env = {"DOCKER_KOLLA_SIGN_PASSWORD": PASSWORD}
    done = docker_cli.kolla("attach", "ocata", "--sign-key", str(pem), cwd=repo, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" signed") == 2 and f"signed by {key.fingerprint}" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    signer = Signer(fleet.host)
    sigs = {}
    for name in IMAGES:
        artifact = artifact_of(docker_cli, repo, fleet, name, images[name]["digest"])
        assert signer.verify(fleet.repo(name), artifact, key.public_pem) == ["sig"]  # the independent verifier
        assert signer.verify(fleet.repo(name), artifact, KeyPair.generate().public_pem) == []
        sigs[name] = fleet.digest_of(name, artifact.replace(":", "-") + ".sig")

    again = docker_cli.kolla("attach", "ocata", "--sign-key", str(pem), cwd=repo, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already signed") == 2
    artifact = artifact_of(docker_cli, repo, fleet, "keystone", images["keystone"]["digest"])
    assert fleet.digest_of("keystone", artifact.replace(":", "-") + ".sig") == sigs["keystone"]  # nothing re-signed

    other = KeyPair.generate()  # a second key adds its signature next to the first
    (tmp_path / "other.key").write_bytes(other.private_pem())
    more = docker_cli.kolla("attach", "ocata", "-i", "keystone", "--sign-key", str(tmp_path / "other.key"), cwd=repo)
    assert more.returncode == 0, more.stderr
    assert signer.verify(fleet.repo("keystone"), artifact, key.public_pem) == ["sig"]
    assert signer.verify(fleet.repo("keystone"), artifact, other.public_pem) == ["sig"]
