"""The incremental lockfile reader and the fast writer give exactly what the full parser and tomli_w give."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import tomli
import tomli_w

from docker_kolla.core import lockfile, tomlwrite
from docker_kolla.core.lockfile import Lockfile
from docker_kolla.core.lockpieces import split
from docker_kolla.core.locktext import LockReader, state_of
from docker_kolla.errors import ConfigError
from tests.support.lockgen import NAMES, bumped, encode, full_parse, hand_edit, rand_entry, rand_lock, rand_text


def rand_doc(rng: random.Random, depth: int = 0) -> dict:
    doc: dict = {}
    for _ in range(rng.randint(0, 5)):
        kind = rng.random()
        key = rand_text(rng) if rng.random() < 0.5 else rng.choice(["a", "b-c", "x_1", "rpm:x", ""])
        if kind < 0.2 and depth < 3:
            doc[key] = rand_doc(rng, depth + 1)
        elif kind < 0.3:
            doc[key] = rng.choice([True, False, 0, 7, -3, 10**12])
        else:
            doc[key] = rand_text(rng, 20)
    return doc


def test_fast_writer_is_byte_for_byte_tomli_w():
    rng = random.Random(1)
    for _ in range(3000):
        doc = rand_doc(rng)
        assert tomlwrite.dumps(doc) == tomli_w.dumps(doc)
    for doc in ({"a": [1, 2]}, {"t": {"x": 1.5}}, {"": {"": {}}}):  # arrays and floats go to tomli_w
        assert tomlwrite.dumps(doc) == tomli_w.dumps(doc)


def test_dumps_is_the_whole_document_through_tomli_w():
    rng = random.Random(2)
    for _ in range(300):
        lock = rand_lock(rng, static=rng.random() < 0.3)
        head = {"schema": lockfile.SCHEMA, "channel": lock.channel}
        if lock.static:
            head["static"] = True
        doc = {"lock": head, "images": {n: lock.images[n].to_toml() for n in sorted(lock.images)}}
        text = lockfile.dumps(lock)
        assert text == lockfile.header(lock.channel) + tomli_w.dumps(doc)
        known: dict = {}
        assert lockfile.dumps(lock, known) == text == lockfile.dumps(lock, known)  # reusing texts
        assert lockfile.loads(text) == lock


def outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except ConfigError as exc:
        return "error", exc.message, exc.hint


def reference_summary(data: bytes, where: str):
    lock = full_parse(data, where)
    return {n: state_of(e, lockfile.entry_text(e, n).encode(), n) for n, e in lock.images.items()}, lock


def test_reader_equals_the_full_parser_on_histories_with_hand_edits():
    rng = random.Random(3)
    edited = fast = versions = 0
    for _ in range(40):
        reader = LockReader(full_parse)
        entries_reader = LockReader(full_parse, keep_entries=True)
        static = rng.random() < 0.25
        lock = rand_lock(rng, static)
        for i in range(25):
            if rng.random() < 0.5 and lock.images:  # change, remove or re-add a few images
                for name in rng.sample(sorted(lock.images), rng.randint(1, len(lock.images))):
                    roll = rng.random()
                    if roll < 0.6:
                        lock = lock.with_entry(replace(rand_entry(rng, name, static), repository=f"r/{name}"))
                    elif roll < 0.8:
                        lock = lock.without(name)
            if rng.random() < 0.2:
                name = rng.choice(NAMES)
                lock = lock.with_entry(rand_entry(rng, name, static))
            text = lockfile.dumps(lock)
            if rng.random() < 0.3:
                text = hand_edit(rng, text)
                edited += 1
            data = encode(text)
            where = f"lockfiles/ocata.toml@{i:07d}"
            expected = outcome(reference_summary, data, where)
            before = reader.full_parses
            got = outcome(reader.summary, data, where)
            fast += reader.full_parses == before
            if expected[0] == "ok":
                states, parsed = expected[1]
                assert got[0] == "ok", got
                assert got[1].images == states
                assert (got[1].channel, got[1].static) == (parsed.channel, parsed.static)
                assert entries_reader.lock(data, where) == parsed
                for name in NAMES:
                    assert reader.entry(data, name, where) == parsed.images.get(name)
                    assert reader.pick(data, name, where) == (states.get(name), None)
                    assert entries_reader.pick(data, name, where, entry=True)[1] == parsed.images.get(name)
            else:
                assert got == expected
                assert outcome(entries_reader.lock, data, where) == expected
            versions += 1
    assert edited > 100
    assert 0 < fast < versions  # both paths were taken


def test_unchanged_images_are_parsed_once():
    rng = random.Random(4)
    lock = Lockfile("ocata", {n: rand_entry(rng, n) for n in NAMES})
    reader = LockReader(full_parse)
    reader.summary(encode(lockfile.dumps(lock)), "v1")
    assert reader.parsed == len(NAMES)
    lock = lock.with_entry(rand_entry(rng, "keystone"))
    reader.summary(encode(lockfile.dumps(lock)), "v2")
    assert reader.parsed == len(NAMES) + 1 and reader.full_parses == 0
    # known states from an earlier run (a cache) are not parsed again
    states = reader.summary(encode(lockfile.dumps(lock)), "v2").images
    warm = LockReader(full_parse, known={s.key: s for s in states.values()})
    assert warm.summary(encode(lockfile.dumps(lock)), "v2").images == states
    assert warm.parsed == 0


def _through_json(tables: dict) -> dict:
    """What the cache gives back: ops.lockhistory stores the tables as JSON."""
    import json

    return {k: tuple(v) for k, v in json.loads(json.dumps({k: list(v) for k, v in tables.items()})).items()}


def test_verified_tables_give_the_full_parsers_entries_without_parsing():
    rng = random.Random(12)
    for _ in range(60):
        lock = rand_lock(rng, static=rng.random() < 0.2)
        data = encode(lockfile.dumps(lock))
        first = LockReader(full_parse, keep_entries=True)
        assert first.lock(data, "v1") == full_parse(data, "v1")
        tables = _through_json(first.verified_tables())
        assert len(tables) == len(lock.images)
        warm = LockReader(full_parse, keep_entries=True, tables=tables)
        assert warm.lock(data, "v1") == full_parse(data, "v1")
        assert warm.parsed == 0
        assert warm.dumps(lock) == data  # the pieces are reused as they are
        # every entry built from a table has the manifesto digest a full parse computes
        for name, entry in warm.lock(data, "v1").images.items():
            assert entry.manifesto_digest == full_parse(data, "v1").images[name].manifesto_digest


def test_verified_tables_never_hide_a_hand_edit():
    """Only a piece whose exact bytes were verified is taken from the tables: any other
    text of the image (a hand edit) is parsed and checked, so the full parser's answer stands."""
    rng = random.Random(13)
    caught = 0
    for _ in range(150):
        lock = rand_lock(rng)
        if not lock.images:
            continue
        data = encode(lockfile.dumps(lock))
        reader = LockReader(full_parse, keep_entries=True)
        reader.lock(data, "v1")
        tables = _through_json(reader.verified_tables())
        edited = encode(hand_edit(rng, lockfile.dumps(lock)))
        warm = LockReader(full_parse, keep_entries=True, tables=tables)
        try:
            expected = ("ok", full_parse(edited, "v2"))
        except ConfigError as exc:
            expected = ("error", exc.message)
            caught += 1
        try:
            got = ("ok", warm.lock(edited, "v2"))
        except ConfigError as exc:
            got = ("error", exc.message)
        assert got == expected
    assert caught > 20


