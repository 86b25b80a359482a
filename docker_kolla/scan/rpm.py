"""rpm databases in pure Python: the header blob, and the sqlite ``rpmdb.sqlite``.

No rpm binary or librpm: Kolla's CentOS images carry a Berkeley DB ``Packages``
(see rpm_bdb.py), newer distributions an sqlite database whose ``Packages`` table
holds one header blob per installed package.
"""

from __future__ import annotations

import sqlite3
import struct
from typing import Iterable

from docker_kolla.errors import ScanError
from docker_kolla.scan.facts import finish, merge_entries

# rpm tag numbers (rpmtag.h) and data types (rpm header format, "Index entries").
TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH = 1000, 1001, 1002, 1003, 1022
TYPE_INT32, TYPE_STRING = 4, 6
_WANTED = (TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH)
# rpm itself refuses headers above 256 MiB of data (hdrchk.c, HEADER_DATA_MAX).
_MAX_HEADER_DATA = 256 * 1024 * 1024
_HINT = "the image's rpm database is damaged or not an rpm database"


def parse_header(blob: bytes) -> dict[int, str | int]:
    """Decode NAME, VERSION, RELEASE, EPOCH and ARCH from one header blob.

    Layout (big-endian): index entry count, data length, then 16-byte entries
    (tag, type, offset, count), then the data store the offsets point into.
    """
    if len(blob) < 8:
        raise ScanError("rpm header blob too short", _HINT)
    count, size = struct.unpack_from(">II", blob, 0)
    store = 8 + 16 * count
    if count > len(blob) // 16 or size > _MAX_HEADER_DATA or store + size > len(blob):
        raise ScanError(f"rpm header claims {count} entries and {size} data bytes in {len(blob)}", _HINT)
    data = blob[store : store + size]
    found: dict[int, str | int] = {}
    for index in range(count):  # the size check above keeps every read inside the blob
        tag, kind, offset, _n = struct.unpack_from(">IIiI", blob, 8 + 16 * index)
        if tag not in _WANTED or not 0 <= offset < size:
            continue
        if kind == TYPE_STRING:
            end = data.find(b"\0", offset)
            found[tag] = data[offset : end if end >= 0 else size].decode("utf-8", "replace")
        elif kind == TYPE_INT32 and offset + 4 <= size:
            found[tag] = struct.unpack_from(">I", data, offset)[0]
    return found


def entry_of(blob: bytes) -> tuple[str, str] | None:
    """``("rpm:<name>", "[epoch:]version-release")`` of one header, None for gpg-pubkey."""
    tags = parse_header(blob)
    name = tags.get(TAG_NAME)
    if not isinstance(name, str) or TAG_VERSION not in tags or TAG_RELEASE not in tags:
        raise ScanError("rpm header without name, version or release", _HINT)
    if name == "gpg-pubkey":  # imported signing keys, not software
        return None
    value = f"{tags[TAG_VERSION]}-{tags[TAG_RELEASE]}"
    if TAG_EPOCH in tags:
        value = f"{tags[TAG_EPOCH]}:{value}"
    return f"rpm:{name}", value


def entries_of(blobs: Iterable[bytes]) -> dict[str, str]:
    """Manifesto entries of header blobs; two arches of one name are combined."""
    collected: dict[str, set[str]] = {}
    for blob in blobs:
        entry = entry_of(blob)
        if entry:
            merge_entries(collected, dict([entry]))
    return finish(collected)


def parse_sqlite(data: bytes) -> dict[str, str]:
    """Entries of an ``rpmdb.sqlite`` file, opened in memory (nothing written to disk)."""
    if not data.startswith(b"SQLite format 3\0") or len(data) < 100:
        raise ScanError("rpmdb.sqlite is not an sqlite database", _HINT)
    image = bytearray(data)
    # rpm keeps the database in WAL mode (header bytes 18/19 = 2); an in-memory
    # database cannot open a WAL file, so mark it as rollback-journal (1). rpm
    # checkpoints on close, so the main file holds every committed package.
    image[18:20] = b"\x01\x01"
    conn = sqlite3.connect(":memory:")
    if not hasattr(conn, "deserialize"):  # Connection.deserialize is Python 3.11+
        conn.close()
        raise ScanError("reading rpmdb.sqlite in memory needs Python 3.11 or later", "run docker-kolla on Python 3.11+")
    try:
        conn.deserialize(bytes(image))
        conn.execute("PRAGMA query_only = ON")
        rows = conn.execute("SELECT blob FROM Packages ORDER BY hnum").fetchall()
    except sqlite3.Error as exc:
        raise ScanError(f"cannot read rpmdb.sqlite: {exc}", _HINT) from exc
    finally:
        conn.close()
    return entries_of(bytes(row[0]) for row in rows)
