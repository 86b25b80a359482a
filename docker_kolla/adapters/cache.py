"""On-disk cache of per-layer scan results, keyed by layer digest.

Layers are immutable, so a result keyed by the blob digest never goes stale except
through a scanner change (SCANNER_VERSION) or damage on disk (a checksum over the
body). Both make ``get`` answer None and the caller rescans. Writes go to a temp
file in the same directory and are renamed into place, so readers and concurrent
writers (two lock runs sharing base layers) only ever see whole entries.

Writes are not fsynced (a cold lock writes one entry per layer, and an fsync each
cost ~13% of the scanning workers' time): after a crash an entry may be missing,
empty or torn, and each of those reads as a miss (the checksum and the envelope
catch a torn one), so the layer is scanned again. Nothing else depends on an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from docker_kolla.adapters import fsio
from docker_kolla.core.digest import Digest
from docker_kolla.errors import ScanError

if TYPE_CHECKING:
    from docker_kolla.scan.layers import LayerFacts

_FORMAT = 1  # envelope layout version
_DAY = 86400


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """$DOCKER_KOLLA_CACHE, else $XDG_CACHE_HOME/docker-kolla, else ~/.cache/docker-kolla.

    A relative XDG_CACHE_HOME is ignored, as the XDG Base Directory spec requires.
    """
    if env.get("DOCKER_KOLLA_CACHE"):
        return Path(env["DOCKER_KOLLA_CACHE"])
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "docker-kolla"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".cache" / "docker-kolla"


class LayerCache:
    """Per-layer ``LayerFacts`` stored as ``<root>/layers/<algorithm>/<hex>.json``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._dir = self.root / "layers"

    def _path(self, digest: Digest) -> Path:
        return self._dir / digest.algorithm / f"{digest.hex}.json"

    def get(self, layer_digest: Digest) -> LayerFacts | None:
        """The cached facts, or None when absent, damaged, or from another scanner version."""
        from docker_kolla.scan import layers  # the scanners load when a layer is looked up, not before

        path = self._path(layer_digest)
        try:
            envelope = json.loads(path.read_text(encoding="utf-8"))
            body = envelope["body"]
            if (
                envelope.get("format") != _FORMAT
                or envelope.get("scanner") != layers.SCANNER_VERSION
                or envelope.get("digest") != str(layer_digest)
                or envelope.get("sha256") != hashlib.sha256(body.encode("utf-8")).hexdigest()
            ):
                return None
            facts = layers.LayerFacts.from_json(body)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ScanError):
            return None
        try:
            os.utime(path)  # last use, for prune
        except OSError:
            pass
        return facts

    def put(self, layer_digest: Digest, facts: LayerFacts) -> None:
        """Store ``facts`` atomically (temp file + rename in the same directory), without an fsync."""
        from docker_kolla.scan import layers

        path = self._path(layer_digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = facts.to_json()
        envelope = {
            "format": _FORMAT,
            "scanner": layers.SCANNER_VERSION,
            "digest": str(layer_digest),
            "sha256": hashlib.sha256(body.encode("utf-8")).hexdigest(),
            "body": body,
        }
        fsio.write_atomic(path, json.dumps(envelope, sort_keys=True).encode("utf-8"), durable=False)

    def prune(self, older_than_days: int | None = None) -> int:
        """Remove entries not used for ``older_than_days`` (all when None); the count removed.

        Leftover temp files of interrupted writes older than a day go too, uncounted.
        """
        if not self._dir.is_dir():
            return 0
        now = time.time()
        cutoff = now + 1 if older_than_days is None else now - older_than_days * _DAY
        removed = 0
        for path in self._dir.glob("*/*"):
            temp = path.name.startswith(".") and path.name.endswith(".tmp")  # fsio.write_atomic's temp files
            if not temp and path.suffix != ".json":
                continue
            try:
                if path.stat().st_mtime < (now - _DAY if temp else cutoff):
                    path.unlink()
                    removed += 0 if temp else 1
            except FileNotFoundError:
                continue
        return removed
