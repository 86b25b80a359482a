"""The registry of commands in cli/app.py: every command module is listed, and a bad name fails loudly."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest
import typer

import docker_kolla.cli
from docker_kolla.cli import app, base


def test_every_command_module_is_registered():
    found = {m.name for m in pkgutil.iter_modules(docker_kolla.cli.__path__) if m.name.startswith("cmd_")}
    assert set(app.COMMANDS) == found
    assert len(app.COMMANDS) == len(set(app.COMMANDS))


def test_the_registry_yields_every_verb():
    app._load_commands()
    names = set(typer.main.get_command(base.app).commands)
    assert {"lock", "diff", "log", "verify", "pull", "export", "status", "promote", "init", "inspect"} <= names


def test_a_typo_in_the_registry_fails_loudly():
    with pytest.raises(ModuleNotFoundError, match="cmd_lokc"):
        app._load_commands(("cmd_lock", "cmd_lokc"))


def test_a_silent_check_failure_exits_1_without_a_line():
    """``CheckFailed()`` is the one exit-1 path; without a message it prints nothing."""
    code = (
        "import sys\nfrom docker_kolla.cli import app, base\nfrom docker_kolla.cli.plugin import GlobalFlags\n"
        "from docker_kolla.errors import CheckFailed\n"
        "@base.app.command('fail-quietly')\ndef q(loud: bool = False):\n"
        "    raise CheckFailed('3 differences', 'look at them') if loud else CheckFailed()\n"
        "print(app.run(GlobalFlags(), ['fail-quietly']), app.run(GlobalFlags(), ['fail-quietly', '--loud']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["1", "1"], proc.stderr
    assert proc.stderr == "docker kolla: error: 3 differences: look at them\n"
