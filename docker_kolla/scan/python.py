"""Python distributions: ``*.dist-info/METADATA`` and ``*.egg-info`` (dir or file)."""

from __future__ import annotations

import posixpath

from docker_kolla.core.manifesto import normalise_python as normalise  # PEP 503, one definition
from docker_kolla.scan.control import headers

_SUFFIXES = (".dist-info", ".egg-info", ".egg")
# Kolla's ``source`` images install the services into this virtualenv while the
# OS packages bring their own copies of many libraries into the system
# site-packages: the same distribution can be there twice, at two versions. The
# venv gets its own key space (``venv:<name>``); the system keeps ``python:<name>``,
# so binary images (no venv) keep the keys their locks always had.
VENV_ROOT = "var/lib/kolla/venv/"


def key_space(path: str) -> str:
    """``venv`` for metadata under Kolla's virtualenv, else ``python``."""
    return "venv" if path.startswith(VENV_ROOT) else "python"


def _metadata_dir(path: str) -> str:
    """The ``*.dist-info`` / ``*.egg-info`` / ``*.egg`` component of a metadata path."""
    for part in reversed(path.split("/")):
        if part.endswith(_SUFFIXES):
            return part
    return posixpath.basename(path)


def from_dirname(path: str) -> tuple[str, str]:
    """Name and version from ``name-version[-pyX.Y].{dist,egg}-info`` (wheel/egg naming)."""
    stem = _metadata_dir(path).rsplit(".", 1)[0]
    name, _, rest = stem.partition("-")
    return name, rest.split("-", 1)[0]


def parse_metadata(data: bytes, path: str) -> dict[str, str]:
    """``python:<normalised name>`` (``venv:`` under Kolla's venv) -> Version of one metadata file.

    Name and Version come from the file's headers; where one is missing or the file
    is not text, the directory name (``foo-1.2.dist-info``) supplies it.
    """
    found = headers(data.decode("utf-8", "replace"))
    dir_name, dir_version = from_dirname(path)
    name = found.get("name") or dir_name
    version = found.get("version") or dir_version
    if not name or not version:
        return {}
    return {f"{key_space(path)}:{normalise(name)}": version}
