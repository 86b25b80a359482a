"""Every verb's ``--format json`` against docs/json.md: the documented keys, one key style,
``"schema": 1``, resolved commit ids, RFC 3339 UTC times, counts as an object."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.lockrepo import make_repo

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"
IMAGES = ["nova-api", "keystone"]
# Maps whose keys are data (package keys, label names, platforms, library names), not schema.
FREE = {"manifesto", "labels", "platforms", "platform-manifestos", "libraries"}
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SHA = re.compile(r"^[0-9a-f]{40}$")
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def documented() -> dict:
    """``verb -> example document`` from each ``## `docker kolla VERB ...` `` section's json block."""
    text = DOC.read_text()
    found = {}
    for match in re.finditer(r"^## `docker kolla ([a-z ]+?) [^`]*`\n(.*?)```json\n(.*?)```", text, re.S | re.M):
        found[match.group(1)] = json.loads(match.group(3))
    return found


def key_paths(doc, prefix: str = "") -> set:
    paths = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            if key not in FREE:
                paths |= key_paths(value, path)
    elif isinstance(doc, list):
        for item in doc:
            paths |= key_paths(item, f"{prefix}[]")
    return paths


def check(verb: str, stdout: str) -> dict:
    doc = json.loads(stdout)
    example = documented()[verb]
    assert doc["schema"] == 1 and example["schema"] == 1
    assert set(doc) == set(example), (verb, set(doc) ^ set(example))
    undocumented = key_paths(doc) - key_paths(example)
    assert not undocumented, f"{verb}: keys missing from docs/json.md: {sorted(undocumented)}"
    for path in key_paths(doc) | key_paths(example):
        key = path.rsplit(".", 1)[-1].removesuffix("[]")
        assert KEBAB.match(key), f"{verb}: {path} is not kebab-case"
    for path, value in _items(doc):
        if path.endswith(("lock", "from", "to")) and isinstance(value, dict) and "rev" in value:
            assert value["commit"] is None or SHA.match(value["commit"]), (path, value)
        if path.endswith(".time"):
            assert RFC3339_UTC.match(value), (path, value)
        if path.endswith("counts"):
            assert isinstance(value, dict) and all(isinstance(n, int) for n in value.values()), (path, value)
    return doc


def _items(doc, prefix: str = ""):
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path, value
            if key not in FREE:
                yield from _items(value, path)
    elif isinstance(doc, list):
        for item in doc:
            yield from _items(item, f"{prefix}[]")


def test_docs_have_one_example_per_verb():
    verbs = set(documented())
    assert {"version", "lock", "diff", "log", "verify", "inspect", "export", "pull", "status", "promote"} <= verbs


@pytest.fixture
def two_locks(tmp_path, docker_cli, fleet):
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    fleet.rebuild("nova-api", versions={"nova": "15.0.3"})
    return repo, fleet


def test_every_registry_verb_json_matches_the_docs(two_locks, docker_cli, registry):
    repo, fleet = two_locks
    run = lambda *a: docker_cli.kolla(*a, "--format", "json", cwd=repo)  # noqa: E731

    def ok(proc, codes=(0,)):
        assert proc.returncode in codes, proc.stderr
        return proc.stdout

    check("version", ok(run("version")))
    lock = check("lock", ok(run("lock", "ocata")))
    assert lock["counts"]["bumped"] == 1 and lock["counts"]["unchanged"] == 1
    diff = check("diff", ok(run("diff", "HEAD~1")))
    assert diff["from"]["rev"] == "HEAD~1" and SHA.match(diff["from"]["commit"])
    assert diff["to"] == {"rev": "work tree", "commit": None}
    assert diff["channels"][0]["counts"]["changed"] == 1
    log = check("log", ok(run("log", "nova-api")))
    assert [r["revision"] for r in log["revisions"]] == [2, 1] and log["revisions"][0]["change"] == "packages"
    assert log["lock"]["rev"] == "HEAD" and SHA.match(log["lock"]["commit"])
    verify = check("verify", ok(run("verify", "--remote")))
    assert verify["counts"] == {"channels": 1, "problems": 0}
    check("inspect", ok(run("inspect", "nova-api")))
    export = check("export", ok(run("export", "--lock", "HEAD~1")))
    assert export["lock"]["rev"] == "HEAD~1" and {i["tag"] for i in export["images"]} == {"ocata-1"}
    to = f"{registry.host}/{fleet.namespace}-promoted"
    plan = check("promote", ok(run("promote", "ocata", "--to", to, "--dry-run"), (1,)))
    assert plan["dry-run"] is True and plan["counts"]["copy"] == 2 and plan["statuses"] is None
    done = check("promote", ok(run("promote", "ocata", "--to", to)))
    assert done["dry-run"] is False and done["statuses"]["copied"] == 2 and done["totals"]["manifests-put"] >= 2


@pytest.mark.engine
def test_engine_verbs_json_matches_the_docs(tmp_path, docker_cli, registry, fleet_factory, dockerd):
    fleet = fleet_factory(registry, runnable=True)
    fleet.seed(["keystone"])
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, ["keystone"])
    assert docker_cli.kolla("lock", "ocata", cwd=repo).returncode == 0
    engine = ("-H", dockerd.host)
    pulled = docker_cli.run(*engine, "kolla", "pull", "--format", "json", cwd=repo)
    assert pulled.returncode == 0, pulled.stderr
    doc = check("pull", pulled.stdout)
    assert doc["counts"] == {"pulled": 1, "present": 0, "failed": 0}
    name = f"json-{tmp_path.name[-12:]}".replace("_", "-")
    ref = doc["images"][0]["pinned"]
    started = dockerd.docker("run", "-d", "--network", "none", "--name", name, ref, "sleep", "120")
    assert started.returncode == 0, started.stderr
    try:
        status = docker_cli.run(*engine, "kolla", "status", "--format", "json", cwd=repo)
        assert status.returncode == 0, status.stderr
        doc = check("status", status.stdout)
        mine = [c for c in doc["containers"] if c["container"] == name]
        assert mine and mine[0]["state"] == "in-sync" and mine[0]["locked"]["name"] == "keystone"
    finally:
        dockerd.docker("rm", "-f", name, check=False)
