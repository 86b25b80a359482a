"""The manifesto as an OCI 1.1 artifact attached to the image it describes (pure: bytes only).

One artifact per locked digest: an image manifest with ``artifactType``
``application/vnd.docker-kolla.manifesto.v1+json``, the empty config, one layer
holding the canonical manifesto JSON and ``subject`` = the locked digest. The
layer is exactly the bytes the lock's ``manifesto-digest`` is computed over, so
its digest *is* the lock's manifesto-digest: a reader compares two strings to
know the artifact matches the lock. Annotations carry the image name, tag,
revision and lock commit; nothing time-dependent, so attaching twice gives the
same digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from docker_kolla.core.canonical import canonical_json
from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry, described_value
from docker_kolla.core.manifest import OCI_MANIFEST
from docker_kolla.core.referrers import EMPTY_CONFIG, MANIFESTO_ARTIFACT

EMPTY_BLOB = b"{}"
PREFIX = "dev.docker-kolla."


@dataclass(frozen=True)
class Artifact:
    """The blobs and manifest to push for one image."""

    manifest: bytes
    layer: bytes
    config: bytes = EMPTY_BLOB

    @property
    def digest(self) -> Digest:
        return Digest.of(self.manifest)


def build(entry: LockEntry, subject_size: int, commit: str) -> Artifact:
    layer = canonical_json(described_value(entry.platform, entry.manifesto, entry.platform_manifestos))
    annotations = {
        f"{PREFIX}image": entry.name,
        f"{PREFIX}tag": entry.tag,
        f"{PREFIX}lock-commit": commit,
        f"{PREFIX}platform": str(entry.platform or ""),
    }
    if entry.revision is not None:
        annotations[f"{PREFIX}revision"] = str(entry.revision)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": MANIFESTO_ARTIFACT,
        "config": {"mediaType": EMPTY_CONFIG, "digest": str(Digest.of(EMPTY_BLOB)), "size": len(EMPTY_BLOB)},
        "layers": [{"mediaType": MANIFESTO_ARTIFACT, "digest": str(Digest.of(layer)), "size": len(layer)}],
        "subject": {"mediaType": entry.media_type, "digest": str(entry.digest), "size": subject_size},
        "annotations": annotations,
    }
    return Artifact(json.dumps(manifest, indent=2, sort_keys=True).encode(), layer)


@dataclass(frozen=True)
class Attached:
    """An attached manifesto read back: its annotations and the manifesto value."""

    digest: str
    layer_digest: str
    annotations: dict[str, str]
    value: dict[str, Any]

    @property
    def commit(self) -> str:
        return self.annotations.get(f"{PREFIX}lock-commit", "")

    @property
    def tag(self) -> str:
        return self.annotations.get(f"{PREFIX}tag", "")

    @property
    def platforms(self) -> dict[str, dict[str, str]]:
        """platform -> manifesto of every platform it describes (the inverse of
        ``lockfile.described_value``; a single manifesto is the annotated platform's)."""
        return described_platforms(self.value, self.annotations.get(f"{PREFIX}platform", ""))


def described_platforms(value: dict[str, Any], primary: str) -> dict[str, dict[str, str]]:
    """``{platform: manifesto}`` from what ``lockfile.described_value`` made; entries whose
    facts are not all strings are left out (a reader then scans that platform)."""
    nested = bool(value) and all(isinstance(v, dict) for v in value.values())
    every = value if nested else {primary: value}
    return {
        str(plat): dict(facts)
        for plat, facts in every.items()
        if all(isinstance(k, str) and isinstance(v, str) for k, v in facts.items())
    }


def layer_of(manifest_raw: bytes) -> tuple[str, dict[str, str]] | None:
    """(layer digest, annotations) of a manifesto artifact's manifest, or None if it is not one."""
    try:
        doc = json.loads(manifest_raw)
        if doc.get("artifactType") != MANIFESTO_ARTIFACT:
            return None
        layers = [x for x in doc["layers"] if x.get("mediaType") == MANIFESTO_ARTIFACT]
        notes = {str(k): str(v) for k, v in (doc.get("annotations") or {}).items()}
        return str(layers[0]["digest"]), notes
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
