"""Scan one layer blob: stream its tar once, keep and parse only interesting files.

Package databases are parsed here, inside the layer that holds them: the file is
the unit an upper layer replaces (merge.py), so an upper layer's rewritten dpkg
status replaces the lower one wholesale. Nothing is written to disk.
"""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable

import zstandard

from docker_kolla.core.manifest import FOREIGN_LAYER_MARKERS
from docker_kolla.errors import ScanError
from docker_kolla.scan import apk, dpkg, paths, python, rpm, rpm_bdb
from docker_kolla.scan.facts import LayerFacts
from docker_kolla.scan.streams import Chunks, Counted, decompressed

__all__ = ["DEFAULT_LIMITS", "LayerFacts", "Limits", "SCANNER_VERSION", "scan_layer", "scannable"]

# Bump whenever a parser or the path table changes what a layer yields: cached
# results of older scanners are then ignored and layers rescanned.
SCANNER_VERSION = 2  # 2: Kolla venv distributions as venv:<name>

GiB, MiB = 1 << 30, 1 << 20
# tarfile's read size: larger cuts per-call overhead, but tarfile's stream reader
# copies its buffer's remainder on every header read, so past ~64 KiB it costs more.
_TAR_BUFFER = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on one layer scan; passing one raises ScanError straight away.

    Defaults:
        max_decompressed: 16 GiB. Kolla's largest layers inflate to about 2 GiB and
            general images rarely pass 5 GiB; 16 GiB leaves room for any honest layer
            while a bomb is stopped after at most ~1 minute of inflating.
        max_members: 500,000 tar entries. A whole Kolla image holds ~100k files; past
            five times that the header parsing alone takes several seconds per layer.
        max_file: 512 MiB for one kept file. The rpm Packages of a full CentOS host is
            ~100-200 MiB; kept files are held in memory, so this caps memory too.
    """

    max_decompressed: int = 16 * GiB
    max_members: int = 500_000
    max_file: int = 512 * MiB


DEFAULT_LIMITS = Limits()

_PARSERS: dict[str, Callable[[bytes, str], dict[str, str]]] = {
    paths.DPKG: lambda data, _path: dpkg.parse_status(data),
    paths.DPKG_D: lambda data, _path: dpkg.parse_status_d(data),
    paths.RPM_SQLITE: lambda data, _path: rpm.parse_sqlite(data) if data else {},
    paths.RPM_BDB: lambda data, _path: rpm_bdb.parse_bdb(data) if data else {},
    paths.APK: lambda data, _path: apk.parse_installed(data),
    paths.PYTHON: python.parse_metadata,
}


def scannable(media_type: str) -> bool:
    """Whether a layer of this media type is a tar to scan.

    Foreign / non-distributable layers (Windows base layers) are often not served
    by the registry at all and hold no Linux package databases: skip them, as
    ``Descriptor.is_foreign`` does. Non-tar artifacts (attestations) are skipped too.
    """
    return "tar" in media_type and not any(m in media_type for m in FOREIGN_LAYER_MARKERS)


def scan_layer(chunks: Iterable[bytes], media_type: str, limits: Limits = DEFAULT_LIMITS) -> LayerFacts:
    """Stream a layer blob once and return what it contributes to the manifesto.

    Every chunk is consumed (a caller hashing the chunks as they pass sees the whole
    blob), unless a bound or a parse error stops the scan first.
    """
    if not scannable(media_type):
        raise ScanError(f"layer media type {media_type} is not a scannable tar", "skip foreign and non-tar layers")
    source = Chunks(chunks)
    facts = LayerFacts()
    try:
        stream = Counted(decompressed(source, media_type), limits.max_decompressed)
        with tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFFER) as tar:
            _walk(tar, facts, limits)
        while stream.read(_TAR_BUFFER):  # trailing padding; also checks the gzip CRC
            pass
    except (tarfile.TarError, EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
        raise ScanError(f"layer is not a readable tar: {exc}", "the blob is corrupt or truncated") from exc
    while source.read(_TAR_BUFFER):  # bytes after the compressed stream, if any
        pass
    return facts


def _walk(tar: tarfile.TarFile, facts: LayerFacts, limits: Limits) -> None:
    """Visit members in stream order; tar.members is cleared so memory stays flat."""
    count = 0
    while (member := tar.next()) is not None:
        count += 1
        if count > limits.max_members:
            raise ScanError(
                f"layer has more than {limits.max_members} tar members",
                "the layer is a tar bomb or far larger than any image layer should be",
            )
        path = paths.normalise(member.name)
        if path is not None:
            _visit(tar, member, path, facts, limits)
        tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every TarInfo otherwise


def _visit(tar: tarfile.TarFile, member: tarfile.TarInfo, path: str, facts: LayerFacts, limits: Limits) -> None:
    """Record one member: whiteout, opaque dir, kept file, or a path that hides one."""
    parent, base = posixpath.split(path)
    if base == ".wh..wh..opq":
        if not parent or paths.may_hide(parent):
            facts.opaque.append(parent)
        return
    if base.startswith(".wh."):
        target = posixpath.join(parent, base[4:])
        if paths.may_hide(target):
            facts.whiteouts.append(target)
        return
    kind = paths.classify(path)
    if kind and member.isreg():
        if member.size > limits.max_file:
            raise ScanError(
                f"{path} is {member.size} bytes, over the {limits.max_file} byte bound",
                "the layer is corrupt or hostile",
            )
        handle = tar.extractfile(member)
        data = handle.read() if handle is not None else b""
        facts.files[path] = _PARSERS[kind](data, path)
    elif kind and member.islnk():
        _hard_link(member, path, kind, facts)
    elif not member.isdir() and paths.may_hide(path):
        # A symlink or other non-directory replaces whatever lower layers had here.
        facts.whiteouts.append(path)


def _hard_link(member: tarfile.TarInfo, path: str, kind: str, facts: LayerFacts) -> None:
    """A hard link shares its target's content; the target comes earlier in the same tar."""
    target = paths.normalise(member.linkname)
    if target in facts.files and paths.classify(target) == kind:
        facts.files[path] = dict(facts.files[target])
    else:
        facts.notes.append(f"{path}: hard link to {member.linkname}, whose content was not kept")
        facts.whiteouts.append(path)
