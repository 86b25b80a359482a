"""A fast TOML writer for the lockfile's tables: byte-for-byte what ``tomli_w.dumps`` writes.

The lockfile holds only nested tables of strings, integers and booleans; for
those this renders the same text as ``tomli_w`` (same table order, same
headers, same key quoting and string escapes) about ten times faster. Any
other value (arrays, floats, dates) is left to ``tomli_w`` itself.
"""

from __future__ import annotations

import re

import tomli
import tomli_w

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPE = re.compile(r'[\x00-\x08\x0a-\x1f\x7f"\\]')
_COMPACT = {"\b": "\\b", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


class _Unsupported(Exception):
    pass


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _COMPACT.get(char) or "\\u" + format(ord(char), "04x")


def _string(s: str) -> str:
    if _ESCAPE.search(s) is None:
        return '"' + s + '"'
    return '"' + _ESCAPE.sub(_escape, s) + '"'


_KEYS: dict[str, str] = {}  # rendered keys: package names repeat across images and versions


def _key(k: object) -> str:
    if not isinstance(k, str):
        raise _Unsupported
    done = _KEYS.get(k)
    if done is None:
        done = k if _BARE.fullmatch(k) else _string(k)
        if len(_KEYS) < 200_000:
            _KEYS[k] = done
    return done


def _literal(v: object) -> str:
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    raise _Unsupported


def _table(out: list[str], table: dict[str, object], name: str) -> None:
    key, literal = _key, _literal
    lines: list[str] = []
    tables: list[tuple[str, dict[str, object]]] = []
    for k, v in table.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{key(k)} = {literal(v)}\n")
    yielded = False
    if name and (lines or not tables):
        yielded = True
        out.append(f"[{name}]\n")
    if lines:
        yielded = True
        out.extend(lines)
    for k, sub in tables:
        if yielded:
            out.append("\n")
        else:
            yielded = True
        part = key(k)
        _table(out, sub, f"{name}.{part}" if name else part)


def dumps(doc: dict[str, object]) -> str:
    """``tomli_w.dumps(doc)``, faster for tables of strings, integers and booleans."""
    out: list[str] = []
    try:
        _table(out, doc, "")
    except _Unsupported:
        return tomli_w.dumps(doc)
    return "".join(out)


# -- the writer's line structure, for readers that patch a text line by line ----

_INT = re.compile(r"-?[0-9]+")

Layout = list[tuple[int, tuple[str, ...], list[str]]]


def layout(doc: dict[str, object]) -> Layout | None:
    """Where :func:`dumps` writes each scalar of ``doc``, or None when ``dumps`` hands
    ``doc`` to ``tomli_w``.

    One ``(line, path, keys)`` per table that has ``key = value`` lines: line
    ``line + i`` of ``dumps(doc).split("\\n")`` is ``keys[i]`` of the table at
    ``path`` (keys from ``doc`` down). It walks ``doc`` exactly as the writer does,
    so a document of the same shape (same keys in the same order, the same values
    tables) has the same layout, and its text differs only on the lines of the
    values that differ.
    """
    out: Layout = []
    try:
        _layout(doc, (), "", 0, out)
    except _Unsupported:
        return None
    return out


def _layout(table: dict[str, object], path: tuple[str, ...], name: str, line: int, out: Layout) -> int:
    keys: list[str] = []
    tables: list[tuple[str, dict[str, object]]] = []
    for k, v in table.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            _key(k), _literal(v)  # raise _Unsupported as dumps would
            keys.append(k)
    yielded = False
    if name and (keys or not tables):
        yielded = True
        line += 1
    if keys:
        yielded = True
        out.append((line, path, keys))
        line += len(keys)
    for k, sub in tables:
        if yielded:
            line += 1
        else:
            yielded = True
        part = _key(k)
        line = _layout(sub, (*path, k), f"{name}.{part}" if name else part, line, out)
    return line


def key_text(k: str) -> str:
    """How :func:`dumps` writes the key ``k``."""
    return _key(k)


def literal(text: str) -> str | int | bool:
    """The value :func:`dumps` writes as exactly ``text`` after ``key = `` (and that TOML
    reads back from it); ValueError when ``text`` is not such a rendering."""
    if text == "true" or text == "false":
        return text == "true"
    if text.startswith('"'):
        if len(text) >= 2 and text.endswith('"') and _ESCAPE.search(text, 1, len(text) - 1) is None:
            return text[1:-1]  # nothing to unescape: the writer writes it as it is
        value = tomli.loads("v = " + text)["v"]  # TOMLDecodeError is a ValueError
        if isinstance(value, str) and _string(value) == text:
            return value
    elif _INT.fullmatch(text):
        number = int(text)
        if str(number) == text:
            return number
    raise ValueError(f"not the writer's literal: {text!r}")
