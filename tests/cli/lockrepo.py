"""A lock repository wired to a test fleet, driven through the real docker CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def channels_toml(fleet, images, *, static_tag: str | None = None, platforms=("linux/amd64",)) -> str:
    plats = ", ".join(f'"{p}"' for p in platforms)
    text = (
        f'[defaults]\nregistry = "{fleet.host}"\nnamespace = "{fleet.namespace}"\n'
        f"platforms = [{plats}]\nimages = [{', '.join(repr(i).replace(chr(39), chr(34)) for i in images)}]\n"
        f'\n[channels.{fleet.tag}]\ntag = "{fleet.tag}"\n'
    )
    if static_tag:
        text += f'\n[channels."{static_tag}"]\ntag = "{static_tag}"\nstatic = true\n'
    return text


def make_repo(path: Path, docker_cli, fleet, images, **kw) -> Path:
    """``git init`` + channels.toml for ``fleet`` committed by the real git CLI."""
    path.mkdir(parents=True, exist_ok=True)
    env = docker_cli.env
    git(path, "init", "-q", "-b", "main", env=env)
    (path / "lockfiles").mkdir(exist_ok=True)
    (path / "lockfiles" / "channels.toml").write_text(channels_toml(fleet, images, **kw))
    git(path, "add", "lockfiles/channels.toml", env=env)
    git(path, "commit", "-q", "-m", "channels", env=env)
    return path


def snapshot(repo: Path) -> tuple:
    """Everything a failed command must leave as it was: refs, index, work tree files."""
    refs = subprocess.run(["git", "-C", str(repo), "show-ref"], capture_output=True, text=True).stdout
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True).stdout
    files = {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }
    index = (repo / ".git" / "index").read_bytes() if (repo / ".git" / "index").exists() else b""
    return refs, status, files, index
