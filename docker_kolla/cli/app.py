"""Assemble the command modules on the typer app and run it with docker's global flags applied."""

from __future__ import annotations

import os
import sys

from docker_kolla.cli import base, interrupts
from docker_kolla.cli.state import build_state
from docker_kolla.errors import Interrupted, KollaError

# The registry of commands: each verb (or group) and the module that registers it on
# base.app when imported. A run imports only its verb's module (the other verbs cost a
# re-lock ~0.3 s of imports before its first request); `--help`, no verb or an unknown
# one load them all. A name here that does not import is an error, never skipped.
VERBS = {
    "lock": "cmd_lock",
    "diff": "cmd_history",
    "log": "cmd_history",
    "verify": "cmd_history",
    "init": "cmd_misc",
    "inspect": "cmd_inspect",
    "version": "cmd_misc",
    "cache": "cmd_misc",
    "pull": "cmd_pull",
    "export": "cmd_export",
    "status": "cmd_status",
    "promote": "cmd_promote",
    "rollback": "cmd_rollback",
    "merge-driver": "cmd_merge",
    "attach": "cmd_supply",
    "sbom": "cmd_supply",
}
COMMANDS = tuple(dict.fromkeys(VERBS.values()))
# Options of the root group that take a value: the word after them is not the verb.
_ROOT_VALUE_OPTIONS = ("--repo",)


def _load_commands(names: tuple = COMMANDS) -> None:
    import importlib

    for name in names:
        importlib.import_module(f"docker_kolla.cli.{name}")


def invoked_verb(args: list) -> str | None:
    """The verb ``args`` run (``lock`` in ``--repo DIR lock ocata``), None when there is none."""
    words = iter(args)
    for arg in words:
        if arg == "--":
            return None
        if arg in _ROOT_VALUE_OPTIONS:
            next(words, None)
        elif not arg.startswith("-"):
            return arg
    return None


def commands_for(args: list) -> tuple:
    """The command modules a run on ``args`` needs: its verb's, or all of them."""
    verb = invoked_verb(args)
    return (VERBS[verb],) if verb in VERBS else COMMANDS


def watch_cli_socket(env: dict) -> None:
    """Cancel on EOF of DOCKER_CLI_PLUGIN_SOCKET (docker CLI >= 25).

    Without a TTY the docker CLI forwards Ctrl-C / SIGTERM only by closing this
    socket (`DOCKER_CLI_PLUGIN_SOCKET`, docker/cli `cli-plugins/socket`); reading it in a daemon thread and turning EOF into
    SIGINT gives the same clean cancel (exit 130, lock repo untouched) as a Ctrl-C.
    """
    address = env.get("DOCKER_CLI_PLUGIN_SOCKET")
    if not address:
        return
    import signal
    import socket
    import threading

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:  # connect before any work starts, so a cancel can never be missed
        sock.connect("\0" + address[1:] if address.startswith("@") else address)
    except OSError:
        sock.close()
        return

    def watch() -> None:
        try:
            while sock.recv(4096):
                pass
        except OSError:
            return
        finally:
            sock.close()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="docker-cli-socket", daemon=True).start()


def run(flags, args: list) -> int:
    """Run the typer app on ``args``; turn every KollaError into one line and its exit code."""
    interrupts.install()
    watch_cli_socket(dict(os.environ))
    state = build_state(flags, dict(os.environ))
    base.set_state(state)
    base.configure_logging(state.debug)
    _load_commands(commands_for(args))
    from typer import Abort

    try:  # typer >= 0.26 vendors click
        from typer._click.exceptions import NoArgsIsHelpError
        from typer._click.exceptions import UsageError as ClickUsageError
    except ImportError:  # pragma: no cover - older typer on plain click
        from click.exceptions import NoArgsIsHelpError  # type: ignore[assignment]
        from click.exceptions import UsageError as ClickUsageError  # type: ignore[assignment]
    try:
        code = base.app(args=args, prog_name="docker kolla", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except NoArgsIsHelpError:
        return 2  # the help was shown
    except Interrupted as exc:
        interrupts.die(exc)
    except ClickUsageError as exc:  # one line, like every other error (typer would draw a panel)
        interrupts.leaving()
        from docker_kolla.cli.argerrors import rewrite

        where = exc.ctx.command_path if exc.ctx else "docker kolla"
        sys.stderr.write(f"docker kolla: error: {rewrite(exc, where)}\n")
        return 2
    except Abort:
        return 1
    except SystemExit as exc:
        code = exc.code
        code = code if isinstance(code, int) else (0 if code is None else 1)
    except KollaError as exc:
        interrupts.leaving()
        if exc.message:  # a CheckFailed without one is a silent exit 1
            sys.stderr.write(base.error_line(exc) + "\n")
        code = exc.exit_code
    except OSError as exc:  # a file the user named cannot be read or written
        interrupts.leaving()
        sys.stderr.write(
            f"docker kolla: error: {exc.strerror or exc}: {exc.filename or ''}: check the path and its permissions\n"
        )
        code = 3
    # anything else escapes to plugin.main's last-resort handler (one line, or the traceback with -D)
    note = interrupts.late_note()
    if note:
        interrupts.write_line(note)
    return code
