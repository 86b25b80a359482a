"""Content digests: parse, format, and compute over exact bytes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from docker_kolla.errors import InvalidReference

_ALGORITHMS = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^(?P<alg>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?P<hex>[a-f0-9]+)$")


@dataclass(frozen=True, order=True)
class Digest:
    """An ``algorithm:hex`` content digest (image-spec descriptor.md, "Digests")."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        match = _DIGEST_RE.match(text or "")
        if not match:
            raise InvalidReference(f"invalid digest {text!r}", "write it as sha256:<64 lowercase hex digits>")
        alg, hexpart = match["alg"], match["hex"]
        if alg not in _ALGORITHMS or len(hexpart) != _ALGORITHMS[alg]:
            raise InvalidReference(f"invalid digest {text!r}", "write it as sha256:<64 lowercase hex digits>")
        return cls(alg, hexpart)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of exactly these bytes."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> Any:
        """A fresh hashlib object of this digest's algorithm, for streaming checks."""
        return hashlib.new(self.algorithm)

    def matches(self, data: bytes) -> bool:
        return hashlib.new(self.algorithm, data).hexdigest() == self.hex

    @property
    def short(self) -> str:
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"
