"""The version manifesto of an image: what is inside, as ``kind:name = version``.

Sources are version-bearing labels (``label:<name>``) and the image content
(``deb:``, ``rpm:``, ``apk:``, ``python:``). Informational labels (build-date,
maintainer, ...) never enter the manifesto. Where a version label and the
content disagree, the content wins and a warning says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from docker_kolla.core.canonical import digest_of_value
from docker_kolla.core.digest import Digest

# A JSON object label listing versions, e.g. {"nova": "15.0.2"} (docs/design.md, Manifesto).
MANIFESTO_LABELS = ("org.openstack.kolla.manifesto", "manifesto")
_VERSION_LABEL = re.compile(r"(^|[._-])version$")


def normalise_python(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def is_version_label(name: str) -> bool:
    return name in MANIFESTO_LABELS or bool(_VERSION_LABEL.search(name.lower()))


def manifesto_digest(manifesto: dict[str, Any]) -> Digest:
    """sha256 of the canonical JSON of the manifesto."""
    return digest_of_value(dict(sorted(manifesto.items())))


@dataclass
class ManifestoResult:
    manifesto: dict[str, Any]
    labels: dict[str, Any]
    warnings: list[Any] = field(default_factory=list)


def _label_claims(name: str, value: str) -> dict[str, Any]:
    """What content key a version label speaks for: ``kolla_version`` -> ``python:kolla``."""
    if name in MANIFESTO_LABELS:
        try:
            listed = json.loads(value)
        except ValueError:
            return {}
        if not isinstance(listed, dict):
            return {}
        claims = {}
        for pkg, ver in listed.items():
            key = pkg if ":" in pkg else f"python:{normalise_python(pkg)}"
            claims[key] = str(ver)
        return claims
    match = re.match(r"^(?P<pkg>.+?)[._-]version$", name, re.IGNORECASE)
    if match and "." not in match["pkg"]:
        return {f"python:{normalise_python(match['pkg'])}": value}
    return {}


def build_manifesto(
    labels: dict[str, Any], content: dict[str, Any], sources: Sequence[str] = ("labels", "content")
) -> ManifestoResult:
    """Merge label and content facts.

    Args:
        labels: the image config's labels.
        content: facts read from the layers (``deb:``, ``rpm:``, ``apk:``, ``python:``).
        sources: which sources the channel uses.
    Returns:
        The manifesto, the informational labels, and one warning per disagreement.
    """
    manifesto: dict[str, Any] = {}
    info: dict[str, Any] = {}
    warnings: list[Any] = []
    use_labels = "labels" in sources
    use_content = "content" in sources
    if use_content:
        manifesto.update(content)
    for name in sorted(labels):
        value = labels[name]
        if not (use_labels and is_version_label(name)):
            info[name] = value
            continue
        claims = _label_claims(name, value)
        conflicts = [
            (key, claimed, content[key])
            for key, claimed in claims.items()
            if use_content and key in content and content[key] != claimed
        ]
        for key, claimed, found in conflicts:
            warnings.append(f"label {name} says {key.split(':', 1)[1]} {claimed}, content has {key} {found}")
        if conflicts:
            info[name] = value
            continue
        if name in MANIFESTO_LABELS:
            for key, claimed in claims.items():
                manifesto.setdefault(key, claimed)
            info[name] = value
        else:
            manifesto[f"label:{name}"] = value
    return ManifestoResult(dict(sorted(manifesto.items())), dict(sorted(info.items())), warnings)
