"""``attach`` and ``sbom``: the manifesto published next to the image, and as a standard SBOM."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import List, Optional

import typer

from docker_kolla import __version__
from docker_kolla.cli import base, factory, render
from docker_kolla.core import sbom as sb
from docker_kolla.core.reference import Location
from docker_kolla.errors import UsageError
from docker_kolla.ops.common import load_channels, load_lock_at, lock_path, pick_channel

SIGN_KEY_HELP = (
    "Sign each manifesto artifact with this PEM EC P-256 private key (cosign .sig tag); "
    "an encrypted key's password comes from $DOCKER_KOLLA_SIGN_PASSWORD."
)


def signing_key(path: Path | None):
    """``--sign-key FILE`` read and parsed (the password from the environment, never echoed), or None."""
    from docker_kolla.core.signing import PASSWORD_ENV, load_signing_key

    if path is None:
        return None
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read signing key {path}: {exc.strerror}", "pass --sign-key a readable PEM file"
        ) from exc
    password = os.environ.get(PASSWORD_ENV)
    return load_signing_key(str(path), pem, password.encode() if password else None)


def trusted_discoverer(client, channel: str | None):
    """A Discoverer trusting the keys of ``channel``'s trust policy (the only configured
    channel when None), for ``--trust-attached-manifesto`` outside ``lock``."""
    from docker_kolla.ops.trustcheck import load_keys

    fix = 'add keys = ["keys/kolla.pub"] to the channel\'s [trust] in lockfiles/channels.toml'
    try:
        repo = factory.open_repo(base.state().repo)
    except UsageError:
        raise UsageError(
            "--trust-attached-manifesto needs trusted keys, and there is no lock repository here", fix
        ) from None
    with repo:
        config = load_channels(repo)
        if channel is None:
            if len(config.channels) != 1:
                names = ", ".join(sorted(config.channels)) or "none"
                raise UsageError(
                    f"--trust-attached-manifesto: which channel's keys? (configured: {names})", "pass --channel NAME"
                )
            channel = next(iter(config.channels))
        policy = config.get(channel).trust
        keys = load_keys(repo, policy)
    if not keys:
        raise UsageError(f"--trust-attached-manifesto needs trusted keys: channel {channel!r} lists none", fix)
    return factory.discoverer(client, keys, policy)


def attach_lock(client, repo, channel: str, rev: str, to: str | None, names=(), jobs: int = 8, sign_key=None) -> list:
    """Attach every (selected) locked digest's manifesto, at its repository or under ``--to``;
    with ``sign_key`` (core.signing.SigningKey) sign each artifact."""
    from docker_kolla.ops.attach import Signer, attach_all

    sha, lock = load_lock_at(repo, channel, rev)
    dest = Location.parse(to, "--to") if to else None
    unknown = [n for n in names if n not in lock.images]
    if unknown:
        raise UsageError(f"not in lock {channel!r}: {', '.join(unknown)}", "name images as in the lockfile")
    targets = []
    for name in sorted(names or lock.images):
        entry = lock.images[name]
        source = entry.repository
        targets.append((dest.repository(source) if dest else source, entry))
    signer = Signer(client, sign_key) if sign_key is not None else None
    return attach_all(client, factory.discoverer(client), targets, sha, jobs, signer)


@base.app.command("attach")
def attach(
    channel: Optional[str] = typer.Argument(None, help="Channel whose lock to attach (default: the only one)."),
    lock: str = typer.Option("HEAD", "--lock", metavar="REV", help="Lock revision: HEAD, HEAD~1, a tag, a SHA."),
    to: Optional[str] = typer.Option(None, "--to", metavar="HOST[/NS]", help="Attach in this registry (a mirror)."),
    image: Optional[List[str]] = typer.Option(None, "--image", "-i", help="Only this image (repeatable)."),
    jobs: int = typer.Option(8, "--jobs", "-j", min=1, max=64, help="Parallel images."),
    insecure_registry: Optional[List[str]] = typer.Option(None, "--insecure-registry", help="Plain HTTP to this host."),
    sign_key: Optional[Path] = typer.Option(None, "--sign-key", metavar="FILE", help=SIGN_KEY_HELP),
) -> None:
    """Push each locked digest's manifesto as an OCI artifact whose subject is that digest."""
    key = signing_key(sign_key)  # before any request: a bad key or password changes nothing
    state = base.state()
    client = factory.registry_client(state, insecure=insecure_registry or (), jobs=jobs)
    repo = factory.open_repo(state.repo)
    with repo, client:
        name = pick_channel(repo, channel, lock)
        outcomes = attach_lock(client, repo, name, lock, to, tuple(image or ()), jobs, key)
    render.attach_table(outcomes)
    if key is not None:
        base.info(f"manifesto artifacts signed by {key.fingerprint}")


@base.app.command("sbom")
def sbom(
    target: str = typer.Argument(..., help="A lock image name (nova-api) or a channel (all its images)."),
    fmt: str = typer.Option("spdx", "--format", "-f", help="spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.5 JSON)."),
    channel: Optional[str] = typer.Option(None, "--channel", help="For an image name: its channel."),
    lock: str = typer.Option("HEAD", "--lock", metavar="REV", help="Lock revision: HEAD, HEAD~1, a tag, a SHA."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
) -> None:
    """Write a standard SBOM (package URLs) from the locked manifesto; reads no registry."""
    render.check_format(fmt, sb.FORMATS)
    state = base.state()
    repo = factory.open_repo(state.repo)
    with repo:
        config = load_channels(repo)
        if target in config.channels:
            name, images = target, None
        else:
            name = pick_channel(repo, channel, lock)
            images = [target]
        sha, locked = load_lock_at(repo, name, lock)
        if images and images[0] not in locked.images:
            raise UsageError(
                f"{target!r} is neither a channel nor an image of the lock of {name!r} at {lock}",
                "name a channel from channels.toml or an image from its lockfile",
            )
        versions = repo.history(lock_path(name), sha)
        when = max((v.time for v in versions), default=0)
        distro = config.channels[name].distro if name in config.channels else ""
    facts = [sb.image_facts(locked.images[n]) for n in (images or sorted(locked.images))]
    created = dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = images[0] if images else name
    text = sb.render(fmt, title, facts, created, __version__, distro)
    if output is None:
        base.out(text.rstrip("\n"))
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}", "pick a writable --output path") from exc
    base.info(f"wrote {output} ({fmt}, {len(facts)} image(s))")
