"""``docker kolla pull [CHANNEL] [--lock REV]``: reproduce a deploy's images in the engine."""

from __future__ import annotations

import threading
from typing import List, Optional

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.text import Text

from docker_kolla.cli import base, factory, render
from docker_kolla.cli.factory import engine_for, open_repo
from docker_kolla.errors import UsageError
from docker_kolla.ops.common import load_lock_at, pick_channel
from docker_kolla.ops.pull import DEFAULT_JOBS, PullProgress, run_pull


class _ImageBytes(DownloadColumn):
    """Bytes for an image's bar; nothing on the overall ``N/total`` bar."""

    def render(self, task):
        return Text("") if task.fields.get("overall") else super().render(task)


class _RichPullProgress(PullProgress):
    """An overall ``37/200`` bar and one transient bar per image on stderr; rich disables
    itself when stderr is not a TTY."""

    def __init__(self, title: str, total: int) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            _ImageBytes(),
            TextColumn("{task.fields[state]}"),
            console=base.console_err,
            transient=True,
            disable=not base.console_err.is_terminal,
        )
        self._tasks: dict = {}
        self._lock = threading.Lock()
        self._title, self._total = title, total
        self._overall = self._progress.add_task(f"{title}: 0/{total}", total=total, state="", overall=True)

    def __enter__(self) -> _RichPullProgress:
        self._progress.__enter__()
        self._done = 0
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
        with self._lock:
            self._done += 1
            self._progress.update(
                self._overall, completed=self._done, description=f"{self._title}: {self._done}/{self._total}"
            )


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
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Re-fetch and verify each signature against the channel's [trust] keys first; fail closed.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every image, also those already present."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
    timeout: Optional[float] = base.timeout_option(
        "Deadline of each image's pull through the engine, layers and extraction included "
        "(default: none); also the longest silence of the engine's other answers."
    ),
) -> None:
    """Pull every pinned digest of the lock at REV, tag it repository:<tag-revision>, verify RepoDigests.

    Prints the images pulled or failed and a summary; --verbose lists every image.
    """
    render.check_format(fmt, ("text", "json"))
    if mark is not None and (not mark or mark == "previous" or not all(c.isalnum() or c in "._-" for c in mark)):
        raise UsageError(f"invalid --mark {mark!r}", "use a word such as deployed (not 'previous')")
    state = base.state()
    repo = open_repo(state.repo)
    try:
        name = pick_channel(repo, channel, lock)
        commit, locked = load_lock_at(repo, name, lock)
        refused = _verify_first(state, repo, name, locked, image or (), jobs) if verify else {}
    finally:
        repo.close()
    engine = engine_for(state, pool_size=jobs + 2, timeout=timeout)
    try:
        total = len(set(image)) if image else len(locked.images)
        with _RichPullProgress(f"pull {name}", total) as progress:
            result = run_pull(
                engine,
                locked,
                commit=commit,
                names=image or (),
                jobs=jobs,
                mark=mark,
                progress=progress,
                refused=refused,
            )
    finally:
        engine.close()
    if fmt == "json":
        base.out(render.pull_json(result, render.revision(lock, commit)))
    elif not quiet:
        base.out(render.pull_text(result, lock, verbose=verbose))
    result.raise_for_failures()


def _verify_first(state, repo, channel: str, locked, names, jobs: int) -> dict:
    """``--verify``: name -> Refusal for every selected image whose signature does not verify now."""
    from docker_kolla.ops.common import load_channels
    from docker_kolla.ops.pull import select
    from docker_kolla.ops.trustcheck import load_keys, reverify

    policy = load_channels(repo).get(channel).trust
    keys = load_keys(repo, policy)
    client = factory.registry_client(state, jobs=max(jobs, 4))
    with client:
        return reverify(factory.discoverer(client, keys, policy), select(locked, names), policy, jobs=max(jobs, 4))
