"""Assemble the command modules on the typer app and run it with docker's global flags applied."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from docker_kolla.cli import base
from docker_kolla.errors import Interrupted, KollaError

# Each command module registers itself on base.app when imported.
_COMMANDS = ("cmd_lock", "cmd_history", "cmd_misc", "cmd_pull", "cmd_export", "cmd_status", "cmd_promote")


def _load_commands() -> None:
    import importlib

    for name in _COMMANDS:
        try:
            importlib.import_module(f"docker_kolla.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"docker_kolla.cli.{name}":
                raise


def build_state(flags, env: dict) -> base.State:
    config_dir = Path(flags.config or env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    if flags.config:
        # The docker CLI does not export --config to plugins; the docker SDK reads DOCKER_CONFIG.
        os.environ["DOCKER_CONFIG"] = str(config_dir)
        env = dict(env, DOCKER_CONFIG=str(config_dir))
    return base.State(
        repo=Path.cwd(),
        config_dir=config_dir,
        docker_host=flags.host,
        context=flags.context,
        tls=flags.tls,
        tlsverify=flags.tlsverify,
        tlscacert=flags.tlscacert,
        tlscert=flags.tlscert,
        tlskey=flags.tlskey,
        debug=flags.debug or env.get("DEBUG") == "1",
        env=env,
    )


def watch_cli_socket(env: dict) -> None:
    """Cancel on EOF of DOCKER_CLI_PLUGIN_SOCKET (docker CLI >= 25).

    Without a TTY the docker CLI forwards Ctrl-C / SIGTERM only by closing this
    socket (protocols.md 1.4); reading it in a daemon thread and turning EOF into
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
    import signal

    signal.signal(signal.SIGINT, base.on_interrupt)
    signal.signal(signal.SIGTERM, base.on_interrupt)
    watch_cli_socket(dict(os.environ))
    state = build_state(flags, dict(os.environ))
    base.set_state(state)
    base.configure_logging(state.debug)
    _load_commands()
    from typer import Abort

    try:  # typer >= 0.26 vendors click
        from typer._click.exceptions import NoArgsIsHelpError
        from typer._click.exceptions import UsageError as ClickUsageError
    except ImportError:  # pragma: no cover - older typer on plain click
        from click.exceptions import NoArgsIsHelpError
        from click.exceptions import UsageError as ClickUsageError
    try:
        code = base.app(args=args, prog_name="docker kolla", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except NoArgsIsHelpError:
        return 2  # the help was shown
    except ClickUsageError as exc:  # one line, like every other error (typer would draw a panel)
        from docker_kolla.cli.argerrors import rewrite

        where = exc.ctx.command_path if exc.ctx else "docker kolla"
        sys.stderr.write(f"docker kolla: error: {rewrite(exc, where)}\n")
        return 2
    except Abort:
        return 1
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except Interrupted as exc:
        sys.stdout.flush()
        sys.stderr.write(f"docker kolla: {exc.line()}\n")
        sys.stderr.flush()
        os._exit(exc.exit_code)  # do not wait for worker threads blocked on the network
    except KollaError as exc:
        sys.stderr.write(base.error_line(exc) + "\n")
        return exc.exit_code
    except OSError as exc:  # a file the user named cannot be read or written
        sys.stderr.write(
            f"docker kolla: error: {exc.strerror or exc}: {exc.filename or ''}: check the path and its permissions\n"
        )
        return 3
    except Exception as exc:  # a bug: one line by default, the traceback with -D
        if state.debug:
            raise
        sys.stderr.write(
            f"docker kolla: internal error: {type(exc).__name__}: {exc}: "
            "run again with `docker -D kolla ...` for the traceback and report it\n"
        )
        return 3
    return 0
