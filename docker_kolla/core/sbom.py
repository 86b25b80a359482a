"""Standard SBOMs (SPDX 2.3 JSON, CycloneDX 1.5 JSON) from locked manifestos (pure).

Every package fact of every described platform's manifesto becomes a package with a
package URL (github.com/package-url/purl-spec): ``deb:`` -> ``pkg:deb/<vendor>/``,
``rpm:`` -> ``pkg:rpm/<vendor>/`` (an epoch goes in the ``epoch`` qualifier),
``python:`` -> ``pkg:pypi/``, ``apk:`` -> ``pkg:apk/alpine/``; labels are not packages.
deb, rpm and apk purls carry the ``arch`` qualifier of the platform they were found in,
in that packager's own spelling (``amd64`` for dpkg, ``x86_64`` for rpm and apk); pypi
defines no ``arch`` qualifier. The image itself is a ``pkg:oci`` package/component
carrying its digest; an image index has one more level, a ``pkg:oci`` package per
described platform (its manifest digest, ``arch=``), which holds that platform's
packages. Output is deterministic: identifiers and the document namespace derive from
the digests, the timestamp is the lock commit's.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from docker_kolla.core.lockfile import LockEntry

FORMATS = ("spdx", "cyclonedx")
_SAFE = "._-~"  # purl: everything else in a name or version is percent-encoded
# OCI architecture (+variant) -> the packager's name for it (dpkg-architecture; rpm/apk arch)
_DEB_ARCH = {"amd64": "amd64", "arm64": "arm64", "arm/v7": "armhf", "arm/v6": "armel", "386": "i386"}
_DEB_ARCH.update({"ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64"})
_RPM_ARCH = {"amd64": "x86_64", "arm64": "aarch64", "arm/v7": "armv7hl", "386": "i686"}
_RPM_ARCH.update({"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"})
_APK_ARCH = {**_RPM_ARCH, "arm/v7": "armv7", "arm/v6": "armhf", "386": "x86"}


@dataclass(frozen=True)
class PlatformFacts:
    """One described platform of an image: ``platform`` ``os/arch[/variant]`` (or "" when
    unknown), ``digest`` its manifest digest ("" for an image that is one manifest)."""

    platform: str
    digest: str
    facts: dict[str, str]

    @property
    def oci_arch(self) -> str:
        """``amd64``, ``arm64``, ``arm/v7``: the platform without its OS."""
        return self.platform.partition("/")[2]


@dataclass(frozen=True)
class ImageFacts:
    """One image to describe: name, repository, digest, tag and every described platform,
    the primary one first."""

    name: str
    repository: str
    digest: str
    tag: str
    platforms: tuple[PlatformFacts, ...]

    @property
    def is_index(self) -> bool:
        return any(p.digest for p in self.platforms)


def image_facts(entry: LockEntry) -> ImageFacts:
    """What an SBOM says of a lock entry: every platform the lock describes."""
    described = [(entry.platform, entry.manifesto)] + sorted(entry.platform_manifestos.items(), key=lambda x: str(x[0]))
    platforms = tuple(
        PlatformFacts(str(plat or ""), str(entry.platforms.get(plat, "")) if plat else "", dict(facts))
        for plat, facts in described
    )
    return ImageFacts(entry.name, str(entry.repository), str(entry.digest), entry.tag, platforms)


def _enc(text: str) -> str:
    """Percent-encode every byte that is not an ASCII letter, digit or one of ``._-~``."""
    return "".join(
        chr(b) if (chr(b).isascii() and chr(b).isalnum()) or chr(b) in _SAFE else f"%{b:02X}" for b in text.encode()
    )


def _qualified(base: str, qualifiers: dict[str, str]) -> str:
    """A purl with its qualifiers sorted by key (purl-spec: canonical form), empty ones left out."""
    pairs = [f"{k}={_enc(v)}" for k, v in sorted(qualifiers.items()) if v]
    return base + ("?" + "&".join(pairs) if pairs else "")


def purl(key: str, version: str, distro: str = "", oci_arch: str = "") -> str | None:
    """The package URL of one manifesto fact, or None for a fact that is not a package.

    ``oci_arch`` (``amd64``, ``arm/v7``) is the platform the fact was found in.
    """
    kind, _, name = key.partition(":")
    if not name:
        return None
    if kind == "deb":
        vendor = "ubuntu" if distro == "ubuntu" else "debian"
        return _qualified(f"pkg:deb/{vendor}/{_enc(name)}@{_enc(version)}", {"arch": _DEB_ARCH.get(oci_arch, "")})
    if kind == "rpm":
        epoch, sep, rest = version.partition(":")
        vendor = _enc(distro or "rpm")
        arch = _RPM_ARCH.get(oci_arch, "")
        if sep and epoch.isdigit():
            return _qualified(f"pkg:rpm/{vendor}/{_enc(name)}@{_enc(rest)}", {"arch": arch, "epoch": epoch})
        return _qualified(f"pkg:rpm/{vendor}/{_enc(name)}@{_enc(version)}", {"arch": arch})
    if kind == "python":
        return f"pkg:pypi/{_enc(name.lower().replace('_', '-'))}@{_enc(version)}"
    if kind == "apk":
        return _qualified(f"pkg:apk/alpine/{_enc(name)}@{_enc(version)}", {"arch": _APK_ARCH.get(oci_arch, "")})
    return None


def image_purl(image: ImageFacts, platform: PlatformFacts | None = None) -> str:
    """``pkg:oci`` of the image (its index or manifest), or of one platform's manifest in it."""
    last = image.repository.rsplit("/", 1)[-1]
    digest = platform.digest if platform is not None else image.digest
    if platform is None and not image.is_index and image.platforms:
        platform = image.platforms[0]  # one manifest: the image is its only platform
    arch = platform.oci_arch.partition("/")[0] if platform is not None else ""
    return _qualified(f"pkg:oci/{_enc(last)}@{_enc(digest)}", {"arch": arch, "repository_url": image.repository})


