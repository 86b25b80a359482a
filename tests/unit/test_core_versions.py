"""core.versions against the ecosystems' own tools: dpkg --compare-versions, rpm's EVR
comparison (rpm.ver in rpm's embedded Lua) and the packaging library (PEP 440)."""

from __future__ import annotations

import subprocess

import pytest
from packaging.version import Version

from docker_kolla.core.versions import compare, compare_deb, compare_python, compare_rpm

DEB = [
    ("1.1.0f-3+deb9u2", "1.1.0f-3+deb9u3"),
    ("1.1.0f-3+deb9u3", "1.1.0f-3+deb9u2"),
    ("1.0", "1.0~rc1"),
    ("1.0~rc1", "1.0~rc2"),
    ("1:0.9", "2.0"),
    ("2.0", "1:0.9"),
    ("1.0-1", "1.0-1"),
    ("1.0", "1.0-0"),
    ("1.0a", "1.0+"),
    ("1.0.10", "1.0.9"),
    ("1.2.3-1ubuntu1", "1.2.3-1"),
    ("0001.0", "1.0"),
    ("1.0~~", "1.0~"),
    ("2.24.0-1", "2.24.0-1~bpo9+1"),
    ("7.52.1-5+deb9u9", "7.52.1-5+deb9u10"),
]
RPM = [
    ("1:15.0.2-1.el7", "1:15.0.3-1.el7"),
    ("1:15.0.3-1.el7", "1:15.0.2-1.el7"),
    ("15.0.3-1.el7", "1:15.0.2-1.el7"),
    ("1.0", "1.0~rc1"),
    ("1.0^git1", "1.0"),
    ("1.0^git1", "1.0.1"),
    ("1.0a", "1.0"),
    ("1.0a", "1.01"),
    ("2.0.1", "2.0.1a"),
    ("1.el7", "1.el7_4"),
    ("1.0-1.el7", "1.0-1.el7"),
    ("1.010", "1.9"),
    ("5.5p1", "5.5p10"),
    ("1.0_1", "1.0.1"),
    ("2.7.5-58.el7", "2.7.5-68.el7"),
]
PEP440 = [
    ("15.0.2", "15.0.3"),
    ("15.0.3", "15.0.2"),
    ("1.0", "1.0.0"),
    ("1.0.dev1", "1.0a1"),
    ("1.0a1", "1.0b1"),
    ("1.0rc1", "1.0"),
    ("1.0", "1.0.post1"),
    ("1.0.post1.dev1", "1.0.post1"),
    ("1.0+local.1", "1.0"),
    ("1.0+local.2", "1.0+local.10"),
    ("1.0+abc", "1.0+5"),
    ("1!0.5", "2.0"),
    ("2.0", "10.0"),
    ("1.0-1", "1.0.post1"),
    ("11.0.0.0rc1", "11.0.0"),
]


def dpkg_cmp(a: str, b: str) -> int:
    for op, value in (("lt", -1), ("eq", 0), ("gt", 1)):
        if subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0:
            return value
    raise AssertionError((a, b))


def rpm_cmps(pairs) -> list:
    script = " ".join(
        f'io.write((rpm.ver("{a}") < rpm.ver("{b}")) and -1 or ((rpm.ver("{a}") == rpm.ver("{b}")) and 0 or 1), " ")'
        for a, b in pairs
    )
    out = subprocess.run(["rpm", "--eval", "%{lua: " + script + "}"], capture_output=True, text=True, check=True)
    return [int(x) for x in out.stdout.split()]


@pytest.mark.parametrize("a,b", DEB)
def test_deb_matches_dpkg(a, b):
    assert compare_deb(a, b) == dpkg_cmp(a, b)


def test_rpm_matches_rpm():
    assert [compare_rpm(a, b) for a, b in RPM] == rpm_cmps(RPM)


@pytest.mark.parametrize("a,b", PEP440)
def test_python_matches_packaging(a, b):
    va, vb = Version(a), Version(b)
    assert compare_python(a, b) == (va > vb) - (va < vb)


def test_compare_by_key_says_downgrade_and_knows_what_it_cannot_order():
    assert compare("deb:openssl", "1.1.0f-3+deb9u3", "1.1.0f-3+deb9u2") == -1
    assert compare("linux/arm64 python:nova", "15.0.2", "15.0.3") == 1
    assert compare("rpm:openstack-nova-api", "1:15.0.2-1.el7", "15.0.9-1.el7") == -1  # the epoch wins
    assert compare("label:kolla_version", "4.0.3", "4.0.2") is None
    assert compare("python:nova", "not a version", "15.0.2") is None
