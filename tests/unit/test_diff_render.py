"""The pull-request body (issue 10 item 3): summary first, grouped changes, downgrades, source
moves, <details> past 20 rows, and GitHub's 65,536-character limit for a 2,000-image fleet."""

from __future__ import annotations

from dataclasses import replace

from docker_kolla.cli.render_history import GITHUB_BODY_LIMIT, diff_json, diff_markdown
from docker_kolla.core.diff import diff_locks
from docker_kolla.core.lockfile import LockEntry, Lockfile
from tests.support.entries import pinned


def entry(name: str, n: int, revision: int = 1, repo: str = "docker.io/kolla", **manifesto) -> LockEntry:
    packages = {"deb:openssl": "1.1.0f-3+deb9u3", "python:nova": "15.0.2", **manifesto}
    return pinned(name, revision, seed=n, repo=repo, manifesto=packages)


def fleet(names, **kw) -> Lockfile:
    lock = Lockfile("ocata")
    for name in names:
        lock = lock.with_entry(entry(name, 1, **kw))
    return lock


def names(n: int) -> list:
    return [f"svc-{i:04d}" for i in range(n)]


def test_200_images_moved_and_bumped_summary_first_with_all_but_and_downgrade():
    every = names(199) + ["keystone"]
    old = fleet(every)
    new = Lockfile("ocata")
    for name in every:
        if name == "keystone":
            new = new.with_entry(replace(old.get(name), repository=f"registry.example/kolla/centos-binary-{name}"))
            continue
        new = new.with_entry(entry(name, 2, revision=2, repo="registry.example/kolla", **{"python:nova": "15.0.3"}))
    downgraded = ["svc-0001", "svc-0002"]
    for name in downgraded:
        e = new.get(name)
        new = new.with_entry(replace(e, manifesto={**e.manifesto, "deb:openssl": "1.1.0f-3+deb9u2"}))
    md = diff_markdown([diff_locks(old, new)], "HEAD", "lock/ocata-2026-01-02")
    lines = md.splitlines()
    assert lines[0] == "### docker kolla: `ocata` (HEAD → lock/ocata-2026-01-02)"
    assert lines[2] == (
        "199 updated, 0 added, 0 removed, 0 rebuilt (digest only), 1 moved (source only), 0 unchanged; "
        "1 package downgrade."
    )
    order = [md.index(h) for h in ("#### Source changes", "#### Package changes", "#### Images")]
    assert order == sorted(order)
    assert "| `python:nova` | 15.0.2 | 15.0.3 | 199: all but keystone |" in lines
    assert "| `deb:openssl` | 1.1.0f-3+deb9u3 | 1.1.0f-3+deb9u2 ⚠ downgrade | 2: svc-0001, svc-0002 |" in lines
    package_rows = [x for x in lines if x.startswith("| `deb:") or x.startswith("| `python:")]
    assert package_rows[0].startswith("| `deb:openssl`")  # downgrades first, although fewer images
    assert "| `docker.io/kolla` | `registry.example/kolla` | all 200 |" in lines
    assert "<details><summary>200 images changed</summary>" in lines and "</details>" in lines
    assert md.index("<details>") > md.index("#### Images")
    assert "| svc-0001 | changed ⚠ downgrade | ocata-1 → ocata-2 |" in md
    assert "| keystone | moved | ocata-1 |" in md
    doc = diff_json([diff_locks(old, new)], "HEAD", "B")
    assert '"downgrade": true' in doc and '"from": "docker.io/kolla"' in doc


def test_a_short_diff_is_not_folded():
    old = fleet(["nova-api", "keystone"])
    new = old.with_entry(entry("nova-api", 2, revision=2, **{"python:nova": "15.0.3"}))
    md = diff_markdown([diff_locks(old, new)], "A", "B")
    assert "<details>" not in md and "| nova-api | changed | ocata-1 → ocata-2 |" in md
    assert "| `python:nova` | 15.0.2 | 15.0.3 | 1: nova-api |" in md and "downgrade" not in md


def test_2000_images_fit_githubs_limit_without_cutting_a_row():
    every = names(2000)
    old = fleet(every)
    new = Lockfile("ocata")
    for name in every:  # every image its own package change: 2,000 package rows
        new = new.with_entry(
            entry(name, 2, revision=2, repo="quay.io/kolla", **{f"python:{name}": "1.1", "python:nova": "15.0.3"})
        )
    md = diff_markdown([diff_locks(old, new)], "HEAD~1", "HEAD")
    assert len(md) <= GITHUB_BODY_LIMIT
    lines = md.splitlines()
    assert lines[2].startswith("2000 updated")
    rows = [x for x in lines if x.startswith("|")]
    assert all(x.endswith(" |") and x.count(" | ") >= 2 for x in rows)  # whole rows only
    assert "| `python:nova` | 15.0.2 | 15.0.3 | all 2000 |" in lines  # the biggest group is kept first
    assert "| `quay.io/kolla` | `docker.io/kolla` | all 2000 |" not in lines
    assert "| `docker.io/kolla` | `quay.io/kolla` | all 2000 |" in lines  # source moves come before packages
    package_rows = [x for x in rows if x.startswith("| `python:")]
    shown = len(package_rows) - 1
    note = lines[-1]
    assert (
        note.startswith("_") and "GitHub's 65,536-character limit" in note and "`docker kolla diff HEAD~1 HEAD`" in note
    )
    # every row not shown is counted: 2,001 package rows + 1 move row + 2,000 image rows
    dropped = int(note[1:].split(" ")[0])
    assert dropped + len(rows) - 2 * sum(1 for x in lines if x.startswith("| ---")) == 2001 + 1 + 2000
    assert shown < 2000
    assert md.count("<details>") == md.count("</details>")
    # and a roomy limit shows everything, so the note only appears when something was left out
    assert "not shown" not in diff_markdown([diff_locks(old, new)], "HEAD~1", "HEAD", limit=10_000_000)
