"""Builds the adapters for a run from its State: the only place that wires them together."""

from __future__ import annotations

from dataclasses import replace

from docker_kolla import __version__
from docker_kolla.cli.state import State


def open_repo(path):
    """The lock repository at ``path`` (a context manager: close it when done)."""
    from pathlib import Path

    from docker_kolla.adapters.gitstore import LockRepo

    return LockRepo.open(Path(path))


def copier(src, dst, *, jobs: int):
    """Registry-to-registry copies for promote (a context manager)."""
    from docker_kolla.adapters.copier import Copier

    return Copier(src, dst, blob_jobs=jobs)


def registry_client(state: State, *, insecure=(), jobs: int = 8, timeout: float | None = None):
    """``timeout``: the deadline of each exchange (``--timeout``), None for the default."""
    from docker_kolla.adapters.auth import Authenticator
    from docker_kolla.adapters.credentials import CredentialStore
    from docker_kolla.adapters.http import DEFAULT_POLICY, make_session
    from docker_kolla.adapters.registry import RegistryClient
    from docker_kolla.adapters.tls import Trust, certs_dirs

    policy = DEFAULT_POLICY if timeout is None else replace(DEFAULT_POLICY, deadline=timeout)
    trust = Trust(certs_dirs(state.config_dir, state.env), state.env)
    session = make_session(f"docker-kolla/{__version__}", pool_size=max(10, jobs * 2), trust=trust)
    credentials = CredentialStore.load(state.config_dir, state.env)
    auth = Authenticator(session, credentials, policy=policy)
    return RegistryClient(session, auth, insecure=insecure, policy=policy)


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


def engine_for(state: State, context: str | None = None, *, pool_size: int = 10, timeout: float | None = None):
    """The engine the docker CLI would use for this run, or the named context's engine;
    ``timeout``: the deadline of each image's pull (``pull --timeout``), None for none."""
    from docker_kolla.adapters.endpoint import TLSFlags, resolve_endpoint
    from docker_kolla.adapters.engine import Engine

    tls = TLSFlags(
        tls=state.tls, tlsverify=state.tlsverify, tlscacert=state.tlscacert, tlscert=state.tlscert, tlskey=state.tlskey
    )
    if context:
        endpoint = resolve_endpoint(config_dir=state.config_dir, env=state.env, context=context, tls=tls)
    else:
        endpoint = resolve_endpoint(
            config_dir=state.config_dir, env=state.env, context=state.context, host=state.docker_host, tls=tls
        )
    return Engine(endpoint, config_dir=state.config_dir, pool_size=pool_size, deadline=timeout)


def keyless_verifier(policy=None):
    """The keyless (sigstore) verifier for a trust policy, or None when it has no identities and
    the ``sigstore`` extra is not installed (then keyless bundles are noted as not verifiable)."""
    from docker_kolla.adapters.keyless import KeylessVerifier, available

    identities = policy.identities if policy is not None else ()
    if not identities and not available():
        return None
    return KeylessVerifier(identities)


def discoverer(client, keys=(), policy=None):
    """Finds (and, with ``keys`` or the policy's keyless identities, verifies) what is attached
    to pinned digests at ``client``'s registries."""
    from docker_kolla.ops.discover import Discoverer

    verifying = bool(keys) or bool(policy is not None and policy.identities)
    return Discoverer(client, keys, keyless_verifier(policy) if verifying else None)
