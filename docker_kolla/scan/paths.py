"""Which paths in a layer matter to the manifesto, and which parser reads each.

Patterns are sequences of per-component regular expressions, so the same table
answers both "is this an interesting file?" and "could this directory hold one?"
(needed to keep only the whiteouts, opaque dirs and symlinks that can hide one).
"""

from __future__ import annotations

import posixpath
import re

DPKG, DPKG_D, RPM_SQLITE, RPM_BDB, APK, PYTHON = "dpkg", "dpkg.d", "rpm-sqlite", "rpm-bdb", "apk", "python"

_PY = r"python[23](\.\d+)?"
_LIB = r"lib|lib64"
_SITE = r"site-packages|dist-packages"
# System pythons (Debian keeps python3 without a minor version) and Kolla's venv.
_PY_ROOTS = (
    ("usr", _LIB, _PY, _SITE),
    ("usr", "local", _LIB, _PY, _SITE),
    ("var", "lib", "kolla", "venv", _LIB, _PY, "site-packages"),
)
_PY_TAILS = (
    (r".+\.dist-info", "METADATA"),
    (r".+\.egg-info", "PKG-INFO"),
    (r".+\.egg-info",),  # an egg-info written as a single file
    (r".+\.egg", "EGG-INFO", "PKG-INFO"),
)
_RPM_DIRS = (("var", "lib", "rpm"), ("usr", "lib", "sysimage", "rpm"))


def _compile(kind: str, parts: tuple[str, ...]) -> tuple[str, tuple[re.Pattern[str], ...]]:
    return kind, tuple(re.compile(part) for part in parts)


PATTERNS = (
    [
        _compile(DPKG, ("var", "lib", "dpkg", "status")),
        _compile(DPKG_D, ("var", "lib", "dpkg", "status.d", r"[^.].*")),
        _compile(APK, ("lib", "apk", "db", "installed")),
    ]
    + [_compile(RPM_SQLITE, d + (r"rpmdb\.sqlite",)) for d in _RPM_DIRS]
    + [_compile(RPM_BDB, d + ("Packages",)) for d in _RPM_DIRS]
    + [_compile(PYTHON, root + tail) for root in _PY_ROOTS for tail in _PY_TAILS]
)


def normalise(name: str) -> str | None:
    """A tar member name as a clean relative path ('./a//b/' -> 'a/b'); None for the root.

    '..' cannot climb above the root, as when a runtime applies the layer.
    """
    return posixpath.normpath("/" + name).lstrip("/") or None


# Every pattern starts with one of these: a cheap first test for the common case.
_ROOTS = frozenset({"var", "usr", "lib"})


def _matches(parts: list[str], pattern: tuple[re.Pattern[str], ...]) -> bool:
    return all(regex.fullmatch(part) for regex, part in zip(pattern, parts))


def classify(path: str) -> str | None:
    """The parser kind for an interesting regular file, else None."""
    parts = path.split("/")
    if parts[0] not in _ROOTS:
        return None
    for kind, pattern in PATTERNS:
        if len(parts) == len(pattern) and _matches(parts, pattern):
            if kind == DPKG_D and parts[-1].endswith(".md5sums"):
                return None
            return kind
    return None


def may_hide(path: str) -> bool:
    """Whether removing or replacing ``path`` could remove an interesting file."""
    parts = path.split("/")
    if parts[0] not in _ROOTS:
        return False
    return any(len(parts) <= len(pattern) and _matches(parts, pattern) for _kind, pattern in PATTERNS)
