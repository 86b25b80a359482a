"""The states verbs report per image, as enums whose values are the words in text and JSON output.

One :class:`Step` for what happens to one image in pull and promote (planned or
done), so "already as pinned" is one value, ``Step.PRESENT``, everywhere; one
:class:`Sync` for how a running container stands against the lock (``status``).
"""

from __future__ import annotations

import enum


class State(str, enum.Enum):
    """A str enum that prints, formats and hashes as its value, so it is the word it stands for."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    __hash__ = str.__hash__


class Step(State):
    """What happens to one image: planned by promote, or done by pull and promote."""

    COPY = "copy"  # promote plan: the immutable tag is absent; copy, then put the tags
    TAG = "tag"  # promote plan: content and immutable tag present; only :<channel> moves
    PRESENT = "present"  # already as pinned: nothing is written
    REFUSED = "refused"  # promote: the immutable tag holds another digest (or no platform matched)
    PULLED = "pulled"
    COPIED = "copied"
    TAGGED = "tagged"
    FAILED = "failed"
    UNVERIFIED = "unverified"  # pull/promote --verify: the signature did not verify; nothing done


class Sync(State):
    """A running container against the lock history (``status``)."""

    IN_SYNC = "in-sync"
    BEHIND = "behind"
    UNKNOWN_DIGEST = "unknown-digest"
    NOT_IN_LOCK = "not-in-lock"
