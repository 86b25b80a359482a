"""The semantic difference between two locks, as plain data (rendering lives in cli/render.py).

Package changes compare every described platform: the primary platform's keys
as they are (``python:nova``), the others' prefixed (``linux/arm64 python:nova``),
so both group across images the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.referrers import ReferrerChange, referrer_changes


@dataclass(frozen=True)
class PackageChange:
    key: str  # "deb:openssl", "python:nova", "label:kolla_version", "linux/arm64 python:nova"
    old: str | None  # None: added
    new: str | None  # None: removed


@dataclass(frozen=True)
class ImageChange:
    name: str
    kind: str  # added | removed | changed | rebuilt (digest only)
    old: LockEntry | None
    new: LockEntry | None
    packages: tuple = ()

    @property
    def old_tag(self) -> str:
        return self.old.tag if self.old else ""

    @property
    def new_tag(self) -> str:
        return self.new.tag if self.new else ""


@dataclass(frozen=True)
class PackageGroup:
    """One package change shared by several images."""

    change: PackageChange
    images: tuple

    @property
    def count(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class LockDiff:
    channel: str
    images: tuple = ()  # ImageChange, sorted by name; unchanged images left out
    groups: tuple = ()  # PackageGroup, most images first
    unchanged: int = 0
    referrers: tuple[ReferrerChange, ...] = ()  # signatures/attestations added or removed, by image

    @property
    def empty(self) -> bool:
        return not self.images and not self.referrers


def package_changes(old: dict, new: dict) -> tuple:
    keys = sorted(set(old) | set(new))
    return tuple(PackageChange(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def diff_locks(old: Lockfile | None, new: Lockfile | None) -> LockDiff:
    """Images added, removed and changed between two locks, with package changes grouped."""
    old_images = old.images if old else {}
    new_images = new.images if new else {}
    channel = (new or old).channel if (new or old) else ""
    changes, unchanged = [], 0
    for name in sorted(set(old_images) | set(new_images)):
        a, b = old_images.get(name), new_images.get(name)
        if a is None:
            changes.append(ImageChange(name, "added", None, b, package_changes({}, b.facts)))
        elif b is None:
            changes.append(ImageChange(name, "removed", a, None, package_changes(a.facts, {})))
        elif a.digest != b.digest or a.tag != b.tag or a.facts != b.facts:
            pkgs = package_changes(a.facts, b.facts)
            changes.append(ImageChange(name, "changed" if pkgs or a.tag != b.tag else "rebuilt", a, b, pkgs))
        else:
            unchanged += 1
    attached = []
    for name in sorted(set(old_images) & set(new_images)):
        moved = referrer_changes(name, old_images[name].referrers, new_images[name].referrers)
        if moved is not None:
            attached.append(moved)
    groups: dict = {}
    for change in changes:
        if change.kind != "changed":
            continue
        for pkg in change.packages:
            groups.setdefault(pkg, []).append(change.name)
    ordered = sorted(
        (PackageGroup(pkg, tuple(names)) for pkg, names in groups.items()),
        key=lambda g: (-g.count, g.change.key, g.change.old or "", g.change.new or ""),
    )
    return LockDiff(channel, tuple(changes), tuple(ordered), unchanged, tuple(attached))
