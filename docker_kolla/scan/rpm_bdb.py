"""Berkeley DB hash files (rpm's ``Packages`` up to rpm 4.15) read in pure Python.

Only what rpm writes is supported: a hash database (no checksums, no encryption),
4-byte keys (header numbers) and values that are header blobs, stored either on the
bucket page (H_KEYDATA) or on a chain of overflow pages (H_OFFPAGE). Layout follows
Berkeley DB's db_page.h / hash.h (page header, hash metadata, bucket addressing).
"""

from __future__ import annotations

import struct

from docker_kolla.errors import ScanError
from docker_kolla.scan import rpm

HASH_MAGIC = 0x061561
P_HASH_UNSORTED, P_OVERFLOW, P_HASHMETA, P_HASH = 2, 7, 8, 13
H_KEYDATA, H_OFFPAGE = 1, 3
PAGE_HEADER = 26  # lsn(8) pgno prev next (4 each) entries hf_offset (2 each) level type (1 each)
_HINT = "the image's rpm Packages database is damaged or not a Berkeley DB hash file"


def _fail(why: str) -> ScanError:
    return ScanError(f"rpm Packages (Berkeley DB): {why}", _HINT)


class _Pages:
    """Page access over the file bytes, in the byte order the file was written in."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512:
            raise _fail("file too short")
        for order in ("<", ">"):
            if struct.unpack_from(order + "I", data, 12)[0] == HASH_MAGIC:
                self.order = order
                break
        else:
            raise _fail("no hash magic number")
        self.data = data
        self.size = self.u32(data, 20)
        if self.size < 512 or self.size & (self.size - 1) or data[25] != P_HASHMETA:
            raise _fail(f"bad page size {self.size} or metadata page type {data[25]}")
        if data[24] or data[26] & 1:
            raise _fail("encrypted or checksummed databases are not supported")
        self.count = len(data) // self.size

    def u32(self, buf: bytes, offset: int) -> int:
        value: int = struct.unpack_from(self.order + "I", buf, offset)[0]
        return value

    def u16(self, buf: bytes, offset: int) -> int:
        value: int = struct.unpack_from(self.order + "H", buf, offset)[0]
        return value

    def page(self, pgno: int) -> bytes:
        if not 0 < pgno < self.count:
            raise _fail(f"page {pgno} outside the file")
        return self.data[pgno * self.size : (pgno + 1) * self.size]


def _log2(n: int) -> int:
    """Smallest i with 2**i >= n (Berkeley DB's __db_log2)."""
    return max(0, (n - 1).bit_length())


def _bucket_pages(pages: _Pages) -> list[int]:
    """First page of every bucket: bucket + spares[log2(bucket + 1)] (hash.h BUCKET_TO_PAGE)."""
    meta = pages.data
    max_bucket = pages.u32(meta, 72)
    if max_bucket >= pages.count:
        raise _fail(f"{max_bucket + 1} buckets in {pages.count} pages")
    spares = [pages.u32(meta, 96 + 4 * i) for i in range(32)]
    return [bucket + spares[_log2(bucket + 1)] for bucket in range(max_bucket + 1)]


def _overflow(pages: _Pages, pgno: int, total: int) -> bytes:
    """The value stored on a chain of overflow pages starting at ``pgno``."""
    parts, got, seen = [], 0, set()
    while pgno and got < total:
        if pgno in seen:
            raise _fail(f"overflow chain loops at page {pgno}")
        seen.add(pgno)
        page = pages.page(pgno)
        if page[25] != P_OVERFLOW:
            raise _fail(f"page {pgno} is type {page[25]}, expected overflow")
        used = pages.u16(page, 22)  # hf_offset holds the bytes used on an overflow page
        parts.append(page[PAGE_HEADER : PAGE_HEADER + used])
        got += used
        pgno = pages.u32(page, 16)
    value = b"".join(parts)
    if len(value) < total:
        raise _fail(f"overflow chain holds {len(value)} of {total} bytes")
    return value[:total]


def _item(pages: _Pages, page: bytes, index: int, offsets: list[int]) -> bytes:
    """Item ``index`` of a hash page: its bytes, following overflow chains."""
    start = offsets[index]
    end = offsets[index - 1] if index else pages.size  # items grow down from the page end
    if not PAGE_HEADER <= start < end <= pages.size:
        raise _fail(f"item offsets {start}..{end} out of page")
    kind = page[start]
    if kind == H_KEYDATA:
        return page[start + 1 : end]
    if kind == H_OFFPAGE:
        return _overflow(pages, pages.u32(page, start + 4), pages.u32(page, start + 8))
    raise _fail(f"unsupported hash item type {kind}")


def values(data: bytes) -> list[bytes]:
    """Every value of the hash database, bucket by bucket."""
    pages = _Pages(data)
    found, seen = [], set()
    for pgno in _bucket_pages(pages):
        while pgno:
            if pgno in seen:
                raise _fail(f"bucket chain loops at page {pgno}")
            seen.add(pgno)
            page = pages.page(pgno)
            if page[25] not in (P_HASH, P_HASH_UNSORTED):
                raise _fail(f"page {pgno} is type {page[25]}, expected a hash page")
            entries = pages.u16(page, 20)
            offsets = [pages.u16(page, PAGE_HEADER + 2 * i) for i in range(entries)]
            for index in range(1, entries, 2):  # entries alternate key, value
                key = _item(pages, page, index - 1, offsets)
                if key != b"\0\0\0\0":  # header number 0 holds rpm's next-instance counter
                    found.append(_item(pages, page, index, offsets))
            pgno = pages.u32(page, 16)
    return found


def parse_bdb(data: bytes) -> dict[str, str]:
    """Entries of a Berkeley DB ``Packages`` file."""
    try:
        blobs = values(data)
    except (struct.error, IndexError) as exc:  # offsets pointing past a page's end
        raise _fail(str(exc)) from exc
    return rpm.entries_of(blobs)
