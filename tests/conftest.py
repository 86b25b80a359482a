"""Session fixtures for the real services, plus a fresh Kolla-like fleet per test.

A missing binary or a service that does not start FAILS the test with the reason
(docs/design.md, Tests: tests never skip for want of a service).
"""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so `from tests.support import ...` works without tests/__init__.py
    sys.path.insert(0, str(ROOT))

from tests.support import Dockerd, KollaFleet, Proxy, Registry, ServiceError, TokenServer  # noqa: E402

HTPASSWD_USER = ("kolla", "s3cret")
TOKEN_USERS = {"kolla": "s3cret", "reader": "readonly"}
TOKEN_GRANTS = {"reader": ("pull",)}  # "kolla" may do anything; "reader" may only pull
_namespaces = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engine: needs the real dockerd (slow to start, runs as root)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (large fleets, benchmarks)")


def _start(service, what: str):
    try:
        return service.start()
    except ServiceError as exc:
        pytest.fail(f"{what} could not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Anonymous distribution registry (pull and push without credentials)."""
    reg = _start(Registry(tmp_path_factory.mktemp("registry")), "docker-registry")
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """Registry with Basic auth: user ``kolla``, password ``s3cret`` (``.auth`` holds them)."""
    reg = _start(
        Registry(tmp_path_factory.mktemp("htpasswd-registry"), htpasswd=HTPASSWD_USER), "docker-registry (htpasswd)"
    )
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    """Bearer-token server: users kolla/s3cret (all actions) and reader/readonly (pull only)."""
    server = _start(
        TokenServer(tmp_path_factory.mktemp("token-server"), users=TOKEN_USERS, grants=TOKEN_GRANTS), "token server"
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory, token_server: TokenServer) -> Iterator[Registry]:
    """Registry in ``auth: token`` mode trusting ``token_server``. Tests that count token
    requests should call ``token_server.reset()`` first (the server is shared)."""
    reg = _start(Registry(tmp_path_factory.mktemp("token-registry"), token=token_server), "docker-registry (token)")
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dockerd]:
    """Real Docker engine (vfs, no network); ``dockerd.host`` is ``unix:///tmp/dk-XXXX.sock``."""
    engine = _start(Dockerd(tmp_path_factory.mktemp("dockerd")), "dockerd")
    yield engine
    engine.stop()


def unique_namespace(request: pytest.FixtureRequest) -> str:
    """``kolla-<n>-<test name>``: a registry namespace no other test in the session uses."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    return f"kolla-{next(_namespaces)}-{slug}" if slug else f"kolla-{next(_namespaces)}"


@pytest.fixture
def fleet(registry: Registry, request: pytest.FixtureRequest) -> KollaFleet:
    """An empty KollaFleet on the anonymous registry, in a namespace of its own; call ``seed``."""
    return KollaFleet(registry.host, namespace=unique_namespace(request))


@pytest.fixture
def fleet_factory(request: pytest.FixtureRequest) -> Callable[..., KollaFleet]:
    """``fleet_factory(registry_or_host, **KollaFleet kwargs)``: more fleets, each in a fresh namespace.
    The registry's own credentials (``.auth``) are used unless ``auth=`` is given."""

    def make(target: Registry | Proxy | str, **kwargs) -> KollaFleet:
        host = target if isinstance(target, str) else target.host
        kwargs.setdefault("auth", getattr(target, "auth", None))
        kwargs.setdefault("namespace", unique_namespace(request))
        return KollaFleet(host, **kwargs)

    return make


@pytest.fixture
def proxy_factory() -> Iterator[Callable[..., Proxy]]:
    """``proxy_factory(registry_or_host, latency_ms=0)``: a started Proxy, stopped at teardown."""
    proxies: list[Proxy] = []

    def make(target: Registry | str, *, latency_ms: float = 0) -> Proxy:
        host = target if isinstance(target, str) else target.host
        proxy = Proxy(host, latency_ms=latency_ms, auth=getattr(target, "auth", None)).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()
