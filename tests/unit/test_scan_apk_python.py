"""apk installed database and Python distribution metadata."""

from __future__ import annotations

from docker_kolla.scan import apk, python

# The shape apk writes (Alpine 3.19 /lib/apk/db/installed, trimmed).
APK_INSTALLED = b"""C:Q1/dWzt7xUWYd9r5KvjzSU/X6R9xs0=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407360
I:651264
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1700222620
c:ba2a5d8f7a9b8d2e9a1b4a0cb6ab9b5a9bd1d2f2
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1/ZlHQpVmx4N+uEkK3R0uR8rUkt0=

C:Q1Bh8Q4rR8PjG9XlJS4oS4x9gQtS0=
P:busybox
V:1.36.1-r15
A:x86_64
"""


def test_apk_installed():
    assert apk.parse_installed(APK_INSTALLED) == {"apk:busybox": "1.36.1-r15", "apk:musl": "1.2.4_git20230717-r4"}


def test_dist_info_headers_win_over_directory_name():
    metadata = b"Metadata-Version: 2.1\nName: oslo.config\nVersion: 9.4.0\nSummary: x\n\nName: not-this\n"
    path = "usr/lib/python3/dist-packages/oslo_config-9.4.0.dist-info/METADATA"
    assert python.parse_metadata(metadata, path) == {"python:oslo-config": "9.4.0"}


def test_egg_info_file_and_dir_fall_back_to_directory_name():
    file_path = "var/lib/kolla/venv/lib/python2.7/site-packages/nova-15.0.0-py2.7.egg-info"
    assert python.parse_metadata(b"", file_path) == {"venv:nova": "15.0.0"}
    dir_path = "usr/lib/python2.7/site-packages/PyYAML-3.10-py2.7.egg-info/PKG-INFO"
    assert python.parse_metadata(b"Metadata-Version: 1.0\nName: PyYAML\n", dir_path) == {"python:pyyaml": "3.10"}


def test_pep503_normalise():
    assert python.normalise("Oslo__Messaging.x") == "oslo-messaging-x"
