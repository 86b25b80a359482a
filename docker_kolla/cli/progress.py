"""Per-image progress on stderr: a rich bar on a terminal, nothing otherwise."""

from __future__ import annotations

import sys
import threading

from docker_kolla.cli import base


class ImageProgress:
    """Counts images through ``update(name, state)``; silent when stderr is not a TTY."""

    def __init__(self, title: str, total: int | None = None) -> None:
        self.title = title
        self.total = total
        self._done: set = set()
        self._lock = threading.Lock()
        self._progress = None
        if not base.may_be_terminal(sys.stderr) or not base.console_err.is_terminal:
            return  # not a terminal: no bar, and rich is never imported
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console_err = base.console_err
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            console=console_err,
            transient=True,
        )
        # rich accepts tasks before it starts; the bar shows once __enter__ starts it
        self._task = self._progress.add_task(self.title, total=self.total, last="")

    def __enter__(self) -> ImageProgress:
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def set_total(self, total: int) -> None:
        """The number of images, once known (promote learns it from its plan): ``37/200``, not ``37/?``."""
        with self._lock:
            self.total = total
            if self._progress is not None:
                self._progress.update(self._task, total=total)

    def update(self, name: str, state: str) -> None:
        with self._lock:
            if state != "resolving":
                self._done.add(name)
            if self._progress is not None:
                self._progress.update(self._task, completed=len(self._done), last=f"{name}: {state}")
