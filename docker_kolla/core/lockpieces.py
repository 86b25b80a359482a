"""A lockfile's bytes cut into its head and one piece per image, by the ``[images.NAME]`` headers.

The writer (:func:`docker_kolla.core.lockfile.dumps`) puts each image's tables after a blank
line, in name order, so an image's piece runs from its ``[images.NAME]`` header to the next
blank line that starts another image's header (``[images.NAME.platforms]`` and the like belong
to the same image). Only boundaries are found here; whether each piece is a valid image is
:class:`docker_kolla.core.locktext.LockReader`'s to check.
"""

from __future__ import annotations

SEP = b"\n\n[images."  # a blank line, then an image's header: where a piece may start
OPEN = b"[images."


def split(data: bytes, previous: list[bytes] | None = None) -> tuple[bytes, list[bytes]] | None:
    """(head, per-image pieces) with ``data == head + b"\\n" + b"\\n".join(pieces)``.

    None when the text has no ``[images.NAME]`` table after a blank line. The
    split only finds boundaries; whether each piece is a valid image is checked
    by the reader. ``previous``: the pieces of an earlier version: an unchanged
    piece is recognised by comparing bytes (and the earlier object is returned,
    its hash already computed), so only changed pieces are scanned for headers.
    The boundaries are the same with or without it.
    """
    parts = split_with_subs(data, previous, [sub_header(p) for p in previous] if previous else None)
    return None if parts is None else parts[:2]


def sub_header(piece: bytes) -> bytes:
    """``[images.NAME.``: how a sub-table of the piece's image starts."""
    eol = piece.find(b"\n")
    return (piece if eol < 0 else piece[:eol])[:-1] + b"."


def split_with_subs(
    data: bytes, previous: list[bytes] | None, subs: list[bytes] | None
) -> tuple[bytes, list[bytes], list[bytes]] | None:
    """:func:`split`, also giving each piece's :func:`sub_header` (``subs``: those of ``previous``)."""
    first = data.find(SEP)
    if first < 0:
        return None
    head = data[: first + 1]
    pieces: list[bytes] = []
    out_subs: list[bytes] = []
    size = len(data)
    count = len(previous) if previous and subs else 0
    index: dict[bytes, int] | None = None  # sub -> position in previous, built on the first image added or removed
    at = 0  # the previous piece expected next
    pos = first + 2
    startswith = data.startswith
    while pos < size:
        if at < count:
            assert previous is not None and subs is not None
            guess = previous[at]
            end = pos + len(guess)
            if startswith(guess, pos) and (
                end == size or (startswith(b"\n[images.", end) and not startswith(subs[at], end + 1))
            ):
                pieces.append(guess)
                out_subs.append(subs[at])
                at += 1
                pos = end + 1
                continue
        end = piece_end(data, pos)
        if end < 0:
            return None
        piece = data[pos:end]
        sub = sub_header(piece)
        pieces.append(piece)
        out_subs.append(sub)
        if count:
            assert subs is not None
            if at < count and subs[at] == sub:
                at += 1  # the same image, changed
            else:
                if index is None:
                    index = {p: i for i, p in enumerate(subs)}
                at = index.get(sub, at - 1) + 1
        pos = end + 1
    return head, pieces, out_subs


def piece_end(data: bytes, start: int) -> int:
    """End of the piece whose ``[images.KEY]`` header starts at ``start``; -1 if none starts there."""
    eol = data.find(b"\n", start)
    line = data[start:eol] if eol >= 0 else data[start:]
    if not line.startswith(OPEN) or not line.endswith(b"]"):
        return -1
    sub = line[:-1] + b"."
    pos = data.find(SEP, start)
    while pos >= 0 and data.startswith(sub, pos + 2):
        pos = data.find(SEP, pos + 2)
    return len(data) if pos < 0 else pos + 1
