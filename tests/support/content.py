"""File contents that package scanners read: dpkg status, Python dist-info and egg-info.

Realistic enough for a scanner written from the formats' documentation; every value
is derived from the inputs so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import re

SITE_PACKAGES = "/usr/lib/python2.7/site-packages"


def _stable_int(text: str, low: int, high: int) -> int:
    return low + int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % (high - low)


def dpkg_status(packages: dict[str, str], *, arch: str = "amd64") -> bytes:
    """A ``/var/lib/dpkg/status`` with one installed stanza per package (sorted by name)."""
    stanzas = []
    for name in sorted(packages):
        multi = "Multi-Arch: same\n" if name.startswith("lib") else ""
        stanzas.append(
            f"Package: {name}\n"
            "Status: install ok installed\n"
            "Priority: optional\n"
            f"Section: {'libs' if name.startswith('lib') else 'utils'}\n"
            f"Installed-Size: {_stable_int(name, 40, 4000)}\n"
            "Maintainer: Debian Developers <debian-devel@lists.debian.org>\n"
            f"Architecture: {arch}\n"
            f"{multi}"
            f"Source: {name.split(':')[0]}\n"
            f"Version: {packages[name]}\n"
            "Depends: libc6 (>= 2.14)\n"
            f"Description: {name} package for tests\n"
            f" The {name} package, as a Kolla base image would carry it.\n"
            " .\n"
            " This paragraph exists so parsers meet continuation lines.\n"
        )
    # A stanza that was removed but not purged: scanners must not report it as installed.
    stanzas.append(
        "Package: removed-not-purged\nStatus: deinstall ok config-files\nPriority: optional\n"
        "Architecture: all\nVersion: 0.1-1\nDescription: leftover configuration only\n"
    )
    return "\n".join(stanzas).encode()


def _dist_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name)


def _metadata(name: str, version: str, header: str) -> bytes:
    return (
        f"{header}\nName: {name}\nVersion: {version}\n"
        f"Summary: {name} (test fixture)\nHome-page: https://docs.openstack.org/\n"
        "Author: OpenStack\nLicense: Apache-2.0\nPlatform: UNKNOWN\n"
        "Classifier: Programming Language :: Python :: 2.7\n\n"
        f"{name} long description.\n"
    ).encode()


def dist_info(site_packages_dir: str, name: str, version: str) -> dict[str, bytes]:
    """Files of ``<name>-<version>.dist-info`` (METADATA, RECORD, INSTALLER) plus a module file."""
    base = f"{site_packages_dir.rstrip('/')}/{_dist_name(name)}-{version}.dist-info"
    module = f"{site_packages_dir.rstrip('/')}/{_dist_name(name).lower()}/__init__.py"
    files = {
        f"{base}/METADATA": _metadata(name, version, "Metadata-Version: 2.1"),
        f"{base}/INSTALLER": b"pip\n",
        module: f"__version__ = '{version}'\n".encode(),
    }
    files[f"{base}/RECORD"] = "".join(f"{p.lstrip('/')},,\n" for p in sorted(files)).encode()
    return files


def egg_info(site_packages_dir: str, name: str, version: str, *, py: str = "2.7") -> dict[str, bytes]:
    """Files of ``<name>-<version>-py<py>.egg-info`` (PKG-INFO, top_level.txt), as RPMs install them."""
    base = f"{site_packages_dir.rstrip('/')}/{_dist_name(name)}-{version}-py{py}.egg-info"
    return {
        f"{base}/PKG-INFO": _metadata(name, version, "Metadata-Version: 1.1"),
        f"{base}/top_level.txt": f"{_dist_name(name).lower()}\n".encode(),
    }
