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

A changed piece is parsed against the image's previous piece when it can be
(:func:`docker_kolla.core.lockpatch.patched`): a lock changes an image's values (digest,
revision, a few package versions) and rarely its keys. When the two texts have
the same lines except for ``key = value`` lines whose key is the same, the new
table is the old one with those values read from their lines (each must be
exactly the writer's rendering of its value, so TOML reads the same value
there), and the entry is built from it by ``LockEntry.from_toml``, which checks
everything it checks for a full parse. The writer's text of that entry is the
piece: every other line is the old piece's, which was the writer's text of the
old table; the new entry's table has the same shape (keys, order, types) as the
patched one (checked), so the writer lays it out line for line the same
(``tomlwrite.layout``); and each changed line is the writer's own rendering of
its key and value. Anything else is parsed whole.

``pick`` reads one image of a version without the others (what ``log IMAGE``
needs): it finds the image's piece by its header and parses just that; it
checks the version's head but not the other images' tables, which is
``verify``'s job. A version where the image's text is not found in the
writer's form is read whole, so its result or error is the full parser's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tomli

from docker_kolla.core import lockfile, tomlwrite
from docker_kolla.core.lockfile import SCHEMA, LockEntry, Lockfile, entry_text, head_text
from docker_kolla.core.lockpatch import Text, patched
from docker_kolla.core.lockpieces import SEP, piece_end, split_with_subs, sub_header


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
        tables: key -> (name, table) from an earlier run (a cache, see
            :meth:`verified_tables`): a piece whose sha256 is there passed every check
            then, so its entry is built from that table without parsing or checking again.
    """

    def __init__(
        self,
        full_parse: FullParse,
        *,
        keep_entries: bool = False,
        known: dict[str, ImageState] | None = None,
        tables: dict[str, tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        self._full = full_parse
        self._keep = keep_entries
        self._known = known or {}
        self._tables = tables or {}
        self._pieces: dict[bytes, tuple[ImageState, LockEntry | None]] = {}
        self._heads: dict[bytes, tuple[str, bool]] = {}
        self._last: list[bytes] | None = None  # the pieces of the version read last
        self._last_subs: list[bytes] | None = None  # and their sub_header
        self._texts: dict[bytes, Text] = {}  # header (as sub_header) -> that image's last accepted text
        self.parsed = 0  # pieces parsed (for tests and benchmarks)
        self.patched = 0  # of those, parsed against the image's previous text
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

    def pick(
        self, data: bytes, name: str, where: str, *, entry: bool = False
    ) -> tuple[ImageState | None, LockEntry | None]:
        """One image of one version without reading the others: (its state, its entry when
        ``entry``), or (None, None) when the version does not hold it.

        Only the version's head and the image's own text (the piece under its
        ``[images.NAME]`` header) are read and checked; the other images' tables are not
        (``verify`` checks every table of every version). A version whose head or image
        text is not the writer's is read whole, so its result or error is the full
        parser's. On a version in the writer's format the result is the full parser's.
        """
        first = data.find(SEP)
        if first >= 0 and self._head(data[: first + 1]) is not None:
            header = SEP + tomlwrite.key_text(name).encode("utf-8") + b"]\n"
            at = data.find(header, first)
            if at >= 0:
                piece = data[at + 2 : piece_end(data, at + 2)]
                item = self._piece(piece, where, entry)
                if item is not None and item[0].name == name:
                    return item
        state = self.summary(data, where).images.get(name)
        return state, self.entry(data, name, where) if entry and state is not None else None

    def dumps(self, lock: Lockfile) -> bytes:
        """``lockfile.dumps(lock).encode()``, reusing the bytes of every image whose entry
        equals one this reader parsed in the version it read last (only changed images are
        rendered)."""
        if not lock.images:
            return lockfile.dumps(lock).encode("utf-8")
        known: dict[str, tuple[LockEntry, bytes]] = {}
        for piece in self._last or ():
            hit = self._pieces.get(piece)
            if hit is not None and hit[1] is not None:
                known[hit[0].name] = (hit[1], piece)
        parts = [head_text(lock.channel, lock.static).encode("utf-8")]
        for name in sorted(lock.images):
            entry = lock.images[name]
            old = known.get(name)
            if old is not None and (old[0] is entry or old[0] == entry):
                parts.append(old[1])
            else:
                parts.append(entry_text(entry, name).encode("utf-8"))
        return b"\n".join(parts)

    def verified_tables(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """key -> (name, table) of every piece of the version read last, each one the
        writer's text of its table (what ``tables`` takes in a later run)."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for piece in self._last or ():
            hit, text = self._pieces.get(piece), self._texts.get(sub_header(piece))
            if hit is not None and text is not None and text.piece == piece:
                ((name, table),) = text.doc["images"].items()
                out[hit[0].key] = (name, table)
        return out

    # -- internals ----------------------------------------------------------

    def _full_parse(self, data: bytes, where: str) -> Lockfile:
        self.full_parses += 1
        return self._full(data, where)

    def _fast(
        self, data: bytes, where: str, *, entries: bool
    ) -> tuple[str, bool, list[tuple[bytes, ImageState, LockEntry | None]]] | None:
        parts = split_with_subs(data, self._last, self._last_subs)
        if parts is None:
            return None
        head, pieces, self._last_subs = parts
        self._last = pieces
        channel_static = self._head(head)
        if channel_static is None:
            return None
        items: list[tuple[bytes, ImageState, LockEntry | None]] = []
        last = None
        seen = self._pieces
        for piece in pieces:
            item = seen.get(piece)
            if item is None or (entries and item[1] is None):
                item = self._piece(piece, where, entries)
                if item is None:
                    return None
            name = item[0].name
            if last is not None and not name > last:
                return None  # not the writer's order, or a repeated image
            last = name
            items.append((piece, item[0], item[1]))
        if len(seen) > 2 * len(items) + 256:  # keep what the next version can reuse: memory flat in the history
            self._pieces = {piece: seen[piece] for piece, _, _ in items}
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
        cached = self._tables.get(key)
        entry = self._verified(piece, cached, where) if cached is not None else self._parse_piece(piece, where)
        if entry is None:
            return None
        state = state_of(entry, piece)
        item = (state, entry if (self._keep or entries) else None)
        self._pieces[piece] = item
        return item

    def _verified(self, piece: bytes, cached: tuple[str, dict[str, Any]], where: str) -> LockEntry | None:
        """The entry of a piece whose exact bytes passed :meth:`_parse_piece` in an earlier run."""
        name, table = cached
        try:
            entry = LockEntry.from_toml(name, table, f"{where} [images.{name}]", checked=False)
        except Exception:  # noqa: BLE001 - a damaged cache: the piece is parsed as if unknown
            return self._parse_piece(piece, where)
        self._texts[sub_header(piece)] = Text(piece, {"images": {name: table}}, entry)
        return entry

    def _parse_piece(self, piece: bytes, where: str) -> LockEntry | None:
        """The entry a piece holds if it is exactly the writer's text for it, else None."""
        self.parsed += 1
        header = sub_header(piece)
        old = self._texts.get(header)
        if old is not None:
            hit = patched(old, piece, where)
            if hit is not None:
                self.patched += 1
                entry, self._texts[header] = hit
                return entry
        try:
            doc = tomli.loads(piece.decode("utf-8"))
            images = doc.get("images")
            if set(doc) != {"images"} or not isinstance(images, dict) or len(images) != 1:
                return None
            ((name, table),) = images.items()
            if not isinstance(table, dict):
                return None
            entry = LockEntry.from_toml(name, table, f"{where} [images.{name}]")
            mine: dict[str, Any] = {"images": {name: entry.to_toml()}}
            if tomlwrite.dumps(mine).encode("utf-8") != piece:  # entry_text(entry, name)
                return None
        except Exception:  # noqa: BLE001 - any doubt goes to the full parser, which decides
            return None
        self._texts[header] = Text(piece, mine, entry)
        return entry