def packages(facts: PlatformFacts, distro: str) -> list[tuple[str, str, str]]:
    """(name, version, purl) of every package fact of one platform, sorted by purl."""
    out = []
    for key, version in facts.facts.items():
        url = purl(key, version, distro, facts.oci_arch)
        if url is not None:
            out.append((key.partition(":")[2], version, url))
    return sorted(out, key=lambda p: p[2])


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "docker-kolla:" + "\n".join(parts)))


def _spdx_package(spdx_id: str, name: str, version: str, url: str, **extra: Any) -> dict[str, Any]:
    ref = {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": url}
    return {
        "SPDXID": spdx_id,
        "name": name,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        **extra,
        "externalRefs": [ref],
    }


def _sha256(digest: str) -> list[dict[str, str]]:
    return [{"algorithm": "SHA256", "checksumValue": digest.split(":", 1)[1]}]


def _contains(parent: str, child: str) -> dict[str, str]:
    return {"spdxElementId": parent, "relationshipType": "CONTAINS", "relatedSpdxElement": child}


def spdx(name: str, images: list[ImageFacts], created: str, version: str, distro: str = "") -> dict[str, Any]:
    """An SPDX 2.3 document: the images; an index CONTAINS one package per described
    platform; an image (or platform) CONTAINS its packages."""
    doc_packages: list[dict[str, Any]] = []
    relationships: list[dict[str, str]] = []
    for i, image in enumerate(images):
        image_id = f"SPDXRef-Image-{i}"
        doc_packages.append(
            _spdx_package(
                image_id,
                image.name,
                image.tag,
                image_purl(image),
                primaryPackagePurpose="CONTAINER",
                checksums=_sha256(image.digest),
            )
        )
        relationships.append(
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id}
        )
        for k, plat in enumerate(image.platforms):
            holder = image_id
            if image.is_index and plat.digest:
                holder = f"SPDXRef-Image-{i}-Platform-{k}"
                doc_packages.append(
                    _spdx_package(
                        holder,
                        f"{image.name} ({plat.platform})",
                        image.tag,
                        image_purl(image, plat),
                        primaryPackagePurpose="CONTAINER",
                        checksums=_sha256(plat.digest),
                    )
                )
                relationships.append(_contains(image_id, holder))
            for j, (pkg, pkg_version, url) in enumerate(packages(plat, distro)):
                pkg_id = f"SPDXRef-Package-{i}-{k}-{j}"
                doc_packages.append(_spdx_package(pkg_id, pkg, pkg_version, url))
                relationships.append(_contains(holder, pkg_id))
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
    """A CycloneDX 1.5 BOM: each image a container component holding its packages; an
    index holds one container component per described platform (property
    ``docker-kolla:platform``), each holding that platform's packages."""

    def libraries(image: ImageFacts, plat: PlatformFacts) -> list[dict[str, Any]]:
        where = f"{image.name}/{plat.platform}" if image.is_index else image.name
        return [
            {"type": "library", "bom-ref": f"{where}/{url}", "name": pkg, "version": pkg_version, "purl": url}
            for pkg, pkg_version, url in packages(plat, distro)
        ]

    def container(image: ImageFacts) -> dict[str, Any]:
        if image.is_index:
            children = [
                {
                    "type": "container",
                    "bom-ref": image_purl(image, plat),
                    "name": image.name,
                    "version": image.tag,
                    "purl": image_purl(image, plat),
                    "hashes": [{"alg": "SHA-256", "content": plat.digest.split(":", 1)[1]}],
                    "properties": [{"name": "docker-kolla:platform", "value": plat.platform}],
                    "components": libraries(image, plat),
                }
                for plat in image.platforms
                if plat.digest
            ]
        else:
            children = [c for plat in image.platforms for c in libraries(image, plat)]
        return {
            "type": "container",
            "bom-ref": image_purl(image),
            "name": image.name,
            "version": image.tag,
            "purl": image_purl(image),
            "hashes": [{"alg": "SHA-256", "content": image.digest.split(":", 1)[1]}],
            "components": children,
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
