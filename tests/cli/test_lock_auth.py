"""Locking from a registry behind Bearer tokens, with credentials from a docker credential helper."""

from __future__ import annotations

import json
import os
from pathlib import Path

import tomli

from tests.cli.lockrepo import make_repo

HELPER = Path(__file__).resolve().parents[1] / "support" / "credhelper"
IMAGES = ["nova-api", "nova-compute", "keystone"]


def test_lock_through_a_token_registry_with_a_credential_helper(
    docker_cli, token_registry, token_server, fleet_factory, tmp_path
):
    fleet = fleet_factory(token_registry, auth=("kolla", "s3cret"))
    fleet.seed(IMAGES)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker-credential-kollatest").symlink_to(HELPER)
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({fleet.host: {"Username": "reader", "Secret": "readonly"}}))
    (docker_cli.config_dir / "config.json").write_text(
        json.dumps({"credHelpers": {fleet.host: "kollatest"}, "auths": {fleet.host: {}}})
    )
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "KOLLA_TEST_CREDS": str(creds)}
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    expected = {fleet.digest_of(i) for i in IMAGES}
    token_server.reset()
    out = docker_cli.kolla("lock", "ocata", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    lock = tomli.loads((repo / "lockfiles" / "ocata.toml").read_text())["images"]
    assert {e["digest"] for e in lock.values()} == expected
    assert "readonly" not in (repo / "lockfiles" / "ocata.toml").read_text() + out.stdout + out.stderr
    # one pull token per repository, reused for its manifest, config and layer requests
    for image in IMAGES:
        scope = f"repository:{fleet.repo(image)}:pull"
        assert token_server.count(scope=scope, user="reader") == 1, (scope, token_server.requests)
    assert all(r.user == "reader" for r in token_server.requests)