def test_a_damaged_table_is_parsed_as_if_unknown():
    rng = random.Random(14)
    lock = Lockfile("ocata", {n: rand_entry(rng, n) for n in NAMES})
    data = encode(lockfile.dumps(lock))
    reader = LockReader(full_parse, keep_entries=True)
    reader.lock(data, "v1")
    tables = {k: (name, {"not": "an image"}) for k, (name, _) in reader.verified_tables().items()}
    warm = LockReader(full_parse, keep_entries=True, tables=tables)
    assert warm.lock(data, "v1") == lock
    assert warm.parsed == len(NAMES)


def test_dumps_reusing_parsed_pieces_equals_dumps():
    rng = random.Random(8)
    reader = LockReader(full_parse, keep_entries=True)
    lock = rand_lock(rng)
    for _ in range(200):
        data = encode(lockfile.dumps(lock))
        if rng.random() < 0.2:
            data = encode(hand_edit(rng, data.decode("utf-8", "surrogateescape"), parseable=True))
        try:
            base = reader.lock(data, "w")
        except ConfigError:
            continue
        new = base
        for name in rng.sample(NAMES, rng.randint(0, 3)):
            new = new.with_entry(rand_entry(rng, name)) if rng.random() < 0.7 else new.without(name)
        assert reader.dumps(new) == lockfile.dumps(new).encode()
        assert reader.lock(reader.dumps(new), "w") == new
        lock = new


