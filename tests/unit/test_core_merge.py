"""core.merge: three-way merge of a lockfile per image, revisions recomputed. Pure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from docker_kolla.core import lockfile
from docker_kolla.core.channels import parse_channels
from docker_kolla.core.lockfile import LockEntry, Lockfile, conflicted_images
from docker_kolla.core.merge import conflict_text, merge_locks
from docker_kolla.core.revisions import recompute
from docker_kolla.errors import ConfigError
from tests.support.entries import pinned

OCATA = parse_channels('[channels.ocata]\nimages = ["nova-api", "keystone", "glance-api"]\n').get("ocata")


def entry(name: str, n: int, revision: int) -> LockEntry:
    return pinned(name, revision, seed=n, manifesto={"python:nova": f"15.0.{n}"})


def lock(**entries) -> Lockfile:
    return Lockfile("ocata", {name: e for name, e in entries.items()})


BASE = lock(**{"nova-api": entry("nova-api", 2, 1), "keystone": entry("keystone", 2, 1)})


def test_one_side_changes_are_taken_whole_and_renumbered_from_ours():
    ours = BASE.with_entry(entry("keystone", 3, 2))
    theirs = BASE.with_entry(entry("nova-api", 4, 3))  # two drafts on the branch: 3
    merged = merge_locks(BASE, ours, theirs, OCATA, {})
    assert not merged.conflicts and merged.taken == ("nova-api",)
    nova = merged.lock.get("nova-api")
    assert (nova.digest, nova.tag, nova.revision) == (theirs.get("nova-api").digest, "ocata-2", 2)
    assert merged.lock.get("keystone") == ours.get("keystone")
    # verify's rule over first-parent history base -> ours -> merge reproduces every number
    assert recompute([("a", BASE), ("b", ours), ("m", merged.lock)]) == []
    # the same change on both sides is taken once
    same = merge_locks(BASE, ours, ours, OCATA, {})
    assert same.lock == ours and not same.conflicts and same.taken == ()


def test_added_and_deleted_images():
    ours = BASE.with_entry(entry("glance-api", 1, 1))
    theirs = BASE.without("keystone")
    merged = merge_locks(BASE, ours, theirs, OCATA, {})
    assert sorted(merged.lock.images) == ["glance-api", "nova-api"] and not merged.conflicts
    # re-added on their side after ours removed it long ago: numbering continues from history
    seen = {"glance-api": entry("glance-api", 0, 4)}
    again = merge_locks(BASE, BASE, BASE.with_entry(entry("glance-api", 1, 1)), OCATA, seen)
    assert again.lock.get("glance-api").revision == 5


def test_different_changes_and_delete_against_modify_conflict():
    ours = BASE.with_entry(entry("nova-api", 3, 2)).without("keystone")
    theirs = BASE.with_entry(entry("nova-api", 5, 2)).with_entry(entry("keystone", 9, 2))
    merged = merge_locks(BASE, ours, theirs, OCATA, {})
    assert [c.name for c in merged.conflicts] == ["keystone", "nova-api"]
    assert merged.conflicts[0].ours is None and "deleted" in merged.conflicts[0].line()
    text = conflict_text(merged)
    assert conflicted_images(text) == ["keystone", "nova-api"]
    assert conflicted_images(lockfile.dumps(ours)) is None
    with pytest.raises(
        ConfigError, match=r"merge conflict markers at line \d+, column 1 \(images: keystone, nova-api\)"
    ):
        lockfile.loads(text, "lockfiles/ocata.toml")


def test_no_common_ancestor_and_static_channels():
    static = parse_channels('[channels."4.0.0"]\nstatic = true\nimages = ["nova-api"]\n').get("4.0.0")
    a = Lockfile("4.0.0", {"nova-api": replace(entry("nova-api", 1, 1), tag="4.0.0", revision=None)}, static=True)
    b = Lockfile("4.0.0", {"keystone": replace(entry("keystone", 1, 1), tag="4.0.0", revision=None)}, static=True)
    merged = merge_locks(None, a, b, static, {})
    assert sorted(merged.lock.images) == ["keystone", "nova-api"]
    assert all(e.revision is None and e.tag == "4.0.0" for e in merged.lock.images.values())
