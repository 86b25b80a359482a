"""Per-platform manifestos: lockfile form, digest, revision policy, history and diff. Pure, no I/O."""

import hashlib
import json
from dataclasses import replace

import pytest

from docker_kolla.core import lockfile
from docker_kolla.core.channels import parse_channels
from docker_kolla.core.diff import diff_locks
from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.core.revisions import Outcome, decide, recompute
from docker_kolla.errors import ConfigError

OCATA = parse_channels(
    '[defaults]\nimages = ["nova-api"]\nplatforms = ["linux/amd64", "linux/arm64"]\n[channels.ocata]\n'
).get("ocata")
AMD = {"python:nova": "15.0.2", "deb:openssl": "1.1.0f-3+deb9u2"}


def dg(n: int) -> Digest:
    return Digest.of(str(n).encode())


def canonical_sha(value) -> str:
    """Independent of docker_kolla.core.canonical: sorted keys, no spaces, UTF-8."""
    body = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def resolved(name="nova-api", digest=1, arm=None, **amd) -> LockEntry:
    others = {} if arm is None else {Platform.parse("linux/arm64"): {**AMD, **arm}}
    return LockEntry(
        name=name,
        repository=ImageRef.parse_repository(f"docker.io/kolla/centos-binary-{name}"),
        digest=dg(digest),
        media_type="application/vnd.oci.image.index.v1+json",
        platform=Platform.parse("linux/amd64"),
        platforms={Platform.parse("linux/amd64"): dg(digest + 100), Platform.parse("linux/arm64"): dg(digest + 200)},
        manifesto={**AMD, **amd},
        labels={"build-date": "20170419"},
        platform_manifestos=others,
    )


def lock_of(*decisions) -> Lockfile:
    lock = Lockfile("ocata")
    for d in decisions:
        lock = lock.with_entry(d.entry)
    return lock


def test_single_platform_digest_is_the_manifesto_digest_as_before():
    entry = decide(OCATA, resolved(), None).entry
    assert entry.platform_manifestos == {}
    assert str(entry.manifesto_digest) == canonical_sha(dict(sorted(AMD.items())))
    assert "platform-manifestos" not in lockfile.dumps(lock_of(decide(OCATA, resolved(), None)))


def test_two_platforms_are_written_read_back_and_digested_together():
    entry = decide(OCATA, resolved(arm={"python:nova": "15.0.3"}), None).entry
    expected = canonical_sha({"linux/amd64": AMD, "linux/arm64": {**AMD, "python:nova": "15.0.3"}})
    assert str(entry.manifesto_digest) == expected
    text = lockfile.dumps(lock_of(decide(OCATA, resolved(arm={"python:nova": "15.0.3"}), None)))
    assert f'manifesto-digest = "{expected}"' in text
    block = text[text.index('[images.nova-api.platform-manifestos."linux/arm64"]') :]
    assert block.splitlines()[1:3] == ['"deb:openssl" = "1.1.0f-3+deb9u2"', '"python:nova" = "15.0.3"']
    assert "[images.nova-api.platform-manifestos]\n" not in text
    assert text.index("[images.nova-api.manifesto]") < text.index("platform-manifestos")
    back = lockfile.loads(text).get("nova-api")
    assert back == entry and lockfile.dumps(lockfile.loads(text)) == text


def test_a_hand_edit_of_another_platform_is_detected():
    text = lockfile.dumps(lock_of(decide(OCATA, resolved(arm={}), None)))
    arm = text.index("platform-manifestos")
    edited = text[:arm] + text[arm:].replace('"15.0.2"', '"15.0.9"')
    with pytest.raises(ConfigError, match="manifesto-digest does not match the manifesto tables"):
        lockfile.loads(edited)
    dropped = text[: text.index("[images.nova-api.platform-manifestos")].rstrip("\n") + "\n"
    with pytest.raises(ConfigError, match="manifesto-digest"):
        lockfile.loads(dropped)


@pytest.mark.parametrize(
    "bad, message",
    [
        ('[images.nova-api.platform-manifestos]\n"linux/arm64" = "x"\n', "must be a table, not a string"),
        ('[images.nova-api.platform-manifestos."linux/amd64"]\n"python:nova" = "1"\n', "repeats the primary"),
    ],
)
def test_malformed_platform_manifestos_are_one_line_errors(bad, message):
    text = lockfile.dumps(lock_of(decide(OCATA, resolved(), None)))
    with pytest.raises(ConfigError, match=message) as err:
        lockfile.loads(text + "\n" + bad)
    assert "\n" not in err.value.line()


def test_policy_compares_every_described_platform():
    first = decide(OCATA, resolved(arm={}), None).entry
    rebuilt = decide(OCATA, resolved(digest=2, arm={}), first)
    assert rebuilt.outcome is Outcome.REBUILT and rebuilt.entry == first
    arm_only = decide(OCATA, resolved(digest=3, arm={"python:nova": "15.0.3"}), first)
    assert arm_only.outcome is Outcome.BUMPED and arm_only.entry.tag == "ocata-2"
    assert arm_only.entry.manifesto == first.manifesto
    assert arm_only.entry.platform_manifestos[Platform.parse("linux/arm64")]["python:nova"] == "15.0.3"
    gone = decide(OCATA, resolved(digest=4, arm={}), first, previous_gone=True)
    assert gone.outcome is Outcome.REPLACED


def test_recompute_counts_a_change_in_another_platform():
    v1 = lock_of(decide(OCATA, resolved(arm={}), None))
    v2 = lock_of(decide(OCATA, resolved(digest=3, arm={"python:nova": "15.0.3"}), v1.get("nova-api")))
    assert v2.get("nova-api").revision == 2
    history = [(f"{i:040x}", lock) for i, lock in enumerate((v1, v2))]
    assert recompute(history) == []
    # the same two commits claiming one revision: the arm64 change is not a silent edit
    stale = v2.with_entry(replace(v2.get("nova-api"), revision=1, tag="ocata-1"))
    [mismatch] = recompute([history[0], (history[1][0], stale)])
    assert (mismatch.found, mismatch.expected) == (1, 2)


def test_diff_prefixes_other_platforms_and_groups_them_across_images():
    names = ("nova-api", "nova-compute")
    old = lock_of(*(decide(OCATA, resolved(name=n, digest=i, arm={}), None) for i, n in enumerate(names)))
    new = lock_of(
        *(
            decide(OCATA, resolved(name=n, digest=10 + i, arm={"python:nova": "15.0.3"}), old.get(n))
            for i, n in enumerate(names)
        )
    )
    d = diff_locks(old, new)
    assert {c.name: c.kind for c in d.images} == {"nova-api": "changed", "nova-compute": "changed"}
    [group] = d.groups
    assert (group.change.key, group.change.old, group.change.new, group.count) == (
        "linux/arm64 python:nova",
        "15.0.2",
        "15.0.3",
        2,
    )
    added = diff_locks(None, new).images[0]
    assert {p.key for p in added.packages} >= {"python:nova", "linux/arm64 python:nova"}
