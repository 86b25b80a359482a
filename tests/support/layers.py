"""Deterministic image layers: the same files always give the same blob and digest.

Tar entries are sorted, parents are created, owner/mtime/mode are fixed, and gzip
is written with mtime 0 and no file name, so tests can predict digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Mapping, Union

import zstandard

MTIME = 1492560000  # 2017-04-19, an Ocata-era build date; fixed for determinism
MEDIA_TYPES = {  # compression -> (OCI media type, Docker v2 media type)
    "gzip": ("application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip"),
    "zstd": ("application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
    "none": ("application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar"),
}
FileContent = Union[bytes, "tuple[bytes, int]"]  # bytes, or (bytes, mode)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Layer:
    """A built layer: compressed ``blob`` and its digest, plus the uncompressed ``diff_id``."""

    blob: bytes
    digest: str
    diff_id: str
    media_type: str  # the OCI media type; see media_type_for()
    size: int
    compression: str = "gzip"

    def media_type_for(self, oci: bool) -> str:
        """The media type to put in an OCI (``oci=True``) or Docker v2 manifest."""
        return MEDIA_TYPES[self.compression][0 if oci else 1]


def _norm(path: str) -> str:
    return str(PurePosixPath("/", path)).lstrip("/")


def _parents(path: str) -> list[str]:
    parts = PurePosixPath(path).parts[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "root", "root"
    return info


def build_tar(
    files: Mapping[str, FileContent],
    *,
    symlinks: Mapping[str, str] | None = None,
    whiteouts: tuple[str, ...] | list[str] = (),
    opaque: tuple[str, ...] | list[str] = (),
    dirs: tuple[str, ...] | list[str] = (),
) -> bytes:
    """An uncompressed, deterministic tar of ``files`` (path -> bytes or (bytes, mode))."""
    entries: dict[str, tuple[tarfile.TarInfo, bytes | None]] = {}
    regular = {_norm(p): (v if isinstance(v, tuple) else (v, 0o644)) for p, v in files.items()}
    links = {_norm(p): t for p, t in (symlinks or {}).items()}
    marks = {}
    for path in whiteouts:
        p = PurePosixPath(_norm(path))
        marks[_norm(str(p.parent / f".wh.{p.name}"))] = b""
    for path in opaque:
        marks[f"{_norm(path)}/.wh..wh..opq"] = b""
    for path in list(regular) + list(links) + list(marks) + [f"{_norm(d)}/-" for d in dirs]:
        for parent in _parents(path):  # the "/-" suffix makes an explicit dir its own parent
            entries.setdefault(parent, (_info(parent, tarfile.DIRTYPE, 0o755), None))
    for path, (data, mode) in regular.items():
        entries[path] = (_info(path, tarfile.REGTYPE, mode, len(data)), data)
    for path, data in marks.items():
        entries[path] = (_info(path, tarfile.REGTYPE, 0o644, 0), data)
    for path, target in links.items():
        entries[path] = (_info(path, tarfile.SYMTYPE, 0o777, link=target), None)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in sorted(entries):
            info, data = entries[name]
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def compress(tar: bytes, compression: str) -> bytes:
    """Compress deterministically: gzip with mtime 0 and no name, zstd level 3, or nothing."""
    if compression == "gzip":
        out = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
            gz.write(tar)
        return out.getvalue()
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(tar)
    if compression == "none":
        return tar
    raise ValueError(f"unknown compression {compression!r}")


def build_layer(
    files: Mapping[str, FileContent],
    *,
    symlinks: Mapping[str, str] | None = None,
    whiteouts: tuple[str, ...] | list[str] = (),
    opaque: tuple[str, ...] | list[str] = (),
    compression: str = "gzip",
    dirs: tuple[str, ...] | list[str] = (),
) -> Layer:
    """Build a layer; ``whiteouts`` delete lower paths, ``opaque`` hides lower dir contents."""
    tar = build_tar(files, symlinks=symlinks, whiteouts=whiteouts, opaque=opaque, dirs=dirs)
    blob = compress(tar, compression)
    return Layer(
        blob=blob,
        digest=sha256(blob),
        diff_id=sha256(tar),
        media_type=MEDIA_TYPES[compression][0],
        size=len(blob),
        compression=compression,
    )
