"""The real services tests run against, re-exported from one place."""

from tests.support._proc import ServiceError, free_port
from tests.support.dockerd import Dockerd
from tests.support.proxy import Proxy
from tests.support.registry import Registry
from tests.support.tokenserver import TokenRequest, TokenServer

__all__ = ["Dockerd", "Proxy", "Registry", "ServiceError", "TokenRequest", "TokenServer", "free_port"]
