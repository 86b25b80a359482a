"""A registry that drips bytes ends the run: exit 3, one line naming the host and the deadline.

The read timeout applies per socket read, so a server sending a byte every 0.3 s
never trips it; only the overall deadline of each exchange does. Each phase of an
exchange is dripped by a proxy in front of the real registry (and, for the token
case, in front of the real token server). Without the deadline these runs would
go on for many minutes: the subprocess timeout turns that into a failure.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.cli.lockrepo import make_repo, snapshot
from tests.cli.test_lock_errors import one_line_error

IMAGES = ["nova-api"]
DEADLINE = "2"
NEVER = 120  # seconds: far beyond the deadline, so a run that hangs fails instead


@pytest.fixture
def dripping(tmp_path, docker_cli, registry, proxy_factory, fleet_factory):
    proxy = proxy_factory(registry)
    fleet = fleet_factory(proxy)
    fleet.seed(IMAGES)
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    return proxy, fleet, repo


@pytest.mark.parametrize(
    "phase,kind",
    [("status", "manifest"), ("headers", "manifest"), ("body", "manifest"), ("body", "config"), ("body", "layer")],
)
def test_a_dripping_registry_fails_the_lock_at_the_deadline(dripping, docker_cli, phase, kind):
    proxy, fleet, repo = dripping
    before = snapshot(repo)
    if kind == "layer":
        fault = proxy.set_fault("drip", method="GET", match=fleet.layers(IMAGES[0])[-1].digest, phase=phase)
    elif kind == "config":
        fault = proxy.set_fault("drip", method="GET", kind="blob", phase=phase)
    else:
        fault = proxy.set_fault("drip", method="GET", kind=kind, phase=phase)
    proc = docker_cli.kolla("lock", "ocata", "--timeout", DEADLINE, cwd=repo, timeout=NEVER)
    one_line_error(proc, 3, proxy.host, "within the 2 s deadline", "--timeout")
    assert fault.hits >= 1
    assert snapshot(repo) == before


def test_inspect_has_the_deadline_too(dripping, docker_cli):
    proxy, fleet, _ = dripping
    proxy.set_fault("drip", method="GET", kind="manifest", phase="headers")
    proc = docker_cli.kolla("inspect", fleet.image_ref(IMAGES[0]), "--timeout", DEADLINE, timeout=NEVER)
    one_line_error(proc, 3, proxy.host, "2 s deadline")


def test_a_dripping_token_endpoint_fails_at_the_deadline(
    tmp_path, docker_cli, token_registry, token_server, proxy_factory, fleet_factory
):
    """The registry's challenge names a token realm behind a proxy that drips its answer."""
    token_proxy = proxy_factory(token_server.host)
    token_proxy.set_fault("drip", phase="body")
    front = proxy_factory(token_registry)
    front.header_rewrites.append((token_server.host, token_proxy.host))
    fleet = fleet_factory(token_registry, auth=("kolla", "s3cret"))
    fleet.seed(IMAGES)
    fleet.host = front.host  # the lock reads through the front proxy
    auth = base64.b64encode(b"kolla:s3cret").decode()
    (docker_cli.config_dir / "config.json").write_text(json.dumps({"auths": {front.host: {"auth": auth}}}))
    repo = make_repo(tmp_path / "locks", docker_cli, fleet, IMAGES)
    before = snapshot(repo)
    proc = docker_cli.kolla("lock", "ocata", "--timeout", DEADLINE, cwd=repo, timeout=NEVER)
    one_line_error(proc, 3, token_proxy.host, "within the 2 s deadline")
    assert token_proxy.count() >= 1
    assert snapshot(repo) == before


@pytest.mark.parametrize("value", ["0", "-5", "nan", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(docker_cli, tmp_path, value):
    proc = docker_cli.kolla("inspect", "localhost:1/x:y", "--timeout", value, cwd=tmp_path)
    one_line_error(proc, 2, "--timeout")
