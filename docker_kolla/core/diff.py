"""The semantic difference between two locks, as plain data (rendering lives in cli/render.py).

Package changes compare every described platform: the primary platform's keys
as they are (``python:nova``), the others' prefixed (``linux/arm64 python:nova``),
so both group across images the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.referrers import ReferrerChange, referrer_changes
from docker_kolla.core.versions import compare


@dataclass(frozen=True)
class PackageChange:
    key: str  # "deb:openssl", "python:nova", "label:kolla_version", "linux/arm64 python:nova"
    old: str | None  # None: added
    new: str | None  # None: removed

    @property
    def downgrade(self) -> bool:
        """The new version is older by the key's ecosystem rule (deb, rpm, python)."""
        return self.old is not None and self.new is not None and compare(self.key, self.old, self.new) == -1


@dataclass(frozen=True)
class ImageChange:
    name: str
    kind: str  # added | removed | changed | rebuilt (digest only) | moved (only the repository)
    old: LockEntry | None
    new: LockEntry | None
    packages: tuple[Any, ...] = ()

    @property
    def old_tag(self) -> str:
        return self.old.tag if self.old else ""

    @property
    def new_tag(self) -> str:
        return self.new.tag if self.new else ""

    @property
    def source_moved(self) -> bool:
        """The image's registry, namespace or repository changed."""
        return self.old is not None and self.new is not None and self.old.repository != self.new.repository

    @property
    def downgrades(self) -> tuple[PackageChange, ...]:
        return tuple(p for p in self.packages if p.downgrade)


@dataclass(frozen=True)
class PackageGroup:
    """One package change shared by several images."""

    change: PackageChange
    images: tuple[Any, ...]

    @property
    def count(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class LockDiff:
    channel: str
    images: tuple[Any, ...] = ()  # ImageChange, sorted by name; unchanged images left out
    groups: tuple[Any, ...] = ()  # PackageGroup, most images first
    unchanged: int = 0
    names: tuple[Any, ...] = ()  # every image of the new lock, sorted (for "all but keystone")
    referrers: tuple[ReferrerChange, ...] = ()  # signatures/attestations added or removed, by image

    @property
    def empty(self) -> bool:
        return not self.images and not self.referrers

    @property
    def moves(self) -> tuple[tuple[tuple[str, str], tuple[str, ...]], ...]:
        """Source changes grouped: ((old place, new place), image names), most images first.

        A place is the repository without its last path component (registry and
        namespace) when only that moved, else the whole repository.
        """
        groups: dict[tuple[str, str], list[str]] = {}
        for c in self.images:
            if not c.source_moved:
                continue
            assert c.old is not None and c.new is not None
            old, new = str(c.old.repository), str(c.new.repository)
            old_dir, _, old_base = old.rpartition("/")
            new_dir, _, new_base = new.rpartition("/")
            key = (old_dir, new_dir) if old_base == new_base else (old, new)
            groups.setdefault(key, []).append(c.name)
        return tuple(sorted(((k, tuple(v)) for k, v in groups.items()), key=lambda g: (-len(g[1]), g[0])))


def package_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[Any, ...]:
    keys = sorted(set(old) | set(new))
    return tuple(PackageChange(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def diff_locks(old: Lockfile | None, new: Lockfile | None) -> LockDiff:
    """Images added, removed and changed between two locks, with package changes grouped."""
    old_images = old.images if old else {}
    new_images = new.images if new else {}
    either = new or old
    channel = either.channel if either else ""
    changes, unchanged = [], 0
    for name in sorted(set(old_images) | set(new_images)):
        a, b = old_images.get(name), new_images.get(name)
        if a is b:  # the same parsed entry (a history reader reuses unchanged images'): nothing to compare
            unchanged += 1
        elif a is None:
            assert b is not None  # the name came from one side or the other
            changes.append(ImageChange(name, "added", None, b, package_changes({}, b.facts)))
        elif b is None:
            changes.append(ImageChange(name, "removed", a, None, package_changes(a.facts, {})))
        elif a.digest != b.digest or a.tag != b.tag or a.facts != b.facts:
            pkgs = package_changes(a.facts, b.facts)
            changes.append(ImageChange(name, "changed" if pkgs or a.tag != b.tag else "rebuilt", a, b, pkgs))
        elif a.repository != b.repository:
            changes.append(ImageChange(name, "moved", a, b))
        else:
            unchanged += 1
    attached = []
    for name in sorted(set(old_images) & set(new_images)):
        if old_images[name] is new_images[name]:
            continue
        moved = referrer_changes(name, old_images[name].referrers, new_images[name].referrers)
        if moved is not None:
            attached.append(moved)
    groups: dict[PackageChange, list[str]] = {}
    for change in changes:
        if change.kind != "changed":
            continue
        for pkg in change.packages:
            groups.setdefault(pkg, []).append(change.name)
    ordered = sorted(
        (PackageGroup(pkg, tuple(names)) for pkg, names in groups.items()),
        key=lambda g: (-g.count, g.change.key, g.change.old or "", g.change.new or ""),
    )
    return LockDiff(channel, tuple(changes), tuple(ordered), unchanged, tuple(sorted(new_images)), tuple(attached))
