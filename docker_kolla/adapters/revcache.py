"""A persistent cache of what history walks computed, under ``.git/docker-kolla/``.

Never committed (it lives inside ``.git``), safe to delete at any time (every
entry is only ever a shortcut for something recomputed from git), and never
trusted blindly: each file starts with the sha256 of the rest, and the rest
names the product version, the entry's kind and key. A file that fails any
of these checks (truncated, edited, written by another version, moved to
another key) is ignored, so the caller recomputes and overwrites it.

Writes are best effort and atomic (temporary file + rename): a read-only
repository or a full disk costs speed, never a command.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from docker_kolla import __version__
from docker_kolla.adapters.fsio import write_atomic

FORMAT = 1


class RevisionCache:
    def __init__(self, root: Path, version: str = __version__) -> None:
        self.root = Path(root)
        self.version = version

    def _path(self, kind: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.root / kind / digest[:2] / digest[2:]

    def get(self, kind: str, key: str) -> object | None:
        """The value stored for (kind, key), or None if absent, damaged or stale."""
        try:
            raw = self._path(kind, key).read_bytes()
        except OSError:
            return None
        checksum, _, body = raw.partition(b"\n")
        if hashlib.sha256(body).hexdigest().encode("ascii") != checksum:
            return None
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        if (doc.get("format"), doc.get("product"), doc.get("kind"), doc.get("key")) != (
            FORMAT,
            self.version,
            kind,
            key,
        ):
            return None
        return doc.get("value")

    def put(self, kind: str, key: str, value: object) -> None:
        """Store ``value`` (JSON-able) for (kind, key); failures are ignored."""
        body = json.dumps(
            {"format": FORMAT, "product": self.version, "kind": kind, "key": key, "value": value},
            separators=(",", ":"),
        ).encode("utf-8")
        path = self._path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body)
        except OSError:
            pass

    def drop(self, kind: str, key: str) -> None:
        """Remove an entry (e.g. a checkpoint superseded by a newer one); failures are ignored."""
        try:
            self._path(kind, key).unlink()
        except OSError:
            pass
