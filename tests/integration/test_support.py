"""The test infrastructure itself works, checked with skopeo as an independent client."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile

import pytest
import requests
import zstandard

from tests.support import ACCEPT_ALL, KollaFleet, Registry, build_layer, push_image, sha256


def skopeo_inspect(ref: str, *args: str, raw: bool = False) -> subprocess.CompletedProcess:
    cmd = ["skopeo", "inspect", "--tls-verify=false", *args, *(["--raw"] if raw else []), f"docker://{ref}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_push_image_digest_matches_skopeo(registry: Registry) -> None:
    layer = build_layer({"/etc/hello": b"hello\n"})
    pushed = push_image(registry.host, "kolla/centos-binary-hello", "ocata", [layer], {"kolla_version": "4.0.2"})
    out = skopeo_inspect(f"{registry.host}/kolla/centos-binary-hello:ocata")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["Digest"] == pushed.digest
    assert info["Labels"]["kolla_version"] == "4.0.2"
    assert info["Layers"] == [layer.digest]
    raw = skopeo_inspect(f"{registry.host}/kolla/centos-binary-hello:ocata", raw=True).stdout
    assert sha256(raw.encode()) == pushed.digest


def test_layers_are_deterministic() -> None:
    a = build_layer({"/a": b"1", "/b/c": b"2"}, symlinks={"/bin/sh": "busybox"}, whiteouts=["/etc/motd"])
    b = build_layer({"/b/c": b"2", "/a": b"1"}, symlinks={"/bin/sh": "busybox"}, whiteouts=["/etc/motd"])
    assert a.digest == b.digest and a.diff_id == b.diff_id
    assert build_layer({"/a": b"1"}, compression="zstd").media_type.endswith("+zstd")
    assert build_layer({"/a": b"1"}, compression="none").digest == build_layer({"/a": b"1"}, compression="none").diff_id


def test_fleet_seed_shares_layers_and_matches_skopeo(fleet: KollaFleet) -> None:
    pushed = fleet.seed(["nova-api", "nova-compute", "keystone", "mariadb"])
    for image, result in pushed.items():
        info = json.loads(skopeo_inspect(fleet.image_ref(image)).stdout)
        assert info["Digest"] == result.digest == fleet.digest_of(image)
        assert info["Labels"]["kolla_version"] == "4.0.2"
    nova_api, nova_compute = (fleet.layers(i) for i in ("nova-api", "nova-compute"))
    assert [x.digest for x in nova_api[:3]] == [x.digest for x in nova_compute[:3]]  # base, openstack, nova
    assert nova_api[3].digest != nova_compute[3].digest
    assert fleet.expected_manifesto("nova-api")["python:nova"] == "15.0.2"
    assert fleet.expected_manifesto("nova-api")["deb:openssl"] == "1.1.0f-3+deb9u2"
    assert fleet.expected_manifesto("mariadb")["deb:mariadb-server-10.1"] == "10.1.26-0+deb9u1"
    assert "python:nova" not in fleet.expected_manifesto("mariadb")


def test_fleet_rebuilds_change_digest(fleet: KollaFleet) -> None:
    first = fleet.seed(["nova-api"])["nova-api"]
    same = fleet.rebuild("nova-api")  # new build-date label only
    assert same.digest != first.digest and same.layers == first.layers
    assert fleet.expected_manifesto("nova-api")["python:nova"] == "15.0.2"
    changed = fleet.rebuild("nova-api", versions={"nova": "15.0.3", "deb:openssl": "1.1.0f-3+deb9u3"})
    assert fleet.digest_of("nova-api") == changed.digest
    assert fleet.expected_manifesto("nova-api")["python:nova"] == "15.0.3"
    assert fleet.expected_manifesto("nova-api")["deb:openssl"] == "1.1.0f-3+deb9u3"
    assert changed.layers[0].digest != same.layers[0].digest  # base layer carries the deb change
    extra = fleet.rebuild("nova-api", extra_file=True)
    assert extra.layers[-1].digest != changed.layers[-1].digest


def test_fleet_multiarch_index_with_attestation(fleet: KollaFleet) -> None:
    index = fleet.multiarch("keystone")
    raw = skopeo_inspect(fleet.image_ref("keystone"), raw=True)
    assert raw.returncode == 0, raw.stderr
    doc = json.loads(raw.stdout)
    assert sha256(raw.stdout.encode()) == index.digest == fleet.digest_of("keystone")
    platforms = [(m["platform"]["os"], m["platform"]["architecture"]) for m in doc["manifests"]]
    assert platforms == [("linux", "amd64"), ("linux", "arm64"), ("unknown", "unknown"), ("unknown", "unknown")]
    assert doc["manifests"][2]["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
    arm = skopeo_inspect(fleet.image_ref("keystone"), "--override-arch", "arm64")
    arm_child = fleet.children["keystone"]["linux/arm64/v8"]
    assert json.loads(arm.stdout)["Architecture"] == "arm64"
    assert json.loads(arm.stdout)["Layers"] == [layer.digest for layer in arm_child.layers]
    assert arm_child.layers[0].digest != fleet.children["keystone"]["linux/amd64"].layers[0].digest


def test_delete_manifest(fleet: KollaFleet) -> None:
    pushed = fleet.seed(["cron"])["cron"]
    fleet.delete("cron")
    assert skopeo_inspect(fleet.image_ref("cron")).returncode != 0
    url = f"http://{fleet.host}/v2/{fleet.repo('cron')}/manifests/{pushed.digest}"
    assert requests.head(url, headers={"Accept": ACCEPT_ALL}, timeout=10).status_code == 404


def test_htpasswd_registry_refuses_anonymous(htpasswd_registry: Registry, fleet_factory) -> None:
    assert requests.get(f"{htpasswd_registry.url}/v2/", timeout=10).status_code == 401
    assert requests.get(f"{htpasswd_registry.url}/v2/", auth=("kolla", "wrong"), timeout=10).status_code == 401
    assert requests.get(f"{htpasswd_registry.url}/v2/", auth=("kolla", "s3cret"), timeout=10).status_code == 200
    private = fleet_factory(htpasswd_registry)
    private.seed(["glance-api"])
    ref = private.image_ref("glance-api")
    assert skopeo_inspect(ref).returncode != 0
    ok = skopeo_inspect(ref, "--creds", "kolla:s3cret")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["Digest"] == private.pushed["glance-api"].digest


def test_token_registry_issues_scoped_tokens(token_registry: Registry, token_server, fleet_factory) -> None:
    token_server.reset()
    assert requests.get(f"{token_registry.url}/v2/", timeout=10).status_code == 401
    tokened = fleet_factory(token_registry, auth=("kolla", "s3cret"))
    tokened.seed(["heat-api"])
    repo = tokened.repo("heat-api")
    assert token_server.count(scope=f"repository:{repo}:pull,push", user="kolla") == 1  # cached per scope
    ok = skopeo_inspect(tokened.image_ref("heat-api"), "--creds", "reader:readonly")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["Digest"] == tokened.pushed["heat-api"].digest
    assert token_server.count(user="reader") >= 1
    assert skopeo_inspect(tokened.image_ref("heat-api")).returncode != 0  # no anonymous pull
    assert skopeo_inspect(tokened.image_ref("heat-api"), "--creds", "reader:wrong").returncode != 0
    reader = fleet_factory(token_registry, auth=("reader", "readonly"), namespace=tokened.namespace)
    with pytest.raises(AssertionError, match="401"):  # pull-only: the push is refused
        reader.seed(["heat-engine"])


def test_token_server_access_token_only(tmp_path) -> None:
    from tests.support import TokenServer

    with (
        TokenServer(tmp_path, users={"u": "p"}, access_token_only=True, anonymous_pull=True) as server,
        Registry(tmp_path, token=server) as reg,
    ):
        resp = requests.get(
            server.realm, params={"service": server.service, "scope": "repository:a/b:pull,push"}, timeout=10
        )
        body = resp.json()
        assert "token" not in body and body["expires_in"] == 300
        assert server.requests[-1].granted == (("a/b", ("pull",)),)  # anonymous: pull only
        assert (
            requests.get(
                f"{reg.url}/v2/a/b/tags/list", timeout=10, headers={"Authorization": f"Bearer {body['access_token']}"}
            ).status_code
            == 404
        )
        bad = requests.get(server.realm, params={"scope": "repository:a/b:pull"}, auth=("u", "x"), timeout=10)
        assert bad.status_code == 401


def test_proxy_forwards_and_counts(registry: Registry, proxy_factory, fleet_factory) -> None:
    proxy = proxy_factory(registry)
    through = fleet_factory(proxy)
    through.seed(["nova-api"])
    counts = proxy.counts()
    assert counts[("PUT", "manifest")] == 1 and counts[("POST", "upload")] >= 4
    proxy.reset_counts()
    out = skopeo_inspect(through.image_ref("nova-api"))
    assert json.loads(out.stdout)["Digest"] == through.pushed["nova-api"].digest
    assert proxy.count("GET", "manifest") >= 1 and proxy.count("GET", "blob") >= 1  # config blob
    assert proxy.bytes_sent > 0


def test_proxy_faults(registry: Registry, proxy_factory, fleet: KollaFleet) -> None:
    pushed = fleet.seed(["keystone"])["keystone"]
    proxy = proxy_factory(registry, latency_ms=5)
    layer = pushed.layers[0]
    url = f"{proxy.url}/v2/{fleet.repo('keystone')}/blobs/{layer.digest}"
    proxy.set_fault("status", match=layer.digest, times=2, status=429, retry_after=1)
    first = requests.get(url, timeout=10)
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    assert requests.get(url, timeout=10).status_code == 429
    assert requests.get(url, timeout=10).content == layer.blob  # only the next 2 failed
    proxy.set_fault("corrupt", match=layer.digest, times=1)
    bad = requests.get(url, timeout=10)
    assert bad.status_code == 200 and len(bad.content) == layer.size and bad.content != layer.blob
    assert bad.headers["Docker-Content-Digest"] == layer.digest  # headers kept
    proxy.set_fault("truncate", match=layer.digest, times=1)
    with pytest.raises(requests.exceptions.RequestException):
        _ = requests.get(url, timeout=10).content
    proxy.set_fault("reset", match=layer.digest, times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, timeout=10)
    proxy.set_fault("status", kind="manifest", status=503)
    assert skopeo_inspect(f"{proxy.host}/{fleet.repo('keystone')}:ocata", "--retry-times", "0").returncode != 0
    proxy.clear_faults()
    assert requests.get(url, timeout=10).content == layer.blob
    assert proxy.count("GET", "blob") == 7


@pytest.mark.engine
def test_dockerd_pulls_and_runs_busybox(dockerd, registry: Registry, fleet_factory) -> None:
    runnable = fleet_factory(registry, runnable=True)
    pushed = runnable.seed(["kolla-toolbox"])["kolla-toolbox"]
    ref = runnable.image_ref("kolla-toolbox")
    pulled = dockerd.docker("pull", ref, check=False)
    assert pulled.returncode == 0, pulled.stderr + dockerd.log_tail()
    digests = dockerd.docker("image", "inspect", "--format", "{{json .RepoDigests}}", ref).stdout
    assert f"{registry.host}/{runnable.repo('kolla-toolbox')}@{pushed.digest}" in json.loads(digests)
    run = dockerd.docker("run", "-d", "--network", "none", ref, "sleep", "60", check=False)
    assert run.returncode == 0, run.stderr + dockerd.log_tail()
    cid = run.stdout.strip()
    state = dockerd.docker("inspect", "--format", "{{.State.Running}} {{.Config.Labels.kolla_version}}", cid)
    assert state.stdout.split() == ["true", "4.0.2"]
    dockerd.docker("rm", "-f", cid)


def test_generate_shares_layers(fleet: KollaFleet) -> None:
    names = fleet.generate(75)  # past the 69 real names, into synthetic ones
    assert len(set(names)) == 75 and names[:2] == ["nova-api", "nova-compute"]
    bases = {fleet.layers(name)[0].digest for name in names}
    assert len(bases) == 1
    tags = requests.get(f"http://{fleet.host}/v2/{fleet.repo(names[-1])}/tags/list", timeout=10).json()
    assert tags["tags"] == ["ocata"]


def test_missing_binary_fails_loudly() -> None:
    from tests.support._proc import ServiceError, require_binary

    with pytest.raises(ServiceError, match="apt-get install -y some-package"):
        require_binary("no-such-binary-for-docker-kolla", "some-package")


def test_content_helpers() -> None:
    from tests.support import dist_info, dpkg_status, egg_info

    status = dpkg_status({"openssl": "1.1.0f-3+deb9u2", "bash": "4.4-5"}).decode()
    stanzas = status.split("\n\n")
    assert stanzas[0].startswith("Package: bash\nStatus: install ok installed\n")
    assert "Version: 1.1.0f-3+deb9u2" in stanzas[1]
    files = dist_info("/usr/lib/python2.7/site-packages", "oslo.config", "3.22.0")
    meta = files["/usr/lib/python2.7/site-packages/oslo_config-3.22.0.dist-info/METADATA"].decode()
    assert "\nName: oslo.config\nVersion: 3.22.0\n" in meta
    egg = egg_info("/usr/lib/python2.7/site-packages", "nova", "15.0.2")
    assert b"Version: 15.0.2" in egg["/usr/lib/python2.7/site-packages/nova-15.0.2-py2.7.egg-info/PKG-INFO"]


def test_oci_zstd_egg_info_fleet(registry: Registry, fleet_factory) -> None:
    oci = fleet_factory(registry, oci=True, compression="zstd", python_meta="egg-info")
    pushed = oci.seed(["cinder-api"])["cinder-api"]
    doc = json.loads(skopeo_inspect(oci.image_ref("cinder-api"), raw=True).stdout)
    assert doc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert {layer["mediaType"] for layer in doc["layers"]} == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    assert pushed.media_type == doc["mediaType"]
    blob = requests.get(f"{registry.url}/v2/{oci.repo('cinder-api')}/blobs/{doc['layers'][2]['digest']}", timeout=10)
    names = tarfile.open(fileobj=io.BytesIO(zstandard.ZstdDecompressor().decompress(blob.content))).getnames()
    assert "usr/lib/python2.7/site-packages/cinder-10.0.1-py2.7.egg-info/PKG-INFO" in names
