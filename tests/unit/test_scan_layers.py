"""scan_layer over layers built in the test with tarfile, gzip and zstd."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib

import pytest
import zstandard

from docker_kolla.core.manifest import DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD
from docker_kolla.errors import ScanError
from docker_kolla.scan.layers import DEFAULT_LIMITS, LayerFacts, Limits, scan_layer, scannable

STATUS = b"Package: bash\nStatus: install ok installed\nVersion: 5.2-1\n\n"
METADATA = b"Metadata-Version: 2.1\nName: Six\nVersion: 1.16.0\n"
SITE = "usr/lib/python3/dist-packages"


def make_tar(entries) -> bytes:
    """A tar of (name, bytes) files; bytes None makes a directory, ('->', target) a symlink."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(data, tuple):
                info.type = tarfile.SYMTYPE if data[0] == "->" else tarfile.LNKTYPE
                info.linkname = data[1]
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def chunked(data: bytes, size: int = 7000):
    return (data[i : i + size] for i in range(0, len(data), size))


BASE = make_tar(
    [
        ("./var/lib/dpkg/", None),
        ("./var/lib/dpkg/status", STATUS),
        (f"{SITE}/six-1.16.0.dist-info/METADATA", METADATA),
        (f"{SITE}/six-1.16.0.dist-info/RECORD", b"six.py,,\n"),
        ("usr/bin/bash", b"\x7fELF" + b"\0" * 5000),
    ]
)
WANT = {
    "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA": {"python:six": "1.16.0"},
    "var/lib/dpkg/status": {"deb:bash": "5.2-1"},
}


@pytest.mark.parametrize(
    "media_type, encode",
    [
        (OCI_LAYER, lambda b: b),
        (OCI_LAYER_GZIP, gzip.compress),
        (DOCKER_LAYER_GZIP, lambda b: gzip.compress(b[:9000]) + gzip.compress(b[9000:])),  # multi-member gzip
        (OCI_LAYER_ZSTD, lambda b: zstandard.ZstdCompressor().compress(b)),
        (OCI_LAYER, gzip.compress),  # labelled plain tar, really gzip: sniffed
    ],
)
def test_compressions_yield_the_same_facts(media_type, encode):
    facts = scan_layer(chunked(encode(BASE)), media_type)
    assert facts.files == WANT
    assert facts.whiteouts == [] and facts.opaque == []


def test_whiteouts_opaque_and_symlinks_recorded_when_relevant():
    layer = make_tar(
        [
            (f"{SITE}/.wh.six-1.16.0.dist-info", b""),
            ("usr/share/doc/.wh.bash", b""),
            ("var/lib/dpkg/.wh..wh..opq", b""),
            ("tmp/.wh..wh..opq", b""),
            ("var/lib/rpm", ("->", "../../usr/lib/sysimage/rpm")),
            ("usr/bin/sh", ("->", "bash")),
        ]
    )
    facts = scan_layer([gzip.compress(layer)], OCI_LAYER_GZIP)
    assert sorted(facts.whiteouts) == [f"{SITE}/six-1.16.0.dist-info", "var/lib/rpm"]
    assert facts.opaque == ["var/lib/dpkg"]
    assert facts.files == {}


def test_hard_links():
    venv = "var/lib/kolla/venv/{}/python3.9/site-packages/six-1.16.0.dist-info/METADATA"
    layer = make_tar(
        [
            (venv.format("lib"), METADATA),
            (venv.format("lib64"), ("hard", venv.format("lib"))),
            ("usr/share/status-copy", STATUS),
            ("var/lib/dpkg/status", ("hard", "usr/share/status-copy")),
        ]
    )
    facts = scan_layer([layer], OCI_LAYER)
    assert facts.files[venv.format("lib64")] == {"venv:six": "1.16.0"}
    # The target was not kept: the link's content is unknown, so the path only hides lower ones.
    assert "var/lib/dpkg/status" not in facts.files and "var/lib/dpkg/status" in facts.whiteouts
    assert facts.notes and "var/lib/dpkg/status" in facts.notes[0]


def test_every_chunk_is_consumed():
    seen = []
    data = gzip.compress(BASE) + b"\0" * 100  # zero padding after the gzip member, as some tools write
    scan_layer((seen.append(len(c)) or c for c in chunked(data)), OCI_LAYER_GZIP)
    assert sum(seen) == len(data)


def test_json_round_trip():
    facts = scan_layer([BASE], OCI_LAYER)
    facts.whiteouts.append("var/lib/rpm")
    facts.notes.append("a note")
    assert LayerFacts.from_json(facts.to_json()) == facts
    with pytest.raises(ScanError):
        LayerFacts.from_json('{"files": []}')


def _zeros_gzip_chunks(total: int, consumed: list):
    """A tar header for one huge file, then its zero content, gzip-compressed as it goes."""
    info = tarfile.TarInfo("big")
    info.size = total
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    yield compressor.compress(info.tobuf(format=tarfile.GNU_FORMAT))
    block = b"\0" * (1 << 20)
    for _ in range(total >> 20):
        chunk = compressor.compress(block)
        consumed.append(len(chunk))
        if chunk:
            yield chunk
    yield compressor.flush()


def test_gzip_bomb_stops_at_the_bound():
    consumed: list[int] = []
    limits = Limits(max_decompressed=4 << 20)
    with pytest.raises(ScanError, match="inflates past"):
        scan_layer(_zeros_gzip_chunks(1 << 30, consumed), OCI_LAYER_GZIP, limits)
    # Stopped after a few MiB of output, not after inflating the whole GiB.
    assert len(consumed) < 64


def test_zstd_bomb_stops_at_the_bound():
    info = tarfile.TarInfo("big")
    info.size = 1 << 30
    compressor = zstandard.ZstdCompressor()
    head = compressor.compress(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * (16 << 20))
    assert len(head) < (1 << 20)
    with pytest.raises(ScanError, match="inflates past"):
        scan_layer([head], OCI_LAYER_ZSTD, Limits(max_decompressed=1 << 20))


def test_member_bound_default_and_configured():
    info = tarfile.TarInfo("a")
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    with pytest.raises(ScanError, match="more than 10 tar members"):
        scan_layer([header * 11], OCI_LAYER, Limits(max_members=10))
    count = DEFAULT_LIMITS.max_members + 1
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    blob = b"".join(compressor.compress(header * 10000) for _ in range(count // 10000 + 1)) + compressor.flush()
    with pytest.raises(ScanError, match=f"more than {DEFAULT_LIMITS.max_members} tar members"):
        scan_layer([blob], OCI_LAYER_GZIP)


def test_oversized_interesting_file_is_refused_from_its_header():
    layer = make_tar([("var/lib/rpm/Packages", b"\0" * 4096)])
    with pytest.raises(ScanError, match="over the 1024 byte bound"):
        scan_layer([layer], OCI_LAYER, Limits(max_file=1024))


def test_corrupt_and_unscannable_layers():
    with pytest.raises(ScanError):
        scan_layer([gzip.compress(BASE)[:-20]], OCI_LAYER_GZIP)  # truncated
    with pytest.raises(ScanError):
        scan_layer([BASE], OCI_LAYER_ZSTD)  # says zstd, is plain tar
    assert not scannable("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
    assert not scannable("application/vnd.in-toto+json")
    assert scannable(OCI_LAYER_ZSTD)
