"""``init``, ``version`` and ``cache``: commands that write no lock (``inspect``: cli/cmd_inspect.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import tomli_w
import typer

from docker_kolla.cli import base, factory, render
from docker_kolla.cli.helpfmt import Typer
from docker_kolla.errors import UsageError
from docker_kolla.ops.common import CHANNELS_PATH

EXAMPLE = """\
# docker-kolla channels. See `docker kolla init --preset ocata` for the whole Ocata fleet.
[defaults]
registry = "docker.io"
namespace = "kolla"
name-template = "{distro}-{type}-{image}"
distro = "centos"
type = "binary"
platforms = ["linux/amd64"]
manifesto = ["labels", "content"]
images = ["keystone", "nova-api", "nova-compute"]

[channels.ocata]
tag = "ocata"
"""


def preset_text(name: str, distro: str | None = None, arch: str = "x86_64") -> str:
    """channels.toml for preset ``name`` (for ``distro``/``arch`` where the preset is a release)."""
    from docker_kolla import releases
    from docker_kolla.core import presets

    if name not in releases.preset_names():
        raise UsageError(f"unknown preset {name!r}", f"choose one of: {', '.join(releases.preset_names())}")
    text = releases.preset_text(name)
    if presets.is_release_preset(text):
        return presets.channels_text(presets.parse_preset(text), distro, arch)
    if (distro and distro != "centos") or arch != "x86_64":
        raise UsageError(
            f"the {name} preset is the centos-binary x86_64 fleet only", "drop --distro and --arch for this preset"
        )
    return text


def _list_presets() -> None:
    from docker_kolla import releases
    from docker_kolla.core import presets

    rows = []
    for name in releases.preset_names():
        text = releases.preset_text(name)
        if presets.is_release_preset(text):
            p = presets.parse_preset(text)
            distros = ", ".join(
                f"{d} {v}" + (" (default)" if d == p.default_distro else "") for d, v in p.distros.items()
            )
            rows.append(
                (name, f"kolla {p.kolla}", f"kolla-ansible {p.kolla_ansible}", "quay.io/openstack.kolla", distros)
            )
        else:
            rows.append((name, "kolla 4.0.x", "kolla-ansible 4.0.x", "docker.io/kolla", "centos (binary)"))
    render.table(["preset", "images of", "deployed with", "registry", "distros"], rows)


@base.app.command("init")
def init(
    preset: Optional[str] = typer.Option(
        None, "--preset", help="Channel preset: a Kolla release (2024.1 ... 2026.1) or ocata; see --list-presets."
    ),
    distro: Optional[str] = typer.Option(
        None, "--distro", help="Base distro of a release preset (rocky, ubuntu, ...)."
    ),
    arch: str = typer.Option("x86_64", "--arch", help="x86_64, or aarch64 for the -aarch64 builds."),
    list_presets: bool = typer.Option(False, "--list-presets", help="Show the presets and exit."),
    registry: Optional[str] = typer.Option(None, "--registry", help="Write this registry into [defaults]."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing channels.toml."),
    no_commit: bool = typer.Option(False, "--no-commit", help="Write the file, do not commit it."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> None:
    """Create lockfiles/channels.toml (and a git repository if there is none)."""
    from docker_kolla.adapters.gitstore import LockRepo
    from docker_kolla.core.channels import parse_channels

    if list_presets:
        _list_presets()
        return
    if not preset and (distro or arch != "x86_64"):
        raise UsageError("--distro and --arch need --preset", "add --preset RELEASE (see --list-presets)")
    text = preset_text(preset, distro, arch) if preset else EXAMPLE
    if registry:  # written by the TOML writer, so quotes and comment signs stay inside the string
        line = tomli_w.dumps({"registry": registry}).rstrip("\n")
        text = re.sub(r'^registry = ".*"$', lambda _: line, text, count=1, flags=re.MULTILINE)
    parse_channels(text)
    with LockRepo.init(Path(base.state().repo)) as repo:
        if repo.worktree_bytes(CHANNELS_PATH) is not None and not force:
            raise UsageError(f"{CHANNELS_PATH} already exists in {repo.root}", "pass --force to overwrite it")
        missing = [] if no_commit else repo.missing_identity()
        if missing:  # as git refuses: never commit as an invented identity
            fixes = {
                "user.email": 'git config --global user.email "you@example.com"',
                "user.name": 'git config --global user.name "Your Name"',
            }
            raise UsageError(
                f"no git identity to commit as ({' and '.join(missing)} not set)",
                "run " + " and ".join(f"`{fixes[m]}`" for m in missing) + ", or pass --no-commit",
            )
        if no_commit:
            repo.write_worktree(CHANNELS_PATH, text.encode())
        else:
            repo.commit_file(
                CHANNELS_PATH, text.encode(), f"docker kolla init{' --preset ' + preset if preset else ''}\n"
            )
        if not quiet:
            base.info(f"wrote {repo.root / CHANNELS_PATH}; next: `docker kolla lock <channel>`")


@base.app.command("version")
def version(fmt: str = typer.Option("text", "--format", "-f", help="text or json.")) -> None:
    """Show the plugin version, the Python it runs on, and the versions of the libraries it uses."""
    import platform
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    from docker_kolla import __version__

    render.check_format(fmt, ("text", "json"))
    libraries: dict[str, str | None] = {}
    for dist in ("dulwich", "requests", "docker", "typer", "rich"):
        try:
            libraries[dist] = dist_version(dist)
        except PackageNotFoundError:  # pragma: no cover - a broken install
            libraries[dist] = None
    info = {"version": __version__, "python": platform.python_version(), "libraries": libraries}
    base.out(render.version_json(info) if fmt == "json" else render.version_text(info))


cache_app = Typer(help="Manage the per-layer content scan cache.", no_args_is_help=True)
base.app.add_typer(cache_app, name="cache")


@cache_app.command("prune")
def cache_prune(
    older_than: Optional[int] = typer.Option(
        None, "--older-than", metavar="DAYS", min=1, help="Only entries unused for this many days."
    ),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", metavar="DIR", help=base.CACHE_DIR_HELP),
    force: bool = typer.Option(False, "--force", "-f", help="Do not prompt for confirmation."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing."),
) -> None:
    """Remove cached layer scan results.

    Asks first, as docker's prune commands do; without a terminal it needs --force.
    """
    cache = factory.layer_cache(base.state(), cache_dir)
    if not force:
        what = "every cached layer scan" if older_than is None else f"cached layer scans unused for {older_than} days"
        confirm(f"This will remove {what} in {cache.root}.", "pass --force to prune without asking")
    removed = cache.prune(older_than)
    if not quiet:
        base.out(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'} from {cache.root}")


def confirm(warning: str, fix: str) -> None:
    """docker's prune prompt: ``WARNING! ...`` then ``[y/N]``; refuse when stdin is not a terminal."""
    import sys

    if not sys.stdin.isatty():
        raise UsageError("refusing to prune without confirmation: stdin is not a terminal", fix)
    sys.stderr.write(f"WARNING! {warning}\nAre you sure you want to continue? [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        base.info("cancelled; nothing removed")
        raise typer.Exit(0)
