"""Deb822-style paragraphs (dpkg status) and RFC 822 headers (Python metadata)."""

from __future__ import annotations

from typing import Iterator


def paragraphs(text: str) -> Iterator[dict[str, str]]:
    """Paragraphs of ``Field: value`` lines split by blank lines.

    Field names are lower-cased (deb822 field names are case-insensitive);
    continuation lines (leading space or tab) are folded into the previous field.
    """
    fields: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, last = {}, ""
        elif line[0] in " \t":
            if last:
                fields[last] += "\n" + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            fields[last] = value.strip()
    if fields:
        yield fields


def headers(text: str) -> dict[str, str]:
    """The header block of a metadata file (up to the first blank line), first value wins."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] not in " \t" and ":" in line:
            name, _, value = line.partition(":")
            found.setdefault(name.strip().lower(), value.strip())
    return found
