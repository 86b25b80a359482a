"""A changed image table read against the same image's previous text (``core.locktext``).

A lock changes an image's values (digest, revision, a few package versions) and rarely its
keys; when two texts of an image have the same lines but for ``key = value`` lines of the same
key, the new table is the old one with those values read from their lines (see
``core.locktext``'s module text for why that equals a full parse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress, count
from operator import ne
from typing import Any

from docker_kolla.core import tomlwrite
from docker_kolla.core.lockfile import LockEntry

UNSET: tomlwrite.Layout = []


@dataclass
class Text:
    """The last accepted text of one image (by its header line), to parse its next text against.

    ``doc`` is ``{"images": {name: entry.to_toml()}}``, whose writer text is ``piece``.
    """

    piece: bytes
    doc: dict[str, Any]
    entry: LockEntry
    lines: list[bytes] | None = None
    layout: tomlwrite.Layout | None = field(default_factory=lambda: UNSET)


def slot_of(layout: tomlwrite.Layout, line: int) -> tuple[tuple[str, ...], str] | None:
    """(table path, key) of the value the writer puts on ``line``; None for a header or a blank line."""
    for start, path, keys in layout:
        if start <= line < start + len(keys):
            return path, keys[line - start]
    return None


def same_table(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two tables have the same keys in the same order and equal values of the same types."""
    if list(a) != list(b):
        return False
    values, others = list(a.values()), list(b.values())
    if set(map(type, values)) <= {str}:
        return values == others  # equal to strs, so strs (the common case: a manifesto)
    for v, w in zip(values, others):
        if type(v) is not type(w) or not (same_table(v, w) if type(v) is dict else v == w):
            return False
    return True


def patched(old: Text, piece: bytes, where: str) -> tuple[LockEntry, Text] | None:
    """(the entry of ``piece``, its Text) with ``piece`` read as ``old``'s table with the values
    of the lines that differ (see core.locktext's module text), or None to parse it whole."""
    if old.lines is None:
        old.lines = old.piece.split(b"\n")
    lines = piece.split(b"\n")
    if len(lines) != len(old.lines):
        return None
    if old.layout is UNSET:
        old.layout = tomlwrite.layout(old.doc)
    layout = old.layout
    if not layout:
        return None
    copies: dict[tuple[str, ...], dict[str, Any]] = {(): dict(old.doc)}

    def table_at(path: tuple[str, ...]) -> dict[str, Any]:
        hit = copies.get(path)
        if hit is None:
            parent = table_at(path[:-1])
            hit = copies[path] = dict(parent[path[-1]])
            parent[path[-1]] = hit
        return hit

    try:
        for i in compress(count(), map(ne, old.lines, lines)):  # the lines that differ, found in C
            now = lines[i]
            slot = slot_of(layout, i)
            if slot is None:
                return None  # a header or a blank line changed
            path, key = slot
            prefix = (tomlwrite.key_text(key) + " = ").encode("utf-8")
            if not now.startswith(prefix):
                return None
            table_at(path)[key] = tomlwrite.literal(now[len(prefix) :].decode("utf-8"))
        ((name, table),) = copies[()]["images"].items()
        entry = LockEntry.from_toml(name, table, f"{where} [images.{name}]")
        mine = {"images": {name: entry.to_toml()}}
        if not same_table(mine["images"][name], table):
            return None
    except Exception:  # noqa: BLE001 - parsed whole instead, which decides
        return None
    return entry, Text(piece, mine, entry, lines, layout)
