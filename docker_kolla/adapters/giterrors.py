"""How dulwich failures leave the git adapter: as one-line ``GitError``.

Shared by ``gitstore`` (the ``mapped`` decorator on every LockRepo method) and
``gitpush``, so no dulwich traceback or multi-line message reaches a user.
"""

from __future__ import annotations

import functools

from dulwich.errors import ChecksumMismatch, FileFormatException, ObjectMissing, WrongObjectException
from dulwich.file import FileLocked

from docker_kolla.errors import GitError, KollaError

# What dulwich raises on a damaged or unreadable repository (missing or corrupt
# objects, bad packed-refs, permissions); mapped to GitError so no traceback leaks.
DULWICH_FAILURES = (
    KeyError,
    ValueError,
    AssertionError,
    OSError,
    ChecksumMismatch,
    FileFormatException,
    WrongObjectException,
    ObjectMissing,
    FileLocked,
)


def one_line(exc: BaseException) -> str:
    """An exception as one short line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def mapped(method):
    """Turn a dulwich failure inside a method of an object with ``root`` into a one-line GitError."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except KollaError:
            raise
        except DULWICH_FAILURES as exc:
            raise GitError(
                f"git {method.__name__.strip('_')} failed in {self.root}: {one_line(exc)}",
                "run `git fsck` and `git status` to check the repository",
            ) from None

    return wrapper
