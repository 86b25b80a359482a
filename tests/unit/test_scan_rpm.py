"""rpm readers against real databases: the shared fixtures and one made by Debian's rpm."""

from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from docker_kolla.errors import ScanError
from docker_kolla.scan import rpm, rpm_bdb

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rpmdb"


def expected(tsv: Path) -> dict[str, str]:
    """The manifesto entries implied by an expected.tsv (name, epoch, version, release, arch)."""
    found: dict[str, set[str]] = {}
    for line in tsv.read_text().splitlines()[1:]:
        name, epoch, version, release, _arch = line.split("\t")
        value = f"{epoch}:{version}-{release}" if epoch else f"{version}-{release}"
        found.setdefault(f"rpm:{name}", set()).add(value)
    return {key: ", ".join(sorted(values)) for key, values in sorted(found.items())}


def test_sqlite_fixture_matches_rpm_qa():
    got = rpm.parse_sqlite(gzip.decompress((FIXTURES / "sqlite" / "rpmdb.sqlite.gz").read_bytes()))
    want = expected(FIXTURES / "sqlite" / "expected.tsv")
    assert len(want) == 129
    assert got == want
    assert got["rpm:ca-certificates-base"] == "1:2.0.0-1.cm2"  # epoch kept


def test_bdb_fixture_matches_expected():
    data = (FIXTURES / "bdb" / "Packages").read_bytes()
    assert rpm_bdb.parse_bdb(data) == expected(FIXTURES / "bdb" / "expected.tsv")
    assert len(rpm_bdb.values(data)[0]) > 4096  # the header sits on a chain of overflow pages


def test_bdb_truncated_file_is_refused():
    data = (FIXTURES / "bdb" / "Packages").read_bytes()
    with pytest.raises(ScanError):
        rpm_bdb.parse_bdb(data[: len(data) // 2])
    with pytest.raises(ScanError):
        rpm_bdb.parse_bdb(b"\0" * 8192)


def test_header_lying_about_its_size_is_refused():
    blob = struct.pack(">II", 10**6, 16) + b"\0" * 64
    with pytest.raises(ScanError):
        rpm.parse_header(blob)


def test_sqlite_garbage_is_refused():
    with pytest.raises(ScanError):
        rpm.parse_sqlite(b"not a database" * 100)


SPEC = """Name: {name}
Version: {version}
Release: {release}
{epoch}Summary: test package
License: MIT
{arch}%description
test package
%files
"""


def _build(tmp_path: Path, name: str, version: str, release: str, epoch: str = "", target: str = "") -> Path:
    """A real empty rpm built by rpmbuild (noarch unless a target arch is given)."""
    spec = tmp_path / f"{name}-{version}-{target}.spec"
    spec.write_text(
        SPEC.format(
            name=name,
            version=version,
            release=release,
            epoch=f"Epoch: {epoch}\n" if epoch else "",
            arch="" if target else "BuildArch: noarch\n",
        )
    )
    top = tmp_path / "rpmbuild"
    extra = ["--target", target] if target else []
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {top}", *extra, str(spec)], check=True, capture_output=True
    )
    return next((top / "RPMS" / (target or "noarch")).glob(f"{name}-{version}-*.rpm"))


def _install(db: Path, packages: list[Path]) -> None:
    subprocess.run(["rpm", "--dbpath", str(db), "--initdb"], check=True)
    subprocess.run(
        ["rpm", "--dbpath", str(db), "-i", "--nodeps", "--justdb", "--ignoreos", "--ignorearch", *map(str, packages)],
        check=True,
        capture_output=True,
    )


def test_sqlite_written_by_debian_rpm(tmp_path):
    assert shutil.which("rpmbuild"), "Debian's rpm and rpmbuild are needed (apt-get install rpm)"
    backend = subprocess.run(["rpm", "--eval", "%_db_backend"], capture_output=True, text=True, check=True)
    assert backend.stdout.strip() == "sqlite"
    packages = [
        _build(tmp_path, "kolla-alpha", "1.2", "3", epoch="2"),
        _build(tmp_path, "kolla-beta", "0.9~rc1", "1.el9"),
    ]
    db = tmp_path / "db"
    _install(db, packages)
    query = subprocess.run(
        [
            "rpm",
            "--dbpath",
            str(db),
            "-qa",
            "--qf",
            "%{NAME}\t%|EPOCH?{%{EPOCH}}:{}|\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    tsv = tmp_path / "expected.tsv"
    tsv.write_text("header\n" + query.stdout)
    got = rpm.parse_sqlite((db / "rpmdb.sqlite").read_bytes())
    assert got == expected(tsv)
    assert got == {"rpm:kolla-alpha": "2:1.2-3", "rpm:kolla-beta": "0.9~rc1-1.el9"}


def test_two_arches_of_one_name_keep_both_versions(tmp_path):
    db = tmp_path / "db"
    _install(
        db,
        [
            _build(tmp_path, "kolla-gamma", "1.0", "1", target="x86_64"),
            _build(tmp_path, "kolla-gamma", "1.1", "1", target="i686"),
            _build(tmp_path, "kolla-delta", "3", "1", target="x86_64"),
            _build(tmp_path, "kolla-delta", "3", "1", target="i686"),
        ],
    )
    got = rpm.parse_sqlite((db / "rpmdb.sqlite").read_bytes())
    assert got == {"rpm:kolla-delta": "3-1", "rpm:kolla-gamma": "1.0-1, 1.1-1"}
