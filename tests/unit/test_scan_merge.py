"""Merging layers: whiteouts, opaque dirs and file replacement, on scanned tars."""

from __future__ import annotations

import gzip
import io
import tarfile

from docker_kolla.core.manifest import OCI_LAYER_GZIP
from docker_kolla.scan.layers import scan_layer
from docker_kolla.scan.merge import merge_layers

SITE = "usr/lib/python3.9/site-packages"
VENV = "var/lib/kolla/venv/lib/python3.9/site-packages"


def layer(*entries: tuple[str, bytes]):
    """Scan a gzip layer holding these files."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return scan_layer([gzip.compress(out.getvalue())], OCI_LAYER_GZIP)


def status(*packages: tuple[str, str]) -> bytes:
    return "".join(f"Package: {n}\nStatus: install ok installed\nVersion: {v}\n\n" for n, v in packages).encode()


def meta(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()


BASE = layer(
    ("var/lib/dpkg/status", status(("bash", "5.1"), ("wget", "1.21"))),
    (f"{SITE}/six-1.16.0.dist-info/METADATA", meta("six", "1.16.0")),
    (f"{SITE}/PyYAML-5.4.egg-info/PKG-INFO", meta("PyYAML", "5.4")),
)


def test_base_alone():
    assert merge_layers([BASE]) == {
        "deb:bash": "5.1",
        "deb:wget": "1.21",
        "python:pyyaml": "5.4",
        "python:six": "1.16.0",
    }


def test_whiteout_of_dist_info_removes_the_python_package():
    upper = layer((f"{SITE}/.wh.six-1.16.0.dist-info", b""))
    assert "python:six" not in merge_layers([BASE, upper])
    assert "python:six" in merge_layers([upper, BASE])  # order matters: base first


def test_rewritten_dpkg_status_drops_a_removed_package():
    upper = layer(("var/lib/dpkg/status", status(("bash", "5.2"))))
    merged = merge_layers([BASE, upper])
    assert merged["deb:bash"] == "5.2" and "deb:wget" not in merged


def test_opaque_dir_hides_lower_content_but_keeps_its_own():
    upper = layer((f"{SITE}/.wh..wh..opq", b""), (f"{SITE}/six-1.17.0.dist-info/METADATA", meta("six", "1.17.0")))
    merged = merge_layers([BASE, upper])
    assert merged["python:six"] == "1.17.0" and "python:pyyaml" not in merged
    assert merged["deb:bash"] == "5.1"


def test_whiteout_of_a_parent_directory_removes_everything_below():
    upper = layer(("usr/lib/.wh.python3.9", b""))
    assert sorted(merge_layers([BASE, upper])) == ["deb:bash", "deb:wget"]


def test_same_project_in_system_and_venv_has_one_key_each():
    upper = layer((f"{VENV}/six-1.17.0.dist-info/METADATA", meta("six", "1.17.0")))
    merged = merge_layers([BASE, upper])
    assert merged["python:six"] == "1.16.0"  # the OS package's copy, key unchanged
    assert merged["venv:six"] == "1.17.0"  # what the service in Kolla's venv imports


def test_same_project_in_two_system_site_packages_keeps_both_versions():
    upper = layer(("usr/local/lib/python3.9/site-packages/six-1.17.0.dist-info/METADATA", meta("six", "1.17.0")))
    assert merge_layers([BASE, upper])["python:six"] == "1.16.0, 1.17.0"
