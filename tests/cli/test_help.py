"""``--help`` for every command, through the docker CLI: it renders, in docker's layout, and loses no text."""

from __future__ import annotations

import inspect
import re

import pytest
import typer

from docker_kolla.cli import app, base
from docker_kolla.cli.examples import EXAMPLES

# A Python or click type name where docker prints a word (`--jobs int`), or click's range suffix.
PYTHON_TYPES = re.compile(
    r"<(str|int|float|bool|path|dir|file|text|uuid|list\[[^>]*\]|\w+ range|choice[^>]*)>|\d<=x<=\d"
)


def _tree():
    app._load_commands()
    root = typer.main.get_command(base.app)
    found = [((), root)]

    def walk(path, group):
        for name, command in group.commands.items():
            found.append(((*path, name), command))
            if hasattr(command, "commands"):
                walk((*path, name), command)

    walk((), root)
    return found


COMMANDS = _tree()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_sweep_covers_every_verb():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"lock", "diff", "log", "verify", "init", "inspect", "pull", "export", "status", "promote"} <= names
    assert {"cache", "cache prune", "version"} <= names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) or "docker-kolla" for p, _ in COMMANDS])
def test_help_renders_like_docker(docker_cli, tmp_path, path, command):
    proc = docker_cli.kolla(*path, "--help", cwd=tmp_path)
    text = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert "internal error" not in proc.stdout + proc.stderr
    assert not PYTHON_TYPES.search(text), PYTHON_TYPES.search(text).group(0)
    assert f"Usage:  docker kolla {' '.join(path)}".rstrip() in text
    assert "{" not in text.split("Usage:", 1)[1].splitlines()[0]
    # Nothing the docstring says is lost (markup used to eat "[defaults]" and "[/NAMESPACE]").
    assert _flat(inspect.cleandoc(command.help or "")) in _flat(text), command.help
    for param in command.params:
        if getattr(param, "hidden", False) or param.name == "help":
            continue
        described = inspect.cleandoc(getattr(param, "help", None) or "")
        assert described, f"{' '.join(path)}: {param.name} has no description"
        assert _flat(described).rstrip(".") in _flat(text), described
        if getattr(param, "param_type_name", "") == "option":
            long = next(o for o in param.opts if o.startswith("--"))
            flag_line = re.compile(rf"^ +(-\w, )?{re.escape(long)}(\s|,|$)")
            line = next(line for line in text.splitlines() if flag_line.match(line))
            if param.is_flag:  # a boolean flag takes no value, as in docker
                assert re.search(rf"{re.escape(long)}\s{{2,}}\S", line), line
    assert "--repo dir" in text  # accepted everywhere, not only before the verb
    examples = EXAMPLES.get(" ".join(path))
    assert examples, f"no Examples for {' '.join(path)!r} in docker_kolla/cli/examples.py"
    assert "\nExamples:\n" in text
    assert any(e.startswith(f"docker kolla {' '.join(path)}".rstrip()) for e in examples)


def test_docker_style_placeholders(docker_cli, tmp_path):
    text = docker_cli.kolla("lock", "--help", cwd=tmp_path, check=True).stdout
    assert re.search(r"-j, --jobs int\s+Parallel", text)
    assert re.search(r"-i, --image stringArray\s+Lock only", text)
    assert re.search(r" {6}--no-commit\s{2,}Write the lockfile", text)
    text = docker_cli.kolla("promote", "--help", cwd=tmp_path, check=True).stdout
    assert "HOST[:PORT][/NAMESPACE]" in text and "(required)" in text
    text = docker_cli.kolla("init", "--help", cwd=tmp_path, check=True).stdout
    assert "into [defaults]" in text
