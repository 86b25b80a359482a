"""The typer app, the per-run state, and the helpers every command module shares."""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Optional

import typer

from docker_kolla.cli import interrupts
from docker_kolla.cli.helpfmt import COMMON_PARAMS, Typer
from docker_kolla.cli.state import State
from docker_kolla.errors import KollaError


def _coerce_only_what_needs_it() -> None:
    """typer (0.27 on) coerces every parameter through a pydantic TypeAdapter, built on the
    first value it sees, including an option left unset: on a run of ``lock`` that is ~0.1-0.2 s
    of pydantic imports and schema building before the first registry request. Give each
    parameter a coercion that answers the values whose result is known without pydantic (an
    absent value; the command's own default; a plain str, int, float or Path with no bounds
    or checks: ``--repo DIR``, ``--jobs 16``) and builds typer's own coercion for anything
    else (``--jobs many`` still fails as typer says, bounds are still typer's).
    With a typer that has no such hook this does nothing."""
    core = getattr(typer, "core", None)
    parameter = getattr(core, "_TyperParameter", None)
    build = getattr(core, "build_runtime_param", None)
    if parameter is None or build is None or not hasattr(parameter, "get_runtime_param"):
        return

    class Deferred:
        def __init__(self, descriptor) -> None:
            self._descriptor = descriptor
            self._built = None

        def coerce(self, value, param, ctx):
            if value is None:  # what typer answers for it, without building anything
                return () if param.multiple or param.nargs == -1 else None
            info = self._descriptor.parameter_info
            if value is param.default and not param.multiple:
                return value
            if type(value) is str and not param.multiple and getattr(info, "parser", None) is None:
                simple = _simple(_unoptional(self._descriptor.annotation), info, value)
                if simple is not None:
                    return simple
            if self._built is None:
                self._built = build(self._descriptor)
            return self._built.coerce(value, param=param, ctx=ctx)

    original = parameter.get_runtime_param

    def get_runtime_param(self):
        descriptor = getattr(self, "type_descriptor", None)
        if descriptor is None or not hasattr(self, "_runtime_param"):
            return original(self)  # a typer whose internals moved: its own coercion, unchanged
        if self._runtime_param is None:
            self._runtime_param = Deferred(descriptor)
        return self._runtime_param

    parameter.get_runtime_param = get_runtime_param


def _unoptional(annotation):
    """``Optional[X]`` -> ``X``; anything else as it is."""
    args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    return args[0] if len(args) == 1 and type(None) in getattr(annotation, "__args__", ()) else annotation


_NUMBER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
_PATH_CHECKS = ("exists", "writable", "resolve_path", "allow_dash", "path_type")


def _simple(annotation, info, value: str):
    """``value`` as a plain str, int, float or Path, when typer's checks would pass it as it is; else None."""
    if annotation is str:
        return value
    number: float | None = None
    if annotation is int and _NUMBER.fullmatch(value):
        number = int(value)
    elif annotation is float and _DECIMAL.fullmatch(value):
        number = float(value)
    if number is not None:
        low, high = getattr(info, "min", None), getattr(info, "max", None)
        inside = (low is None or number >= low) and (high is None or number <= high)
        return number if inside else None  # out of bounds (or clamped): typer's coercion decides
    if annotation is Path and not any(getattr(info, name, None) for name in _PATH_CHECKS):
        path = Path(value)
        # file_okay/dir_okay only refuse a path that exists as the other kind: typer says how
        wrong_kind = (not getattr(info, "file_okay", True) and path.is_file()) or (
            not getattr(info, "dir_okay", True) and path.is_dir()
        )
        return None if wrong_kind else path
    return None


_coerce_only_what_needs_it()

app = Typer(
    name="docker kolla",
    help="Lock Kolla image channels to digests; revisions come from git history.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def __getattr__(name: str):
    """``console_err`` / ``console_out``: rich consoles, built on first use (rich costs a
    run ~50 ms of imports, and most runs print only plain lines)."""
    if name not in ("console_err", "console_out"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    globals().setdefault("console_err", Console(stderr=True, highlight=False, soft_wrap=True))
    globals().setdefault("console_out", Console(highlight=False, soft_wrap=True))
    return globals()[name]


def may_be_terminal(stream) -> bool:
    """False when ``stream`` is plainly no terminal (rich's own variables unset), so a
    progress display can be skipped without importing rich to ask ``Console.is_terminal``."""
    forced = os.environ.get("TTY_COMPATIBLE") == "1" or bool(os.environ.get("FORCE_COLOR"))
    isatty = getattr(stream, "isatty", None)
    return forced or bool(isatty and isatty())


_state = State()


def set_state(state: State) -> None:
    global _state
    _state = state


def state() -> State:
    return _state


def out(text: str = "") -> None:
    """Write data for machines or humans to stdout, unformatted."""
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def warn(text: str) -> None:
    info(f"warning: {text}")


def info(text: str) -> None:
    """A line for the user on stderr, as written (no markup, no emoji codes; a live
    progress display redirects sys.stderr and keeps the line above itself)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def error_line(exc: KollaError) -> str:
    return f"docker kolla: error: {exc.line()}"


def _set_repo(value: Optional[Path]) -> None:
    if value is not None:
        _state.repo = value


def _shared_repo_option():
    """The ``--repo`` option every command and group accepts (``docker kolla log X --repo R``),
    built once by typer from a throwaway command and appended to each command's parameters."""
    holder = typer.Typer()

    @holder.command()
    def _holder(
        repo: Optional[Path] = typer.Option(
            None,
            "--repo",
            envvar="DOCKER_KOLLA_REPO",
            metavar="DIR",
            file_okay=False,
            expose_value=False,
            callback=_set_repo,
            help="Lock repository (default: $DOCKER_KOLLA_REPO, else the git repository around the current directory).",
        ),
    ) -> None:
        pass

    return typer.main.get_command(holder).params[0]


COMMON_PARAMS.append(_shared_repo_option())


def _print_version(value: bool) -> None:
    if value:
        from docker_kolla import __version__

        out(f"docker-kolla version {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-v",
        is_eager=True,
        callback=_print_version,
        help="Print the plugin version and exit (`docker kolla version` shows the libraries too).",
    ),
) -> None:
    pass


def _positive_seconds(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be a positive number of seconds, not {value:g}")
    return value


CACHE_DIR_HELP = "Layer scan cache (default: $DOCKER_KOLLA_CACHE, else ~/.cache/docker-kolla)."
REGISTRY_TIMEOUT_HELP = (
    "Deadline of each registry request, body included (default 120; blobs get 1 s more per 256 KiB)."
)


def timeout_option(help: str = REGISTRY_TIMEOUT_HELP):
    """``--timeout SECONDS``: by default the overall deadline of each registry exchange (see
    adapters/http.py); ``help`` says what it bounds for a verb that talks to something else."""
    return typer.Option(None, "--timeout", metavar="SECONDS", callback=_positive_seconds, help=help)


# Hold interrupts while a commit and its work-tree write happen (see cli/interrupts.py).
uninterruptible = interrupts.uninterruptible


def configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s"
    )
    # urllib3's debug lines carry full URLs (upload state, signed redirects, token queries):
    # never let -D print them; our own adapters log redacted URLs instead.
    # Its warnings (a header it could not parse, a full pool) name URLs as well: silence it.
    logging.getLogger("urllib3").setLevel(logging.CRITICAL)
    notices = logging.getLogger("docker_kolla.notice")  # ops' warnings for the user, as base.warn prints them
    if not notices.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
        notices.addHandler(handler)
        notices.propagate = False
