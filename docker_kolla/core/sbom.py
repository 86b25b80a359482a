"""Standard SBOMs (SPDX 2.3 JSON, CycloneDX 1.5 JSON) from locked manifestos (pure).

Every package fact of an image's primary-platform manifesto becomes a package with a
package URL (github.com/package-url/purl-spec): ``deb:`` -> ``pkg:deb/<vendor>/``,
``rpm:`` -> ``pkg:rpm/<vendor>/`` (an epoch goes in the ``epoch`` qualifier),
``python:`` -> ``pkg:pypi/``, ``apk:`` -> ``pkg:apk/alpine/``; labels are not packages.
The image itself is a ``pkg:oci`` package/component carrying its digest. Output is
deterministic: identifiers and the document namespace derive from the digests, the
timestamp is the lock commit's.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

FORMATS = ("spdx", "cyclonedx")
_SAFE = "._-~"  # purl: everything else in a name or version is percent-encoded


@dataclass(frozen=True)
class ImageFacts:
    """One image to describe: name, repository, digest and its package facts."""

    name: str
    repository: str
    digest: str
    tag: str
    facts: dict[str, str]


def _enc(text: str) -> str:
    """Percent-encode every byte that is not an ASCII letter, digit or one of ``._-~``."""
    return "".join(
        chr(b) if (chr(b).isascii() and chr(b).isalnum()) or chr(b) in _SAFE else f"%{b:02X}" for b in text.encode()
    )


def purl(key: str, version: str, distro: str = "") -> str | None:
    """The package URL of one manifesto fact, or None for a fact that is not a package."""
    kind, _, name = key.partition(":")
    if not name:
        return None
    if kind == "deb":
        vendor = "ubuntu" if distro == "ubuntu" else "debian"
        return f"pkg:deb/{vendor}/{_enc(name)}@{_enc(version)}"
    if kind == "rpm":
        epoch, sep, rest = version.partition(":")
        vendor = _enc(distro or "rpm")
        if sep and epoch.isdigit():
            return f"pkg:rpm/{vendor}/{_enc(name)}@{_enc(rest)}?epoch={epoch}"
        return f"pkg:rpm/{vendor}/{_enc(name)}@{_enc(version)}"
    if kind == "python":
        return f"pkg:pypi/{_enc(name.lower().replace('_', '-'))}@{_enc(version)}"
    if kind == "apk":
        return f"pkg:apk/alpine/{_enc(name)}@{_enc(version)}"
    return None


def image_purl(image: ImageFacts) -> str:
    last = image.repository.rsplit("/", 1)[-1]
    return f"pkg:oci/{_enc(last)}@{_enc(image.digest)}?repository_url={_enc(image.repository)}"


def packages(image: ImageFacts, distro: str) -> list[tuple[str, str, str]]:
    """(name, version, purl) of every package fact, sorted by purl."""
    out = []
    for key, version in image.facts.items():
        url = purl(key, version, distro)
        if url is not None:
            out.append((key.partition(":")[2], version, url))
    return sorted(out, key=lambda p: p[2])


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "docker-kolla:" + "\n".join(parts)))


def spdx(name: str, images: list[ImageFacts], created: str, version: str, distro: str = "") -> dict[str, Any]:
    """An SPDX 2.3 document: the images, each CONTAINS its packages."""
    doc_packages: list[dict[str, Any]] = []
    relationships: list[dict[str, str]] = []
    for i, image in enumerate(images):
        image_id = f"SPDXRef-Image-{i}"
        doc_packages.append(
            {
                "SPDXID": image_id,
                "name": image.name,
                "versionInfo": image.tag,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "primaryPackagePurpose": "CONTAINER",
                "checksums": [{"algorithm": "SHA256", "checksumValue": image.digest.split(":", 1)[1]}],
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": image_purl(image),
                    }
                ],
            }
        )
        relationships.append(
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id}
        )
        for j, (pkg, version, url) in enumerate(packages(image, distro)):
            pkg_id = f"SPDXRef-Package-{i}-{j}"
            doc_packages.append(
                {
                    "SPDXID": pkg_id,
                    "name": pkg,
                    "versionInfo": version,
                    "downloadLocation": "NOASSERTION",
                    "filesAnalyzed": False,
                    "externalRefs": [
                        {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": url}
                    ],
                }
            )
            relationships.append(
                {"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": pkg_id}
            )
    key = _uuid(name, *(i.digest for i in images))
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"https://docker-kolla.invalid/spdx/{_enc(name)}-{key}",
        "creationInfo": {"created": created, "creators": [f"Tool: docker-kolla-{version}"]},
        "packages": doc_packages,
        "relationships": relationships,
    }


def cyclonedx(name: str, images: list[ImageFacts], created: str, version: str, distro: str = "") -> dict[str, Any]:
    """A CycloneDX 1.5 BOM: each image a container component holding its packages."""

    def container(image: ImageFacts) -> dict[str, Any]:
        return {
            "type": "container",
            "bom-ref": image_purl(image),
            "name": image.name,
            "version": image.tag,
            "purl": image_purl(image),
            "hashes": [{"alg": "SHA-256", "content": image.digest.split(":", 1)[1]}],
            "components": [
                {"type": "library", "bom-ref": f"{image.name}/{url}", "name": pkg, "version": version, "purl": url}
                for pkg, version, url in packages(image, distro)
            ],
        }

    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{_uuid(name, *(i.digest for i in images))}",
        "version": 1,
        "metadata": {
            "timestamp": created,
            "tools": {"components": [{"type": "application", "name": "docker-kolla", "version": version}]},
        },
        "components": [container(i) for i in images],
    }
    if len(images) == 1:
        only = bom["components"][0]
        bom["metadata"]["component"] = {k: v for k, v in only.items() if k != "components"}
        bom["components"] = only["components"]
    return bom


def render(fmt: str, name: str, images: list[ImageFacts], created: str, version: str, distro: str = "") -> str:
    make = spdx if fmt == "spdx" else cyclonedx
    return json.dumps(make(name, images, created, version, distro), indent=2, sort_keys=True) + "\n"
