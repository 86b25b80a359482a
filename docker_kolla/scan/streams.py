"""Bounded, streaming decompression of a layer blob delivered as chunks.

Nothing here buffers more than one read's worth: gzip and zstd are inflated on
demand (``read(n)`` never returns more than n bytes), and ``Counted`` stops the
scan as soon as the decompressed total passes the bound, so a small blob that
inflates to terabytes costs only the bytes read before the bound.
"""

from __future__ import annotations

import gzip
import io
from typing import IO, Any, Iterable, Iterator, cast

import zstandard

from docker_kolla.errors import ScanError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Chunks(io.RawIOBase):
    """A read-only file over an iterable of byte chunks, with a peek for sniffing."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._iter: Iterator[bytes] = iter(chunks)
        self._buffer = b""
        self._pos = 0  # read offset into _buffer: slicing a large chunk per read would copy it

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        while len(self._buffer) - self._pos < size:
            chunk = next(self._iter, None)
            if chunk is None:
                break
            self._buffer = self._buffer[self._pos :] + bytes(chunk)
            self._pos = 0
        return self._buffer[self._pos : self._pos + size]

    def readinto(self, target: Any) -> int:
        while self._pos >= len(self._buffer):
            chunk = next(self._iter, None)
            if chunk is None:
                return 0
            self._buffer, self._pos = bytes(chunk), 0
        size = min(len(target), len(self._buffer) - self._pos)
        target[:size] = memoryview(self._buffer)[self._pos : self._pos + size]
        self._pos += size
        return size


class Counted(io.RawIOBase):
    """Passes reads through and raises ScanError once more than ``limit`` bytes came out."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        super().__init__()
        self._inner = inner
        self._limit = limit
        self.total = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 20  # tarfile always asks for a size; never read unbounded
        data: bytes = self._inner.read(min(size, self._limit - self.total + 1))
        self.total += len(data)
        if self.total > self._limit:
            raise ScanError(
                f"layer inflates past the scan bound of {self._limit} bytes",
                "the layer is a decompression bomb or far larger than any image layer should be",
            )
        return data

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)


def compression(media_type: str, head: bytes) -> str:
    """'gzip', 'zstd' or 'none', trusting the bytes' magic over the media type.

    Registries and old builders label gzip layers as plain tar (and the Docker engine
    itself sniffs), so magic decides; a type claiming compression without the magic
    is corrupt.
    """
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if media_type.endswith(("gzip", "zstd")):
        raise ScanError(
            f"layer typed {media_type} does not start with its compression magic", "the blob is corrupt or mislabelled"
        )
    return "none"


def decompressed(source: Chunks, media_type: str) -> IO[bytes]:
    """A file object yielding the layer's tar bytes."""
    kind = compression(media_type, source.peek(4))
    if kind == "gzip":
        return cast(IO[bytes], gzip.GzipFile(fileobj=source, mode="rb"))
    if kind == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(
            cast(IO[bytes], source), read_across_frames=True, closefd=False
        )
        return cast(IO[bytes], reader)
    return cast(IO[bytes], source)
