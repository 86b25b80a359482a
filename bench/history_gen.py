"""A synthesized lock history: N lock commits of a channel, written by the product's own writer.

The first version pins every image at revision 1; each later commit re-pins 1-5
random images with a new digest, a few changed packages and the next revision,
exactly as ``docker kolla lock`` would (so ``verify`` passes on it). Commits are
streamed into ``git fast-import``: generating 1,000 versions of a 1.8 MB lockfile
takes seconds, not the minutes 1,000 real locks would.

Usage: python bench/history_gen.py DIR [--commits 1000] [--images 200] [--packages 270]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docker_kolla.core import lockfile  # noqa: E402
from docker_kolla.core.digest import Digest  # noqa: E402
from docker_kolla.core.lockfile import LockEntry, Lockfile  # noqa: E402
from docker_kolla.core.manifest import Platform  # noqa: E402
from docker_kolla.core.reference import ImageRef  # noqa: E402

CHANNEL = "ocata"
PATH = f"lockfiles/{CHANNEL}.toml"


def _digest(rng: random.Random) -> Digest:
    return Digest("sha256", hashlib.sha256(rng.randbytes(16)).hexdigest())


def _entry(rng: random.Random, name: str, packages: int) -> LockEntry:
    manifesto = {
        f"rpm:{name[:6]}-pkg{i:03d}": f"{rng.randint(0, 9)}.{rng.randint(0, 40)}-1.el7" for i in range(packages)
    }
    manifesto["label:kolla_version"] = "4.0.3"
    return LockEntry(
        name=name,
        repository=ImageRef.parse_repository(f"registry.example.test/kolla/centos-binary-{name}"),
        tag=f"{CHANNEL}-1",
        revision=1,
        digest=_digest(rng),
        media_type="application/vnd.docker.distribution.manifest.v2+json",
        platform=Platform.parse("linux/amd64"),
        manifesto=manifesto,
        labels={"build-date": "20170101"},
    )


def _bump(rng: random.Random, entry: LockEntry) -> LockEntry:
    manifesto = dict(entry.manifesto)
    for key in rng.sample(sorted(manifesto), 3):
        manifesto[key] = manifesto[key] + ".1"
    revision = (entry.revision or 0) + 1
    return replace(entry, revision=revision, tag=f"{CHANNEL}-{revision}", digest=_digest(rng), manifesto=manifesto)


def versions(commits: int, images: int, packages: int, seed: int = 14):
    """Yield (message, lockfile bytes) for every commit, oldest first."""
    rng = random.Random(seed)
    names = [f"image-{i:04d}" for i in range(images)]
    lock = Lockfile(CHANNEL, {n: _entry(rng, n, packages) for n in names})
    known: dict = {}
    for i in range(commits):
        if i:
            for name in rng.sample(names, rng.randint(1, 5)):
                lock = lock.with_entry(_bump(rng, lock.images[name]))
        text = lockfile.dumps(lock, known)
        yield f"lock {CHANNEL}: version {i + 1}", text.encode()


def generate(path: Path, commits: int, images: int, packages: int) -> Path:
    """A git repository at PATH with COMMITS lock commits (plus one for channels.toml)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    proc = subprocess.Popen(["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    out = proc.stdin
    assert out is not None
    names = ", ".join(f'"image-{i:04d}"' for i in range(images))
    channels = (
        f'[defaults]\nregistry = "registry.example.test"\nnamespace = "kolla"\nimages = [{names}]\n\n'
        f'[channels.{CHANNEL}]\ntag = "{CHANNEL}"\n'
    ).encode()

    def commit(n: int, message: str, file: str, data: bytes) -> None:
        msg = message.encode()
        out.write(b"commit refs/heads/main\n")
        out.write(b"committer bench <bench@example.test> %d +0000\n" % (1500000000 + n * 3600))
        out.write(b"data %d\n%s\n" % (len(msg), msg))
        out.write(b"M 100644 inline %s\ndata %d\n" % (file.encode(), len(data)))
        out.write(data + b"\n")

    commit(0, "channels", "lockfiles/channels.toml", channels)
    last = b""
    for n, (message, data) in enumerate(versions(commits, images, packages), start=1):
        commit(n, message, PATH, data)
        last = data
    out.close()
    if proc.wait() != 0:
        raise SystemExit("bench: git fast-import failed")
    subprocess.run(["git", "-C", str(path), "reset", "-q", "--hard"], check=True)
    (path / PATH).write_bytes(last)  # the work tree matches HEAD
    return path


def main(argv: list) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--packages", type=int, default=270)
    args = parser.parse_args(argv)
    generate(args.dir, args.commits, args.images, args.packages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