def test_split_gives_the_pieces_back():
    rng = random.Random(5)
    for _ in range(100):
        lock = rand_lock(rng)
        data = encode(lockfile.dumps(lock))
        parts = split(data)
        if not lock.images:
            assert parts is None
            continue
        head, pieces = parts
        assert head + b"\n" + b"\n".join(pieces) == data
        assert [p.decode() for p in pieces] == [lockfile.entry_text(lock.images[n], n) for n in sorted(lock.images)]


def test_split_with_an_earlier_version_finds_the_same_boundaries():
    rng = random.Random(6)
    previous = None
    lock = rand_lock(rng)
    for _ in range(400):
        for name in rng.sample(NAMES, rng.randint(0, 3)):
            lock = lock.with_entry(rand_entry(rng, name)) if rng.random() < 0.7 else lock.without(name)
        text = lockfile.dumps(lock)
        data = encode(hand_edit(rng, text) if rng.random() < 0.3 else text)
        plain = split(data)
        assert split(data, previous) == plain
        if plain is not None and rng.random() < 0.8:
            previous = plain[1]


@pytest.mark.parametrize("data", [b"", b"[lock]\n", b"\n\n[images.\n", b"\n\n[images.x", b"\xff\n\n[images.a]\n"])
def test_odd_texts_get_the_full_parsers_answer(data):
    assert outcome(LockReader(full_parse).summary, data, "w") == outcome(reference_summary, data, "w")


def test_layout_says_where_the_writer_puts_each_value():
    rng = random.Random(9)
    laid = 0
    for _ in range(2000):
        doc = rand_doc(rng)
        lines = tomlwrite.dumps(doc).split("\n")
        where = tomlwrite.layout(doc)
        if where is None:
            continue
        laid += 1
        scalars = 0
        for start, path, keys in where:
            table = doc
            for part in path:
                table = table[part]
            for i, key in enumerate(keys):
                assert lines[start + i] == f"{tomlwrite.key_text(key)} = {tomlwrite._literal(table[key])}"
            scalars += len(keys)
        assert scalars == sum(1 for line in lines if " = " in line and not line.startswith("["))
    assert laid > 1000
    assert tomlwrite.layout({"a": [1]}) is None  # what dumps leaves to tomli_w


def test_literal_reads_exactly_the_writers_renderings():
    rng = random.Random(10)
    for _ in range(3000):
        value = rng.choice([rand_text(rng, 12), rng.randint(-(10**20), 10**20), rng.random() < 0.5])
        text = tomlwrite._literal(value)
        got = tomlwrite.literal(text)
        assert got == value and type(got) is type(value)
        assert tomli.loads(f"v = {text}")["v"] == value
    for text in [
        '"a" # c',
        "'a'",
        '"\\u0041"',
        '"\\x"',
        "+1",
        "01",
        "-0",
        "1_0",
        "True",
        '"a',
        '"',
        "1.0",
        '"""a"""',
        "",
    ]:
        with pytest.raises(ValueError):
            tomlwrite.literal(text)


