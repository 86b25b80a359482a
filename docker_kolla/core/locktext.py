"""Reading many versions of a lockfile, parsing each image's text once.

The writer (:func:`docker_kolla.core.lockfile.dumps`) is deterministic: a
lockfile is its head, then each image's tables (:func:`entry_text`) after a
blank line, in name order. An image that did not change between two versions
has byte-identical text in both, so a reader of a history splits each version
into its per-image pieces by their ``[images.NAME]`` headers and parses only
the pieces it has not seen before.

Why the result equals a full parse: a version takes the fast path only when
its head is exactly the writer's head for its channel, every piece parses on
its own to one valid image whose writer text is exactly the piece, and the
names are unique and sorted. Then the whole text *is* ``dumps`` of those
entries, which parses back to them. Anything else (a hand edit in another
format, a broken table, an unknown key) falls back to the full parser, which
gives exactly today's result or error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import tomli

from docker_kolla.core.lockfile import SCHEMA, LockEntry, Lockfile, entry_text, head_text

_SEP = b"\n\n[images."
_OPEN = b"[images."


@dataclass(frozen=True)
class ImageState:
    """What history needs of one image in one version (the rest is parsed on demand).

    Attributes:
        key: sha256 of the image's writer text: equal keys mean equal entries.
    """

    name: str
    key: str
    revision: int | None
    digest: str
    manifesto_digest: str
    tag: str

    def to_json(self) -> list[object]:
        return [self.name, self.key, self.revision, self.digest, self.manifesto_digest, self.tag]

    @classmethod
    def from_json(cls, value: list[object]) -> ImageState:
        name, key, revision, digest, md, tag = value
        if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int)):
            raise ValueError("revision")
        if not all(isinstance(v, str) for v in (name, key, digest, md, tag)):
            raise ValueError("image state")
        return cls(str(name), str(key), revision, str(digest), str(md), str(tag))


@dataclass(frozen=True)
class LockSummary:
    """One lockfile version: channel, static flag and name -> :class:`ImageState`."""

    channel: str
    static: bool
    images: dict[str, ImageState]


def state_of(entry: LockEntry, text: bytes, name: str | None = None) -> ImageState:
    return ImageState(
        entry.name if name is None else name,
        hashlib.sha256(text).hexdigest(),
        entry.revision,
        str(entry.digest),
        str(entry.manifesto_digest),
        entry.tag,
    )


def split(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """(head, per-image pieces) with ``data == head + b"\\n" + b"\\n".join(pieces)``.

    None when the text has no ``[images.NAME]`` table after a blank line. The
    split only finds boundaries; whether each piece is a valid image is checked
    by the reader.
    """
    first = data.find(_SEP)
    if first < 0:
        return None
    head = data[: first + 1]
    starts: list[int] = []
    sub = b""  # "[images.KEY." of the current image: its sub-tables' headers start with it
    pos = first
    while pos >= 0:
        start = pos + 2
        if not (sub and data.startswith(sub, start)):
            eol = data.find(b"\n", start)
            line = data[start:eol] if eol >= 0 else data[start:]
            if not line.endswith(b"]"):
                return None
            sub = line[:-1] + b"."
            starts.append(start)
        pos = data.find(_SEP, start)
    ends = [s - 1 for s in starts[1:]] + [len(data)]
    return head, [data[s:e] for s, e in zip(starts, ends)]


FullParse = Callable[[bytes, str], Lockfile]


class LockReader:
    """Parses lockfile versions, each distinct image text once.

    Args:
        full_parse: the reference parser (bytes, where) -> Lockfile; every
            version that is not exactly in the writer's format goes to it, so
            results and errors are always the full parser's.
        keep_entries: also keep each piece's LockEntry (for :meth:`lock`).
        known: key -> ImageState from an earlier run (a cache): a piece whose
            sha256 is known is not parsed again.
    """

    def __init__(
        self, full_parse: FullParse, *, keep_entries: bool = False, known: dict[str, ImageState] | None = None
    ) -> None:
        self._full = full_parse
        self._keep = keep_entries
        self._known = known or {}
        self._pieces: dict[bytes, tuple[ImageState, LockEntry | None]] = {}
        self._heads: dict[bytes, tuple[str, bool]] = {}
        self.parsed = 0  # pieces parsed (for tests and benchmarks)
        self.full_parses = 0  # versions that needed the full parser

    # -- public -------------------------------------------------------------

    def summary(self, data: bytes, where: str) -> LockSummary:
        """The :class:`LockSummary` of one version; raises what the full parser raises."""
        fast = self._fast(data, where, entries=False)
        if fast is not None:
            channel, static, items = fast
            return LockSummary(channel, static, {state.name: state for _, state, _ in items})
        lock = self._full_parse(data, where)
        return LockSummary(
            lock.channel,
            lock.static,
            {name: state_of(e, entry_text(e, name).encode(), name) for name, e in lock.images.items()},
        )

    def lock(self, data: bytes, where: str) -> Lockfile:
        """The parsed lock of one version, equal to the full parser's."""
        fast = self._fast(data, where, entries=True)
        if fast is None:
            return self._full_parse(data, where)
        channel, static, items = fast
        images = {state.name: entry for _, state, entry in items if entry is not None}
        return Lockfile(channel=channel, images=images, static=static)

    def entry(self, data: bytes, name: str, where: str) -> LockEntry | None:
        """One image's entry in one version; only that image's text is parsed (once)."""
        fast = self._fast(data, where, entries=False)
        if fast is None:
            return self._full_parse(data, where).images.get(name)
        for piece, state, entry in fast[2]:
            if state.name == name:
                if entry is None:
                    entry = self._parse_piece(piece, where)
                    assert entry is not None  # the same bytes passed the check before
                    if self._keep:
                        self._pieces[piece] = (state, entry)
                return entry
        return None

    def texts(self, data: bytes) -> dict[str, tuple[LockEntry, str]]:
        """name -> (entry, writer text) of every piece of ``data`` already parsed with entries.

        What :func:`~docker_kolla.core.lockfile.dumps` takes as ``known``, so an
        unchanged image is not rendered again.
        """
        parts = split(data)
        out: dict[str, tuple[LockEntry, str]] = {}
        for piece in parts[1] if parts else []:
            hit = self._pieces.get(piece)
            if hit is not None and hit[1] is not None:
                out[hit[0].name] = (hit[1], piece.decode("utf-8"))
        return out

    # -- internals ----------------------------------------------------------

    def _full_parse(self, data: bytes, where: str) -> Lockfile:
        self.full_parses += 1
        return self._full(data, where)

    def _fast(
        self, data: bytes, where: str, *, entries: bool
    ) -> tuple[str, bool, list[tuple[bytes, ImageState, LockEntry | None]]] | None:
        parts = split(data)
        if parts is None:
            return None
        head, pieces = parts
        channel_static = self._head(head)
        if channel_static is None:
            return None
        items: list[tuple[bytes, ImageState, LockEntry | None]] = []
        last = None
        for piece in pieces:
            item = self._piece(piece, where, entries)
            if item is None:
                return None
            name = item[0].name
            if last is not None and not name > last:
                return None  # not the writer's order, or a repeated image
            last = name
            items.append((piece, item[0], item[1]))
        return channel_static[0], channel_static[1], items

    def _head(self, head: bytes) -> tuple[str, bool] | None:
        hit = self._heads.get(head)
        if hit is not None:
            return hit
        try:
            doc = tomli.loads(head.decode("utf-8"))
        except (UnicodeDecodeError, tomli.TOMLDecodeError):
            return None
        table = doc.get("lock")
        if set(doc) != {"lock"} or not isinstance(table, dict) or table.get("schema") != SCHEMA:
            return None
        channel, static = table.get("channel"), table.get("static", False) is True
        if not isinstance(channel, str) or head != head_text(channel, static).encode("utf-8"):
            return None
        self._heads[head] = (channel, static)
        return channel, static

    def _piece(self, piece: bytes, where: str, entries: bool) -> tuple[ImageState, LockEntry | None] | None:
        hit = self._pieces.get(piece)
        if hit is not None and (hit[1] is not None or not entries):
            return hit
        key = hashlib.sha256(piece).hexdigest()
        known = self._known.get(key)
        if known is not None and not entries:
            item: tuple[ImageState, LockEntry | None] = (known, None)
            self._pieces[piece] = item
            return item
        entry = self._parse_piece(piece, where)
        if entry is None:
            return None
        state = state_of(entry, piece)
        item = (state, entry if (self._keep or entries) else None)
        self._pieces[piece] = item
        return item

    def _parse_piece(self, piece: bytes, where: str) -> LockEntry | None:
        """The entry a piece holds if it is exactly the writer's text for it, else None."""
        self.parsed += 1
        try:
            doc = tomli.loads(piece.decode("utf-8"))
            images = doc.get("images")
            if set(doc) != {"images"} or not isinstance(images, dict) or len(images) != 1:
                return None
            ((name, table),) = images.items()
            if not isinstance(table, dict):
                return None
            entry = LockEntry.from_toml(name, table, f"{where} [images.{name}]")
            if entry_text(entry, name).encode("utf-8") != piece:
                return None
            return entry
        except Exception:  # noqa: BLE001 - any doubt goes to the full parser, which decides
            return None
