"""Canonical JSON: the one serialisation that digests are computed over."""

from __future__ import annotations

import json
from typing import Any

from docker_kolla.core.digest import Digest


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: equal values give equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of_value(value: Any) -> Digest:
    return Digest.of(canonical_json(value))
