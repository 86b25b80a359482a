"""Builds the adapters for a run from its State: the only place that wires them together."""

from __future__ import annotations

from docker_kolla import __version__
from docker_kolla.cli.base import State


def registry_client(state: State, *, insecure=(), jobs: int = 8):
    from docker_kolla.adapters.auth import Authenticator, CredentialStore
    from docker_kolla.adapters.http import make_session
    from docker_kolla.adapters.registry import RegistryClient
    session = make_session(f"docker-kolla/{__version__}", pool_size=max(10, jobs * 2))
    credentials = CredentialStore.load(state.config_dir, state.env)
    return RegistryClient(session, Authenticator(session, credentials), insecure=insecure, jobs=jobs)


def layer_cache(state: State, cache_dir=None):
    from docker_kolla.adapters.cache import LayerCache, default_cache_dir
    root = cache_dir or default_cache_dir(state.env)
    return LayerCache(root)


def resolver(state: State, client, channel=None, *, cache_dir=None, content: bool = True):
    from docker_kolla.ops.resolve import LayerScanner, Resolver
    platforms = channel.platforms if channel else ("linux/amd64",)
    sources = channel.manifesto if channel else ("labels", "content")
    scanner = LayerScanner(client, layer_cache(state, cache_dir)) if content else None
    return Resolver(client, scanner, platforms=platforms, sources=sources)
