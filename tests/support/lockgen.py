"""Random lockfiles and the hand edits people make to them, for the history reader's tests."""

from __future__ import annotations

import random
import re
import string
from dataclasses import replace

from docker_kolla.core import lockfile
from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.lockpieces import split
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import ConfigError

ODD = "\"\\\n\t\r\b\f\x00\x01\x1f\x7f é€𝄞 .[]=#'" + string.ascii_letters


def full_parse(data: bytes, where: str) -> Lockfile:
    """What ops.common.parse_lock does: decode, then lockfile.loads."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not UTF-8 text", "restore it") from exc
    return lockfile.loads(text, where)


def rand_text(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice(ODD) for _ in range(rng.randint(0, n)))


def dg(rng: random.Random) -> Digest:
    return Digest("sha256", "".join(rng.choice("0123456789abcdef") for _ in range(64)))


AMD, ARM = Platform.parse("linux/amd64"), Platform.parse("linux/arm64")


def rand_entry(rng: random.Random, name: str, static: bool = False) -> LockEntry:
    revision = None if static else rng.randint(1, 5)
    others = {}
    if rng.random() < 0.3:
        others = {ARM: {f"rpm:{rand_text(rng, 3)}": rand_text(rng) for _ in range(rng.randint(0, 3))}}
    platforms = {AMD: dg(rng), ARM: dg(rng)} if others or rng.random() < 0.3 else {}
    return LockEntry(
        name=name,
        repository=ImageRef.parse_repository(
            f"r.example/kolla/{re.sub('[^a-z0-9]+', '-', name.lower()).strip('-') or 'x'}"
        ),
        tag="4.0.0" if static else f"ocata-{revision}",
        revision=revision,
        digest=dg(rng),
        media_type="application/vnd.oci.image.index.v1+json",
        platform=AMD,
        platforms=platforms,
        manifesto={f"rpm:{rand_text(rng, 4)}": rand_text(rng) for _ in range(rng.randint(0, 6))},
        labels={"build-date": rand_text(rng)} if rng.random() < 0.5 else {},
        platform_manifestos=others,
    )


NAMES = ["nova-api", "keystone", "a.b", 'q"uote', "é", "x y", "nova-api-2", "nova"]


def rand_lock(rng: random.Random, static: bool = False) -> Lockfile:
    names = rng.sample(NAMES, rng.randint(0, len(NAMES)))
    return Lockfile("ocata" if not static else "4.0.0", {n: rand_entry(rng, n, static) for n in names}, static)


def hand_edit(rng: random.Random, text: str, *, parseable: bool = False) -> str:
    """One of the edits a person (or a bad merge) makes to a lockfile.

    ``parseable``: only edits after which the file still parses (other numbers,
    other spacing, comments, unknown keys, another order, CRLF).
    """
    lines = text.split("\n")
    parts = split(text.encode("utf-8"))
    pieces = [p.decode() for p in parts[1]] if parts else []

    def swapped() -> str:
        if len(pieces) < 2:
            return text + "\n"
        i = rng.randrange(len(pieces) - 1)
        order = pieces[:i] + [pieces[i + 1], pieces[i]] + pieces[i + 2 :]
        return parts[0].decode() + "\n" + "\n".join(order)

    edits = [
        swapped,  # two images out of order (still valid TOML)
        lambda: text + "\n" + pieces[-1] if pieces else text,  # an image twice (a bad merge)
        lambda: text.replace("revision = ", "revision = 1", 1),  # a different revision, same format
        lambda: text.replace("revision = ", "revision =  ", 1),  # same value, other spacing
        lambda: text.replace('"\n', '" # ok\n', 1),  # a comment
        lambda: text.replace("rpm:", "rpm:x", 1),  # manifesto no longer matches its digest
        lambda: text + "\n",  # a trailing blank line
        lambda: text.replace("[images.", "[images.x", 1),  # a renamed table
        lambda: text.replace("repository = ", "repo = ", 1),  # a missing key
        lambda: text.replace("tag = ", 'extra = "x"\ntag = ', 1),  # an unknown key
        lambda: text.replace("\n\n[images.", "\n\n[images]\n\n[images.", 1),  # an [images] header
        lambda: "\n".join(lines[: len(lines) // 2]),  # truncated
        lambda: text.replace("\n", "\r\n"),  # CRLF
        lambda: text + text[text.find("[images.") :] if "[images." in text else text + "[x]\n",  # repeated tables
        lambda: text.replace('"sha256:', '"SHA256:', 1),  # a bad digest
        lambda: text.replace("static = true\n", "static = false\n").replace('channel = "ocata"', 'channel = "o"'),
        lambda: text.replace("schema = 1", "schema = 2"),
        lambda: text.replace("revision = ", 'revision = "', 1),  # broken TOML
        lambda: text.replace("ocata-", "ocata-\udcff", 1),  # not UTF-8 once encoded with surrogateescape
    ]
    if parseable:
        edits = [edits[i] for i in (0, 2, 3, 4, 6, 9, 10, 12)]
    return rng.choice(edits)()


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def bumped(rng: random.Random, entry: LockEntry, static: bool = False) -> LockEntry:
    """The same image locked again with the same keys and other values (what most re-locks
    are): a new digest, some package versions and labels, the next revision."""
    manifesto = dict(entry.manifesto)
    for key in rng.sample(sorted(manifesto), rng.randint(0, len(manifesto))):
        manifesto[key] = rand_text(rng)
    others = {
        plat: {k: rand_text(rng) if rng.random() < 0.5 else v for k, v in facts.items()}
        for plat, facts in entry.platform_manifestos.items()
    }
    revision = None if static else (entry.revision or 0) + 1
    return replace(
        entry,
        digest=dg(rng),
        manifesto=manifesto,
        labels={k: rand_text(rng) for k in entry.labels},
        platform_manifestos=others,
        revision=revision,
        tag=entry.tag if static else f"ocata-{revision}",
    )


def valid_history(rng: random.Random, versions: int, static: bool = False, bumps: float = 0.0):
    """Locks as ``docker kolla lock`` would write them, oldest first: revisions follow the rule.

    Each version changes, removes or re-adds a few images (a re-added image goes on
    with its old numbering) and sometimes changes an image's platforms. ``bumps``: how
    often a change keeps the image's keys and changes only values (:func:`bumped`).
    """
    last: dict = {}  # name -> last entry ever locked
    lock = Lockfile("4.0.0" if static else "ocata", {}, static)
    for _ in range(versions):
        for name in rng.sample(NAMES, rng.randint(1, 3)):
            roll = rng.random()
            if roll < 0.2 and name in lock.images:
                lock = lock.without(name)
                continue
            if name in lock.images and rng.random() < bumps:  # (static: a moved tag accepted)
                fresh = bumped(rng, lock.images[name], static)
                last[name] = fresh
                lock = lock.with_entry(fresh)
                continue
            if static and name in last:
                lock = lock.with_entry(last[name])  # a static image is never revised
                continue
            fresh = rand_entry(rng, name, static)
            if not static:
                revision = last[name].revision + 1 if name in last else 1
                fresh = LockEntry(
                    name=name,
                    repository=fresh.repository,
                    tag=f"ocata-{revision}",
                    revision=revision,
                    digest=fresh.digest,
                    media_type=fresh.media_type,
                    platform=fresh.platform,
                    platforms=fresh.platforms,
                    manifesto=fresh.manifesto,
                    labels=fresh.labels,
                    platform_manifestos=fresh.platform_manifestos,
                )
            last[name] = fresh
            lock = lock.with_entry(fresh)
        yield lock
