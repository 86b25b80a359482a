"""docker's global flags before the plugin name, and the metadata fast path."""

import json
import subprocess
import sys

import pytest

from docker_kolla.cli.plugin import GlobalFlagError, parse_global_flags


@pytest.mark.parametrize(
    "argv,attrs,rest",
    [
        (["kolla", "lock", "ocata"], {}, ["kolla", "lock", "ocata"]),
        (["--context", "prod", "-D", "kolla", "status"], {"context": "prod", "debug": True}, ["kolla", "status"]),
        (["-H", "unix:///x.sock", "kolla", "pull"], {"host": "unix:///x.sock"}, ["kolla", "pull"]),
        (["-Hunix:///y.sock", "kolla"], {"host": "unix:///y.sock"}, ["kolla"]),
        (["--config=/tmp/c", "--tlsverify=false", "kolla"], {"config": "/tmp/c", "tlsverify": False}, ["kolla"]),
        (["--context", "kolla", "kolla", "ls"], {"context": "kolla"}, ["kolla", "ls"]),
        (
            ["-c", "x", "--log-level", "debug", "kolla", "--help"],
            {"context": "x", "log_level": "debug"},
            ["kolla", "--help"],
        ),
    ],
)
def test_global_flags(argv, attrs, rest):
    flags = parse_global_flags(argv)
    for key, value in attrs.items():
        assert getattr(flags, key) == value
    assert flags.rest == rest


@pytest.mark.parametrize(
    "argv", [["--context", "a", "-H", "unix:///x", "kolla"], ["-H", "a", "-H", "b", "kolla"], ["--config"]]
)
def test_bad_global_flags(argv):
    with pytest.raises(GlobalFlagError):
        parse_global_flags(argv)


def test_metadata_answers_before_heavy_imports():
    code = (
        "import sys, io; from docker_kolla.cli.plugin import main; out = io.StringIO(); sys.stdout = out; "
        "main(['docker-cli-plugin-metadata']); sys.stdout = sys.__stdout__; "
        "print(out.getvalue().strip()); "
        "print([m for m in ('typer', 'requests', 'dulwich', 'docker', 'rich') if m in sys.modules])"
    )
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    meta = json.loads(lines[0])
    assert meta["SchemaVersion"] == "0.1.0" and meta["Vendor"]
    assert lines[1] == "[]"


def test_the_launcher_answers_the_metadata_probe_as_the_entry_point_does(tmp_path):
    """bin/docker-kolla-plugin answers from the shell: its JSON must be the package's METADATA,
    and every other call must reach the entry point (through a symlink, as docker runs it)."""
    from docker_kolla.cli.plugin import METADATA
    from tests.support.paths import PLUGIN

    link = tmp_path / "docker-kolla"
    link.symlink_to(PLUGIN)
    probe = subprocess.run([str(link), "docker-cli-plugin-metadata"], capture_output=True, text=True, check=True)
    assert json.loads(probe.stdout) == METADATA
    usage = subprocess.run([str(link), "no-such-verb"], capture_output=True, text=True)
    assert usage.returncode == 2 and "unknown command 'no-such-verb'" in usage.stderr


def test_the_console_script_runs_main_with_the_collector_settings_of_a_process_of_its_own():
    """`docker-kolla` is ``entry``: main's exit code, collections every GC_THRESHOLD new objects,
    and everything frozen on the way out (the interpreter's teardown then skips walking it)."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "docker-kolla"]
    assert script.value == "docker_kolla.cli.plugin:entry"
    code = (
        "import gc, sys; from docker_kolla.cli import plugin; "
        "sys.argv = ['docker-kolla', 'no-such-verb']; before = gc.get_freeze_count(); rc = plugin.entry(); "
        "print(rc, gc.get_threshold()[0] == plugin.GC_THRESHOLD, before == 0 and gc.get_freeze_count() > 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "True", "True"], out.stderr
