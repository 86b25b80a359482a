"""Entry point: the Docker CLI plugin protocol, before any heavy import.

The docker CLI runs ``docker-kolla docker-cli-plugin-metadata`` before every
``docker kolla ...`` call and for every ``docker --help``, so that answer must
come before typer, requests, dulwich or the docker SDK are imported
(docker/cli `cli-plugins/manager/metadata.go`). Then the CLI execs us with its *full* argv: docker's global
flags may precede the plugin name (``docker -H unix:///x.sock kolla pull``), so
they are parsed here, properly, not by searching for the first "kolla" token.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
from dataclasses import dataclass, field

from docker_kolla import __version__

PLUGIN_NAME = "kolla"
METADATA = {
    "SchemaVersion": "0.1.0",
    "Vendor": "docker-kolla",
    "Version": __version__,
    "ShortDescription": "Lock Kolla image channels to digests, with revisions from git history",
    "URL": "https://opendev.org/openstack/kolla",
}
# docker's global flags (docker/cli cli/flags/options.go): those taking a value...
_VALUE_FLAGS = {
    "--config": "config",
    "-c": "context",
    "--context": "context",
    "-H": "host",
    "--host": "host",
    "-l": "log_level",
    "--log-level": "log_level",
    "--tlscacert": "tlscacert",
    "--tlscert": "tlscert",
    "--tlskey": "tlskey",
}
# ...and booleans.
_BOOL_FLAGS = {"-D": "debug", "--debug": "debug", "--tls": "tls", "--tlsverify": "tlsverify"}


class GlobalFlagError(Exception):
    pass


@dataclass
class GlobalFlags:
    """Docker global flags given before the plugin name."""

    config: str | None = None
    context: str | None = None
    host: str | None = None
    log_level: str | None = None
    tlscacert: str | None = None
    tlscert: str | None = None
    tlskey: str | None = None
    debug: bool = False
    tls: bool = False
    tlsverify: bool | None = None
    rest: list = field(default_factory=list)


def _truthy(value: str) -> bool:
    if value.lower() in ("1", "t", "true", "yes"):
        return True
    if value.lower() in ("0", "f", "false", "no"):
        return False
    raise GlobalFlagError(f"invalid boolean value {value!r}")


def parse_global_flags(args: list) -> GlobalFlags:
    """Consume docker's global flags from the front of ``args``; ``rest`` is what follows."""
    flags = GlobalFlags()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        if name in _VALUE_FLAGS:
            if not eq:
                if i + 1 >= len(args):
                    raise GlobalFlagError(f"flag needs an argument: {name}")
                i += 1
                value = args[i]
            attr = _VALUE_FLAGS[name]
            if attr == "host" and flags.host is not None:
                raise GlobalFlagError("specify only one -H")
            setattr(flags, attr, value)
        elif name in _BOOL_FLAGS:
            setattr(flags, _BOOL_FLAGS[name], _truthy(value) if eq else True)
        elif len(arg) > 2 and arg[:2] in ("-c", "-H", "-l") and not arg.startswith("--"):
            setattr(flags, _VALUE_FLAGS[arg[:2]], arg[2:])  # -cNAME, -Hunix:///x
        else:
            break
        i += 1
    if flags.context and flags.host:
        raise GlobalFlagError("conflicting options: cannot specify both --host and --context")
    flags.rest = list(args[i:])
    return flags


GC_THRESHOLD = 10_000  # new objects between collections in a process of its own (Python's default: 700)


def entry() -> int:
    """The ``docker-kolla`` console script: :func:`main` in a process of its own.

    Two garbage-collector settings only the process's owner may make (tests call
    :func:`main` in theirs). Collections wait for 10,000 new objects, not 700: the
    imports and a lock's entries are objects that live until exit, and collecting
    them over and over cost a 2,000-image re-lock ~0.1 s. And what is left is frozen
    on the way out, so the interpreter's teardown does not walk it all again
    (30-45 ms on every command). Nothing is skipped: files and pools are closed by
    the code that opened them (``with``), ``atexit`` runs as usual.
    """
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    try:
        return main()
    finally:
        gc.freeze()


def main(argv: list | None = None) -> int:
    """The plugin entry point, with the last-resort handler: no traceback ever reaches a user.

    Interrupts are handled from the first line on (``interrupts``); whatever
    escapes the command (a bug) becomes the one-line internal-error message,
    or the traceback with ``docker -D`` / ``DEBUG=1``.
    """
    from docker_kolla.cli import interrupts
    from docker_kolla.errors import Interrupted

    args = list(sys.argv[1:] if argv is None else argv)
    interrupts.install()
    sys.unraisablehook = _unraisable
    threading.excepthook = _thread_died
    try:
        return _main(args)
    except Interrupted as exc:
        interrupts.die(exc)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - the last resort
        interrupts.leaving()
        if "-D" in args or "--debug" in args or os.environ.get("DEBUG") == "1":
            raise
        interrupts.write_line(internal_error(exc))
        return 3
    finally:
        interrupts.ignore()


def internal_error(exc: BaseException) -> str:
    """The one-line message for a bug."""
    text = " ".join(str(exc).split())[:300]
    return (
        f"docker kolla: internal error: {type(exc).__name__}{': ' + text if text else ''}: "
        "run again with `docker -D kolla ...` for the traceback and report it\n"
    )


def _unraisable(hook_args: object) -> None:
    """Errors Python cannot raise (a ``__del__`` failing on a full disk) are not the user's business."""
    if os.environ.get("DEBUG") == "1":
        sys.__unraisablehook__(hook_args)  # type: ignore[arg-type]


def _thread_died(hook_args: threading.ExceptHookArgs) -> None:
    """A helper thread's bug: one line, like any other (its work is lost; the main thread reports that)."""
    if os.environ.get("DEBUG") == "1":
        threading.__excepthook__(hook_args)
    elif hook_args.exc_type is not SystemExit and hook_args.exc_value is not None:
        from docker_kolla.cli import interrupts

        interrupts.write_line(internal_error(hook_args.exc_value))


def _main(args: list) -> int:
    if args == ["docker-cli-plugin-metadata"]:
        sys.stdout.write(json.dumps(METADATA) + "\n")
        return 0
    if args[:1] == ["__complete"]:
        from docker_kolla.cli.complete import main as complete

        words = args[2:] if args[1:2] == [PLUGIN_NAME] else args[1:]
        sys.stdout.write(complete(words))
        return 0
    if args[:2] == [PLUGIN_NAME, "docker-cli-plugin-hooks"]:
        return 0
    try:
        flags = parse_global_flags(args)
    except GlobalFlagError as exc:
        sys.stderr.write(f"docker kolla: {exc}: see `docker --help`\n")
        return 125
    rest = flags.rest
    as_plugin = bool(os.environ.get("DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"))
    if rest[:2] == ["help", PLUGIN_NAME]:
        rest = rest[2:] + ["--help"]
    elif as_plugin:
        if rest[:1] != [PLUGIN_NAME]:
            sys.stderr.write(f"docker kolla: unexpected arguments {rest[:1]}: run `docker kolla --help`\n")
            return 125
        rest = rest[1:]
    from docker_kolla.cli import prestart

    prestart.start(flags, rest)  # `lock CHANNEL`: its HEADs go out before typer loads
    try:
        from docker_kolla.cli.app import run  # heavy imports only from here on

        return run(flags, rest)
    finally:
        prestart.cancel()  # HEADs the run never took (it failed before `lock` asked)


if __name__ == "__main__":
    raise SystemExit(entry())
