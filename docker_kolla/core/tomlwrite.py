"""A fast TOML writer for the lockfile's tables: byte-for-byte what ``tomli_w.dumps`` writes.

The lockfile holds only nested tables of strings, integers and booleans; for
those this renders the same text as ``tomli_w`` (same table order, same
headers, same key quoting and string escapes) about ten times faster. Any
other value (arrays, floats, dates) is left to ``tomli_w`` itself.
"""

from __future__ import annotations

import re

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