LINE_EDITS = [
    lambda line, rng: line.replace(' = "', ' = "x', 1),  # another value: the manifesto-digest no longer matches
    lambda line, rng: line.replace(" = ", " =  ", 1),  # other spacing
    lambda line, rng: line + " # ok",  # a comment
    lambda line, rng: line.replace(' = "', " = '", 1).removesuffix('"') + "'",  # a literal string
    lambda line, rng: line.replace(" = ", " = +", 1) if line.startswith("revision") else line + "x",  # +N
    lambda line, rng: line.replace(" = ", " = 0", 1),  # a leading zero, or a broken string
    lambda line, rng: line.replace(' = "', ' = "\\u0041', 1),  # an escape the writer would not write
    lambda line, rng: line.replace("sha256:", "SHA256:", 1),  # a bad digest
    lambda line, rng: line.replace(" = ", " = true #", 1),  # another type
    lambda line, rng: "x" + line,  # a renamed key
    lambda line, rng: line.replace("rpm:", "rpx:", 1).replace("tag = ", "tax = ", 1),  # one of the same length
    lambda line, rng: "",  # a removed line (same count of lines)
    lambda line, rng: line + "\n" + line,  # a repeated key (one more line)
    lambda line, rng: line + "\n",  # a blank line more
    lambda line, rng: line.replace('"linux/amd64"', '"linux/x86_64"'),  # values the parser normalises:
    lambda line, rng: line.replace('"linux/arm64"', '"linux/arm64/v8"'),  # they parse, but the writer
    lambda line, rng: line.replace('"r.example/kolla/', '"docker.io/'),  # writes them otherwise
]


def test_changed_images_are_read_against_their_previous_text_exactly_as_a_full_parse():
    rng = random.Random(11)
    patched = edited = 0
    for _ in range(30):
        static = rng.random() < 0.25
        lock = Lockfile("ocata" if not static else "4.0.0", {n: rand_entry(rng, n, static) for n in NAMES}, static)
        reader = LockReader(full_parse)
        entries_reader = LockReader(full_parse, keep_entries=True)
        for i in range(20):
            changed = rng.sample(NAMES, rng.randint(1, 3))
            for name in changed:
                lock = lock.with_entry(bumped(rng, lock.images[name], static))
            text = lockfile.dumps(lock)
            if rng.random() < 0.4:  # a hand edit on one line of a changed image's text
                piece = lockfile.entry_text(lock.images[changed[0]])
                lines = piece.split("\n")
                edit = rng.choice(LINE_EDITS)
                hits = [j for j, line in enumerate(lines[:-1]) if edit(line, rng) != line]
                at = rng.choice(hits) if hits and rng.random() < 0.8 else rng.randrange(len(lines) - 1)
                lines[at] = edit(lines[at], rng)
                if rng.random() < 0.3 and len(lines) > 3:  # or two lines swapped
                    j = rng.randrange(len(lines) - 1)
                    lines[at], lines[j] = lines[j], lines[at]
                text = text.replace(piece, "\n".join(lines), 1)
                edited += 1
            data = encode(text)
            where = f"lockfiles/ocata.toml@{i:07d}"
            expected = outcome(reference_summary, data, where)
            got = outcome(reader.summary, data, where)
            if expected[0] == "ok":
                states, parsed = expected[1]
                assert got[0] == "ok", got
                assert got[1].images == states and (got[1].channel, got[1].static) == (parsed.channel, parsed.static)
                assert entries_reader.lock(data, where) == parsed
            else:
                assert got == expected
                assert outcome(entries_reader.lock, data, where) == expected
        patched += reader.patched
    assert edited > 150
    assert patched > 500  # the patch path was taken (and checked against the full parser above)
