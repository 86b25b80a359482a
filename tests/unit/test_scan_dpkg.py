"""dpkg status parsing against databases written by the real dpkg."""

from __future__ import annotations

import subprocess
from pathlib import Path

from docker_kolla.scan import dpkg


def _deb(tmp_path: Path, name: str, version: str) -> Path:
    """A tiny .deb built by dpkg-deb."""
    root = tmp_path / f"build-{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        f"Description: test\n a second line\n"
    )
    (root / "usr" / "share" / name).mkdir(parents=True)
    (root / "usr" / "share" / name / "file").write_text("x\n")
    out = tmp_path / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(out)], check=True, capture_output=True)
    return out


def _dpkg(root: Path, *args: str) -> None:
    subprocess.run(
        ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-not-root", *args],
        check=True,
        capture_output=True,
    )


def test_status_written_by_dpkg(tmp_path):
    root = tmp_path / "root"
    for sub in ("updates", "info"):
        (root / "var/lib/dpkg" / sub).mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("")
    _dpkg(root, "-i", str(_deb(tmp_path, "kolla-one", "1:2.3-4")), str(_deb(tmp_path, "kolla-two", "0.1")))
    _dpkg(root, "--unpack", str(_deb(tmp_path, "kolla-half", "9")))  # unpacked, not configured
    _dpkg(root, "-i", str(_deb(tmp_path, "kolla-gone", "5")))
    _dpkg(root, "--purge", "kolla-gone")
    subprocess.run(
        ["dpkg", f"--admindir={root}/var/lib/dpkg", "--set-selections"], input=b"kolla-two hold\n", check=True
    )
    status = (root / "var/lib/dpkg/status").read_bytes()
    assert b"Status: install ok unpacked" in status
    assert b"Status: hold ok installed" in status
    assert dpkg.parse_status(status) == {"deb:kolla-one": "1:2.3-4", "deb:kolla-two": "0.1"}


def test_config_files_and_multiarch():
    status = b"""Package: libfoo
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 1.0-1

Package: libfoo
Status: install ok installed
Architecture: i386
Version: 1.0-2

Package: oldpkg
Status: deinstall ok config-files
Version: 3
"""
    assert dpkg.parse_status(status) == {"deb:libfoo": "1.0-1, 1.0-2"}


def test_status_d_file_without_status_field():
    data = b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"
    assert dpkg.parse_status_d(data) == {"deb:base-files": "12.4+deb12u5"}
    assert dpkg.parse_status(data) == {}
