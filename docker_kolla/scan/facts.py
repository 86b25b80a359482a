"""Per-layer scan results and the rule for combining versions of one package.

``LayerFacts`` is what the cache stores per layer digest, so it round-trips
through canonical JSON (sorted keys) and carries no derived state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

from docker_kolla.errors import ScanError


def combine_versions(values: Iterable[str]) -> str:
    """One deterministic value for a package seen more than once.

    Two arches of one rpm/deb name (multilib), or one Python distribution in two system
    site-packages (``/usr/lib`` and ``/usr/local/lib``): keep every distinct version,
    sorted and joined with ", ", so nothing is hidden and the result never depends on
    order. (Kolla's venv has its own ``venv:`` keys, see scan.python.)
    """
    return ", ".join(sorted(set(values)))


def merge_entries(target: dict[str, set[str]], entries: dict[str, str]) -> None:
    """Add ``entries`` to ``target`` (key -> set of versions seen)."""
    for key, value in entries.items():
        target.setdefault(key, set()).add(value)


def finish(collected: dict[str, set[str]]) -> dict[str, str]:
    """Collapse key -> versions into the sorted manifesto mapping."""
    return {key: combine_versions(collected[key]) for key in sorted(collected)}


@dataclass
class LayerFacts:
    """What one layer contributes to the final filesystem's manifesto.

    Attributes:
        files: each interesting file kept (path without leading './' or '/') -> the
            entries parsed from it; the file is the unit an upper layer replaces.
        whiteouts: paths this layer deletes from lower layers (with everything below).
        opaque: directories whose lower-layer content this layer hides.
        notes: warnings worth showing (unparsed hard links, suspicious entries).
    """

    files: dict[str, dict[str, str]] = field(default_factory=dict)
    whiteouts: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys and lists) for the layer cache."""
        obj = {
            "files": {path: dict(sorted(entries.items())) for path, entries in sorted(self.files.items())},
            "whiteouts": sorted(set(self.whiteouts)),
            "opaque": sorted(set(self.opaque)),
            "notes": list(self.notes),
        }
        return json.dumps(obj, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LayerFacts:
        """Inverse of ``to_json``; raises ScanError on a malformed document."""
        try:
            obj = json.loads(text)
            files = {str(p): {str(k): str(v) for k, v in e.items()} for p, e in obj["files"].items()}
            return cls(
                files,
                [str(w) for w in obj["whiteouts"]],
                [str(o) for o in obj["opaque"]],
                [str(n) for n in obj["notes"]],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ScanError(f"malformed layer facts: {exc}", "delete the layer cache entry and rescan") from exc
