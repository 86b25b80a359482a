"""Python distributions: ``*.dist-info/METADATA`` and ``*.egg-info`` (dir or file)."""

from __future__ import annotations

import posixpath

from docker_kolla.core.manifesto import normalise_python as normalise  # PEP 503, one definition
from docker_kolla.scan.control import headers

_SUFFIXES = (".dist-info", ".egg-info", ".egg")


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
    """``python:<normalised name>`` -> Version of one metadata file.

    Name and Version come from the file's headers; where one is missing or the file
    is not text, the directory name (``foo-1.2.dist-info``) supplies it.
    """
    found = headers(data.decode("utf-8", "replace"))
    dir_name, dir_version = from_dirname(path)
    name = found.get("name") or dir_name
    version = found.get("version") or dir_version
    if not name or not version:
        return {}
    return {f"python:{normalise(name)}": version}
