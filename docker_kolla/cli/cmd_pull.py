"""``docker kolla pull [CHANNEL] [--lock REV]``: reproduce a deploy's images in the engine."""

from __future__ import annotations

import threading
from typing import List, Optional

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from docker_kolla.cli import base, render
from docker_kolla.cli.factory import engine_for, open_repo
from docker_kolla.errors import UsageError
from docker_kolla.ops.common import load_lock_at, pick_channel
from docker_kolla.ops.pull import DEFAULT_JOBS, PRESENT, PullProgress, run_pull, summary_rows


class _RichPullProgress(PullProgress):
    """One transient bar per image on stderr; rich disables itself when stderr is not a TTY."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[state]}"),
            console=base.console_err,
            transient=True,
            disable=not base.console_err.is_terminal,
        )
        self._tasks: dict = {}
        self._lock = threading.Lock()

    def __enter__(self) -> _RichPullProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def start(self, entry) -> None:
        with self._lock:
            self._tasks[entry.name] = self._progress.add_task(entry.name, total=None, state="checking")

    def advance(self, entry, current: int, total: int) -> None:
        self._progress.update(self._tasks[entry.name], completed=current, total=total, state="pulling")

    def finish(self, entry, outcome) -> None:
        task = self._tasks[entry.name]
        self._progress.update(task, state=outcome.action)
        self._progress.remove_task(task)


@base.app.command("pull")
def pull(
    channel: Optional[str] = typer.Argument(None, help="Channel to pull (default: the only locked channel)."),
    lock: str = typer.Option("HEAD", "--lock", metavar="REV", help="Lock revision: HEAD, HEAD~1, a tag, a SHA."),
    image: Optional[List[str]] = typer.Option(None, "--image", "-i", help="Pull only this image (repeatable)."),
    jobs: int = typer.Option(DEFAULT_JOBS, "--jobs", "-j", min=1, max=32, help="Parallel pulls."),
    mark: Optional[str] = typer.Option(
        None,
        "--mark",
        metavar="NAME",
        help="Also tag repository:<channel>-NAME (e.g. deployed); "
        "the image it replaces keeps repository:<channel>-previous.",
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """Pull every pinned digest of the lock at REV, tag it repository:<tag-revision>, verify RepoDigests."""
    render.check_format(fmt, ("text", "json"))
    if mark is not None and (not mark or mark == "previous" or not all(c.isalnum() or c in "._-" for c in mark)):
        raise UsageError(f"invalid --mark {mark!r}", "use a word such as deployed (not 'previous')")
    state = base.state()
    repo = open_repo(state.repo)
    try:
        name = pick_channel(repo, channel, lock)
        commit, locked = load_lock_at(repo, name, lock)
    finally:
        repo.close()
    engine = engine_for(state, pool_size=jobs + 2)
    try:
        with _RichPullProgress() as progress:
            result = run_pull(engine, locked, commit=commit, names=image or (), jobs=jobs, mark=mark, progress=progress)
    finally:
        engine.close()
    if fmt == "json":
        base.out(render.pull_json(result, render.revision(lock, commit)))
    else:
        _table(result, lock)
    result.raise_for_failures()


def _table(result, rev: str) -> None:
    base.out(render.plain_table(("IMAGE", "TAG", "DIGEST", "RESULT", "DETAIL"), summary_rows(result)))
    base.out(
        f"{result.channel} at {rev} ({result.commit[:12]}): {result.count('pulled')} pulled, "
        f"{result.count(PRESENT)} already present, {len(result.failed)} failed"
    )
