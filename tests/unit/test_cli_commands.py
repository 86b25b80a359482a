"""The registry of commands in cli/app.py: every command module and verb is listed, a run imports
only its verb's module, and a bad name fails loudly."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

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


def test_each_verb_maps_to_the_module_that_registers_it():
    app._load_commands()
    found = {c.name: c.callback.__module__ for c in base.app.registered_commands}
    for group in base.app.registered_groups:
        modules = {c.callback.__module__ for c in group.typer_instance.registered_commands}
        assert len(modules) == 1, (group.name, modules)
        found[group.name] = modules.pop()
    assert {verb: f"docker_kolla.cli.{module}" for verb, module in app.VERBS.items()} == found


@pytest.mark.parametrize(
    "args,verb",
    [
        (["lock", "ocata"], "lock"),
        (["--repo", "lock", "diff", "HEAD~1"], "diff"),  # the value of --repo is not the verb
        (["--repo=/r", "cache", "prune"], "cache"),
        (["--help"], None),
        (["-v"], None),
        ([], None),
        (["--", "lock"], None),
        (["lokc"], "lokc"),
    ],
)
def test_the_invoked_verb(args, verb):
    assert app.invoked_verb(args) == verb


def test_commands_for_a_run():
    assert app.commands_for(["lock", "ocata"]) == ("cmd_lock",)
    assert app.commands_for(["cache", "prune"]) == ("cmd_misc",)
    assert app.commands_for(["--help"]) == app.COMMANDS
    assert app.commands_for(["lokc"]) == app.COMMANDS  # typer names the unknown verb among all of them


def _modules_after(args: list, prefix: str = "docker_kolla.cli.cmd_", cwd=None) -> list:
    """The exit code and the modules named ``prefix...`` after running ``args`` in a fresh interpreter."""
    code = (
        "import sys\nfrom docker_kolla.cli import app\nfrom docker_kolla.cli.plugin import GlobalFlags\n"
        f"code = app.run(GlobalFlags(), {args!r})\n"
        f"print(code, ' '.join(sorted(m for m in sys.modules if m.startswith({prefix!r}))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("\n")[-2].split()


def test_a_run_imports_only_its_verbs_module():
    code, *modules = _modules_after(["lock", "--help"])
    assert code == "0" and modules == ["docker_kolla.cli.cmd_lock"]
    code, *modules = _modules_after(["--help"])
    assert code == "0" and modules == sorted(f"docker_kolla.cli.{m}" for m in app.COMMANDS)


def test_parsing_builds_typers_pydantic_coercion_only_for_values_that_need_it(tmp_path):
    """A run with plain values (a channel name, options left unset or at their defaults) does
    not load pydantic; a value that needs converting still goes through typer's coercion."""
    code, *loaded = _modules_after(["lock", "ocata", "--format", "json"], "pydantic", cwd=tmp_path)
    assert code != "0" and loaded == []  # it got past parsing: no lock repository here
    code, *loaded = _modules_after(["lock", "ocata", "--jobs", "99"], "pydantic", cwd=tmp_path)
    assert code == "2" and "pydantic" in loaded  # out of range, as typer says


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


def test_plain_paths_and_numbers_are_parsed_without_pydantic(tmp_path):
    """``--repo DIR``, ``--jobs 16`` and ``--timeout 2.5`` are what every CI job passes: they
    must not cost the ~0.1 s of pydantic a run of typer's own coercion would."""
    args = ["--repo", str(tmp_path), "promote", "ocata", "--to", "r.example/m", "--jobs", "16", "--timeout", "2.5"]
    code, *loaded = _modules_after(args, "pydantic")
    assert code != "0" and loaded == []  # it got past parsing: no lock repository here
    file = tmp_path / "f"
    file.write_text("")
    code, *loaded = _modules_after(["--repo", str(file), "log"], "pydantic")
    assert code == "2" and "pydantic" in loaded  # a file where a directory belongs: typer says so


def test_the_shortcut_coerces_exactly_as_typer_does(tmp_path):
    """For every str, int, float and Path parameter of every command, on values the shortcut
    answers, its result equals what typer's own coercion gives."""
    import click
    import typer.core

    app._load_commands()
    root = typer.main.get_command(base.app)
    samples = {str: ["x", ""], int: ["8", "+3", "-1"], float: ["2.5", "10", ".5"], Path: [str(tmp_path), "rel/p"]}
    compared = 0
    for command in [root, *root.commands.values()]:
        ctx = click.Context(command)
        for param in command.params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is None:
                continue
            kind = base._unoptional(descriptor.annotation)
            for value in samples.get(kind, []):
                simple = base._simple(kind, descriptor.parameter_info, value)
                if simple is None:
                    continue
                try:
                    expected = typer.core.build_runtime_param(descriptor).coerce(value, param=param, ctx=ctx)
                except click.BadParameter:
                    raise AssertionError(
                        f"{command.name} {param.name}={value!r}: typer refuses what we accept"
                    ) from None
                assert simple == expected and type(simple) is type(expected), (command.name, param.name, value)
                compared += 1
    assert compared > 20
