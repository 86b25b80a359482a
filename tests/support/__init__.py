"""Test infrastructure: real services (registry, token server, proxy, dockerd) and a fleet builder.

Import from here: ``from tests.support import Registry, KollaFleet, push_image, ...``.

Fixtures (tests/conftest.py): ``registry`` (anonymous), ``htpasswd_registry``
(kolla/s3cret), ``token_server`` + ``token_registry`` (kolla/s3cret may do anything,
reader/readonly may only pull), ``dockerd`` (real engine, ``.host`` = unix socket),
``fleet`` (empty KollaFleet on ``registry``, unique namespace), ``fleet_factory`` and
``proxy_factory``. Services are session-scoped: reset shared counters before counting.
"""

from tests.support._proc import ServiceError, free_port
from tests.support.content import SITE_PACKAGES, dist_info, dpkg_status, egg_info
from tests.support.dockerd import Dockerd
from tests.support.fleet import KollaFleet, busybox_files, busybox_layer
from tests.support.layers import Layer, build_layer, build_tar, sha256
from tests.support.proxy import Fault, Proxy, classify
from tests.support.push import (
    ACCEPT_ALL,
    Client,
    Pushed,
    delete_manifest,
    head_digest,
    push_blob,
    push_image,
    push_index,
    put_manifest,
)
from tests.support.registry import Registry
from tests.support.tokenserver import TokenRequest, TokenServer

__all__ = [
    "ACCEPT_ALL",
    "Client",
    "Dockerd",
    "Fault",
    "KollaFleet",
    "Layer",
    "Proxy",
    "Pushed",
    "Registry",
    "SITE_PACKAGES",
    "ServiceError",
    "TokenRequest",
    "TokenServer",
    "build_layer",
    "build_tar",
    "busybox_files",
    "busybox_layer",
    "classify",
    "delete_manifest",
    "dist_info",
    "dpkg_status",
    "egg_info",
    "free_port",
    "head_digest",
    "push_blob",
    "push_image",
    "push_index",
    "put_manifest",
    "sha256",
]
