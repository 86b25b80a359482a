"""Every key of a lockfile checked by type and value before it is used. Pure.

A lockfile is generated, but people edit, merge and rebase it: ``images = 3``
or a manifesto value that is a number must be one line naming the key, not a
crash deep inside. Unknown keys are errors too: a typo'd key would otherwise be
dropped silently by the next lock.
"""

from __future__ import annotations

from typing import Any, Callable

from docker_kolla.core.digest import Digest
from docker_kolla.core.manifest import INDEX_TYPES, MANIFEST_TYPES, Platform
from docker_kolla.core.reference import ImageRef, valid_tag
from docker_kolla.errors import ConfigError, UsageError

TOP_KEYS = ("lock", "images")
LOCK_KEYS = ("schema", "channel", "static")
ENTRY_KEYS = (
    "repository",
    "tag",
    "revision",
    "digest",
    "media-type",
    "platform",
    "manifesto-digest",
    "platforms",
    "labels",
    "manifesto",
    "platform-manifestos",
    "referrers",
)
_Bad = Callable[[str, str], ConfigError]  # (where, problem) -> the error to raise
REQUIRED = ("repository", "tag", "digest", "media-type", "platform")


def _raiser(path: str) -> _Bad:
    def bad(where: str, problem: str) -> ConfigError:
        return ConfigError(f"{path} {where}: {problem}".replace(" : ", ": "), "")

    return bad


def check_document(doc: dict[str, Any], path: str) -> None:
    """ConfigError (naming ``path`` and the key) for a top level or ``[lock]`` a lockfile cannot have.

    Image tables are checked by :func:`check_entry` as each is read.
    """
    bad = _raiser(path)
    _unknown(doc, TOP_KEYS, "", bad)
    head = doc.get("lock")
    if not isinstance(head, dict):
        raise bad("", "missing [lock] table")
    _unknown(head, LOCK_KEYS, "[lock]", bad)
    if "static" in head and not isinstance(head["static"], bool):
        raise bad("[lock]", "static must be true or false")
    images = doc.get("images", {})
    if not isinstance(images, dict):
        raise bad("", f"images must be a table of [images.NAME] tables, not {_kind(images)}")
    for name, table in images.items():
        if not isinstance(table, dict):
            raise bad(f"[images.{name}]", f"must be a table, not {_kind(table)}")


def check_entry(table: dict[str, Any], where: str) -> None:
    """ConfigError naming ``where`` (``PATH [images.NAME]``) for any key or value an image table cannot have."""
    _entry(table, "", _raiser(where))


def _entry(table: dict[str, Any], where: str, bad: _Bad) -> None:
    _unknown(table, ENTRY_KEYS, where, bad)
    for key in REQUIRED:
        # platform may be "": a single manifest whose config names no os/architecture
        if not isinstance(table.get(key), str) or (not table[key] and key != "platform"):
            raise bad(where, f"{key} must be a{'' if key == 'platform' else ' non-empty'} string")
    try:
        ImageRef.parse(table["repository"])
        Digest.parse(table["digest"])
        if table["platform"]:
            Platform.parse(table["platform"])
        if "manifesto-digest" in table:
            Digest.parse(_string(table["manifesto-digest"], "manifesto-digest", where, bad))
    except UsageError as exc:
        raise bad(where, exc.message) from exc
    if "@" in table["repository"] or ":" in table["repository"].rpartition("/")[2]:
        raise bad(where, f"repository {table['repository']!r} must not carry a tag or digest")
    if not valid_tag(table["tag"]):
        raise bad(where, f"tag {table['tag']!r} is not a valid image tag")
    if table["media-type"] not in INDEX_TYPES + MANIFEST_TYPES:
        raise bad(where, f"media-type {table['media-type']!r} is not an OCI or Docker v2 manifest or index type")
    revision = table.get("revision")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or revision < 1):
        raise bad(where, "revision must be a whole number >= 1")
    platforms = _table(table.get("platforms", {}), "platforms", where, bad)
    for plat, digest in platforms.items():
        try:
            Platform.parse(plat)
            Digest.parse(_string(digest, f"platforms.{plat!r}", where, bad))
        except UsageError as exc:
            raise bad(where, f"platforms: {exc.message}") from exc
    for key in ("labels", "manifesto"):
        _strings(_table(table.get(key, {}), key, where, bad), key, where, bad)
    others = _table(table.get("platform-manifestos", {}), "platform-manifestos", where, bad)
    for plat, facts in others.items():
        try:
            Platform.parse(plat)
        except UsageError as exc:
            raise bad(where, f"platform-manifestos: {exc.message}") from exc
        _strings(_table(facts, f"platform-manifestos.{plat!r}", where, bad), "platform-manifestos", where, bad)
    if not isinstance(table.get("referrers", []), list):
        raise bad(where, "referrers must be a list of tables")


def _unknown(table: dict[str, Any], allowed: tuple[str, ...], where: str, bad: _Bad) -> None:
    unknown = [key for key in table if key not in allowed]
    if unknown:
        raise bad(where, f"unknown key {unknown[0]!r} (known: {', '.join(allowed)})")


def _kind(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list"}.get(
        type(value), type(value).__name__
    )


def _table(value: object, key: str, where: str, bad: _Bad) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(where, f"{key} must be a table, not {_kind(value)}")
    return value


def _string(value: object, key: str, where: str, bad: _Bad) -> str:
    if not isinstance(value, str):
        raise bad(where, f"{key} must be a string, not {_kind(value)}")
    return value


def _strings(table: dict[str, Any], key: str, where: str, bad: _Bad) -> None:
    if set(map(type, table.values())) <= {str}:
        return  # every value a str: nothing to report (and no Python loop over a 300-key manifesto)
    for name, value in table.items():
        _string(value, f"{key}.{name!r}" if key != "labels" else f"label {name!r}", where, bad)
