"""Ctrl-C, SIGTERM and the docker CLI closing its socket: one way out, whatever the moment.

A terminal Ctrl-C signals the whole process group, and the docker CLI then also
closes the plugin socket (which ``app.watch_cli_socket`` turns into a SIGINT),
so two or three interrupts in a row are the normal case. The rules:

- before the write: the first interrupt raises :class:`Interrupted` (exit 130,
  one line); every later one is ignored, so the way out is never interrupted;
- during the write (:func:`uninterruptible`): interrupts wait until it is done;
- after the write: the run finishes normally (its summary, exit 0) and adds a
  note that an interrupt came after the commit.

Nothing here imports more than the standard library and ``errors``: the
handlers are installed before any heavy import.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Iterator, NoReturn

from docker_kolla.errors import Interrupted

HINT = "run the command again: lock writes nothing until it is done, pull and promote resume where they stopped"
LATE_NOTE = "docker kolla: note: interrupted after the write was complete; the result above stands\n"


class _State:
    critical = 0  # nesting depth of uninterruptible()
    pending = False  # an interrupt arrived during the write
    written = False  # the write is done: interrupts from now on only add a note
    late = False  # an interrupt arrived after (or during) the write
    leaving = False  # a way out is under way: interrupts are ignored


_state = _State()


def on_signal(signum: int, frame: object) -> None:
    """The SIGINT/SIGTERM handler (see the module docstring)."""
    if _state.leaving:
        return
    if _state.critical:
        _state.pending = True
        return
    if _state.written:
        _state.late = True
        return
    _state.leaving = True
    raise Interrupted("interrupted", HINT)


def install() -> None:
    """Handle SIGINT and SIGTERM (main thread only, as signal handlers must be)."""
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def ignore() -> None:
    """The run is over: ignore interrupts from now on.

    Python restores the default action (death by signal, which the docker CLI
    reports as exit 255 without a word) for signals with Python handlers while
    the interpreter shuts down; an ignored signal stays ignored.
    """
    _state.leaving = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def leaving() -> None:
    """An error is being reported: interrupts from now on are ignored."""
    _state.leaving = True


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Hold interrupts while a commit and its work-tree write happen, so they are never half done.

    When the block completes, the run's write is done: interrupts that arrived
    meanwhile, and any later ones, only add :data:`LATE_NOTE`. When it fails,
    its error is what the user sees.
    """
    _state.critical += 1
    done = False
    try:
        yield
        done = True
    finally:
        _state.critical -= 1
        if not _state.critical and done:
            _state.written = True
            _state.late = _state.late or _state.pending
            _state.pending = False


def late_note() -> str:
    """The note to print when the run ends, if an interrupt came after the write."""
    return LATE_NOTE if _state.late else ""


def write_line(text: str) -> None:
    """One line to stderr without the buffered streams (a signal may have cut one mid-write)."""
    with contextlib.suppress(OSError):
        sys.stdout.flush()
    data = text.encode("utf-8", "replace")
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(2, data) :]


def die(exc: Interrupted) -> NoReturn:
    """Leave at once with exit 130: worker threads may be blocked on the network."""
    _state.leaving = True
    write_line(f"docker kolla: {exc.line()}\n")
    os._exit(exc.exit_code)
