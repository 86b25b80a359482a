"""Version ordering per ecosystem, so a diff can tell an upgrade from a downgrade. Pure.

- ``deb:`` Debian policy 5.6.12 (``[epoch:]upstream[-revision]``; letters sort before
  non-letters, ``~`` before everything, even the end of the string).
- ``rpm:`` rpm's EVR rule (``[epoch:]version[-release]``; ``rpmvercmp`` segments: digit
  runs numerically and newer than letter runs, ``~`` sorts before, ``^`` after the end).
- ``python:`` PEP 440 (epoch, release with trailing zeros ignored, dev < pre < final < post,
  local versions after their public version).

Anything else (labels, apk, a version that does not parse) has no order: ``None``.
"""

from __future__ import annotations

import re
from typing import Any, Callable

__all__ = ["compare", "compare_deb", "compare_rpm", "compare_python"]


def _sign(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


# -- dpkg ---------------------------------------------------------------------------


def _dpkg_order(c: str) -> int:
    if c.isdigit():
        return 0
    if c.isalpha() and c.isascii():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _dpkg_part(a: str, b: str) -> int:
    """dpkg's ``verrevcmp``: alternate non-digit runs (by ``_dpkg_order``) and digit runs."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _dpkg_order(a[i]) if i < len(a) else 0
            bc = _dpkg_order(b[j]) if j < len(b) else 0
            if ac != bc:
                return _sign(ac, bc)
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = _sign(a[i], b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_evr(text: str) -> tuple[int, str, str] | None:
    epoch, _, rest = text.rpartition(":") if ":" in text else ("0", "", text)
    if not epoch.isdigit() or not rest:
        return None
    version, sep, release = rest.rpartition("-")
    if not sep:
        version, release = rest, ""
    return int(epoch), version, release


def compare_deb(a: str, b: str) -> int | None:
    """-1, 0 or 1 as dpkg --compare-versions orders ``a`` and ``b``; None if unparsable."""
    pa, pb = _split_evr(a.strip()), _split_evr(b.strip())
    if pa is None or pb is None:
        return None
    if pa[0] != pb[0]:
        return _sign(pa[0], pb[0])
    return _dpkg_part(pa[1], pb[1]) or _dpkg_part(pa[2], pb[2])


# -- rpm ----------------------------------------------------------------------------


def _rpm_segments(a: str, b: str) -> int:
    """rpm's ``rpmvercmp``."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and not a[i].isalnum() and a[i] not in "~^":
            i += 1
        while j < len(b) and not b[j].isalnum() and b[j] not in "~^":
            j += 1
        ca, cb = a[i : i + 1], b[j : j + 1]
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        digits = ca.isdigit()
        kind: Callable[[str], bool] = str.isdigit if digits else (lambda c: c.isascii() and c.isalpha())
        si, sj = i, j
        while i < len(a) and kind(a[i]):
            i += 1
        while j < len(b) and kind(b[j]):
            j += 1
        sa, sb = a[si:i], b[sj:j]
        if not sa or not sb:  # letters against digits: digits are newer
            return 1 if digits else -1
        if digits:
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return _sign(len(sa), len(sb))
        if sa != sb:
            return _sign(sa, sb)
    rest_a, rest_b = i < len(a), j < len(b)
    return 0 if not rest_a and not rest_b else (1 if rest_a else -1)


def compare_rpm(a: str, b: str) -> int | None:
    """-1, 0 or 1 by rpm's EVR order (a missing epoch is 0; release compared when both have one)."""
    pa, pb = _split_evr(a.strip()), _split_evr(b.strip())
    if pa is None or pb is None:
        return None
    if pa[0] != pb[0]:
        return _sign(pa[0], pb[0])
    return _rpm_segments(pa[1], pb[1]) or (_rpm_segments(pa[2], pb[2]) if pa[2] and pb[2] else 0)


# -- PEP 440 ------------------------------------------------------------------------

_PEP440 = re.compile(
    r"""^v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>\d+)?)?
    (?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$""",
    re.VERBOSE | re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def _pep440_key(text: str) -> tuple[Any, ...] | None:
    m = _PEP440.match(text.strip())
    if m is None:
        return None
    release = [int(p) for p in m.group("release").split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    pre_l, post = m.group("pre_l"), m.group("post_n1") or m.group("post_n2")
    has_post = post is not None or m.group("post_l") is not None
    has_dev = m.group("dev_l") is not None
    if pre_l:
        pre: tuple[int, ...] = (1, _PRE_RANK[pre_l.lower()], int(m.group("pre_n") or 0))
    elif has_dev and not has_post:
        pre = (0,)  # 1.0.dev1 sorts before 1.0a1
    else:
        pre = (2,)
    post_key = (1, int(post or 0)) if has_post else (0,)
    dev = (0, int(m.group("dev_n") or 0)) if has_dev else (1,)
    local: tuple[Any, ...] = ()
    if m.group("local"):
        local = (
            1,
            tuple((1, int(p), "") if p.isdigit() else (0, 0, p.lower()) for p in re.split(r"[-_.]", m.group("local"))),
        )
    else:
        local = (0,)
    return int(m.group("epoch") or 0), tuple(release), pre, post_key, dev, local


def compare_python(a: str, b: str) -> int | None:
    """-1, 0 or 1 by PEP 440; None when either is not a PEP 440 version."""
    ka, kb = _pep440_key(a), _pep440_key(b)
    if ka is None or kb is None:
        return None
    return _sign(ka, kb)


_BY_ECOSYSTEM: dict[str, Callable[[str, str], int | None]] = {
    "deb": compare_deb,
    "rpm": compare_rpm,
    "python": compare_python,
}


def compare(key: str, old: str, new: str) -> int | None:
    """Order two versions of the manifesto key ``key`` (``deb:openssl``, ``linux/arm64 python:nova``).

    Returns -1 when ``new`` is older than ``old`` (a downgrade), 1 when newer, 0 when equal
    by the ecosystem's rule, None when the key's ecosystem has no order here.
    """
    ecosystem = key.rsplit(" ", 1)[-1].split(":", 1)[0]
    rule = _BY_ECOSYSTEM.get(ecosystem)
    return None if rule is None else rule(new, old)
