"""What every command knows about its run (docker's global flags, the repository, the
environment), built without typer: ``cli/prestart.py`` needs it before typer is loaded."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class State:
    """What every command needs to know about this run.

    Built once from docker's global flags (parsed by ``cli/plugin.py``), the
    ``--repo`` option and the environment; commands read it, never argv.
    """

    repo: Path = field(default_factory=Path.cwd)
    config_dir: Path = field(default_factory=lambda: Path.home() / ".docker")
    docker_host: str | None = None
    context: str | None = None
    tls: bool = False
    tlsverify: bool | None = None
    tlscacert: str | None = None
    tlscert: str | None = None
    tlskey: str | None = None
    debug: bool = False
    env: dict = field(default_factory=lambda: dict(os.environ))


def build_state(flags, env: dict) -> State:
    """The run's state from docker's global flags (``plugin.GlobalFlags``) and ``env``."""
    config_dir = Path(flags.config or env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    if flags.config:
        # The docker CLI does not export --config to plugins; the docker SDK reads DOCKER_CONFIG.
        os.environ["DOCKER_CONFIG"] = str(config_dir)
        env = dict(env, DOCKER_CONFIG=str(config_dir))
    return State(
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
