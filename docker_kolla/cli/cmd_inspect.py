"""``inspect``: one image's digests, manifesto and labels, read from its registry; writes nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import typer

from docker_kolla.cli import base, factory, render
from docker_kolla.errors import UsageError


@base.app.command("inspect")
def inspect(
    ref: str = typer.Argument(
        ..., help="Image reference (kolla/centos-binary-nova-api:ocata), or an image name of the lock (nova-api)."
    ),
    channel: Optional[str] = typer.Option(
        None, "--channel", help="For a lock image name: its channel (default: the only locked one)."
    ),
    lock: str = typer.Option(
        "HEAD", "--lock", metavar="REV", help="For a lock image name: the lock revision whose pinned digest to read."
    ),
    platform: Optional[List[str]] = typer.Option(
        None, "--platform", help="Platform whose content to read; repeat for several."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    insecure_registry: Optional[List[str]] = typer.Option(
        None, "--insecure-registry", metavar="HOST", help="Plain HTTP to this registry (repeatable)."
    ),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", metavar="DIR", help=base.CACHE_DIR_HELP),
    timeout: Optional[float] = base.timeout_option(),
    attached: bool = typer.Option(
        False, "--attached", help="Show the manifesto attached to the image (attach verb) without reading its layers."
    ),
    trust_attached: bool = typer.Option(
        False,
        "--trust-attached-manifesto",
        help="Use the attached manifesto instead of reading the layers when a key of the channel's trust policy signed it.",
    ),
) -> None:
    """Show an image's digests, manifesto and labels; writes nothing.

    A bare name such as nova-api is looked up in the lock, as `log` does, and its pinned
    digest is read; write library/NAME:latest for a Docker Hub official image.
    """
    from docker_kolla.ops.resolve import LayerScanner, Resolver

    render.check_format(fmt, ("text", "json"))
    image = _inspect_reference(ref, channel, lock)
    state = base.state()
    client = factory.registry_client(state, insecure=insecure_registry or (), timeout=timeout)
    if attached:
        return _show_attached(client, image, fmt)
    resolver = Resolver(
        client,
        LayerScanner(client, factory.layer_cache(state, cache_dir)),
        platforms=tuple(platform or ("linux/amd64",)),
    )
    given, trusted = None, []
    if trust_attached:
        from docker_kolla.cli.cmd_supply import trusted_discoverer
        from docker_kolla.ops.attach import trusted_manifesto

        discoverer = trusted_discoverer(client, channel)

        def given(digest, platforms):
            trusted.append(trusted_manifesto(client, discoverer, image, digest, discoverer.discover(image, digest, {})))
            return trusted[0].attached.platforms if trusted[0].attached is not None else None

    report = resolver.resolve(image.path.rsplit("/", 1)[-1], image, image.digest, given)
    r = report.resolved
    assert r is not None  # resolve() raises when the image cannot be read
    used = trusted[0] if trusted and trusted[0].attached is not None else None
    if trusted and (trusted[0].artifact or used is None):
        verdict = trusted[0]
        if used is not None:
            verdict = replace(verdict, scanned=tuple(p for p in report.described if p not in report.given))
        base.info(verdict.note() if verdict.artifact else f"{verdict.why}: layers scanned")
    found = _attached(client, image, r.digest) if used is None else None
    if found is not None:
        same = found.layer_digest == str(r.manifesto_digest)
        base.info(
            f"attached manifesto {found.digest.split(':')[1][:12]} (tag {found.tag or '?'}, lock commit "
            f"{found.commit[:7] or '?'}): {'matches' if same else 'DIFFERS FROM'} the content read from the layers"
        )
    if fmt == "json":
        base.out(render.inspect_json(image, report))
        return
    for line in report.label_conflicts + report.notes:
        base.warn(line)
    base.out(render.inspect_text(image, r))


def _attached(client, image, digest):
    """The manifesto artifact attached to ``digest`` (ops.attach), or None."""
    from docker_kolla.core.reference import ImageRef
    from docker_kolla.ops.attach import read_attached

    return read_attached(client, factory.discoverer(client), ImageRef(image.registry, image.path), digest)


def _show_attached(client, image, fmt: str) -> None:
    """``inspect --attached``: the attached manifesto; one manifest GET, no layer read."""
    top = client.get_manifest(image)
    found = _attached(client, image, top.digest)
    if found is None:
        raise UsageError(
            f"no manifesto is attached to {image}",
            "attach one with `docker kolla attach CHANNEL` or `promote --attach-manifesto`, or drop --attached",
        )
    if fmt == "json":
        doc = {"reference": str(image), "digest": str(top.digest), "attached-manifesto": found.digest}
        doc.update(annotations=found.annotations, manifesto=found.value, **{"manifesto-digest": found.layer_digest})
        base.out(render.to_json(doc).rstrip("\n"))
        return
    base.out(
        f"{image}\n  digest:     {top.digest}\n  attached:   {found.digest} (not verified: what the publisher claims)"
    )
    for key, value in sorted(found.annotations.items()):
        base.out(f"  {key.removeprefix('dev.docker-kolla.')}: {value}")
    value = found.value
    nested = value and all(isinstance(v, dict) for v in value.values())
    for plat, facts in sorted(value.items()) if nested else [("", value)]:
        if plat:
            base.out(f"\n{plat}:")
        render.table(["key", "version"], sorted(facts.items()))


def _inspect_reference(ref: str, channel, lock: str):
    """``ref`` parsed; a bare lock image name becomes its pinned ``repository@digest``."""
    from docker_kolla.cli.factory import open_repo
    from docker_kolla.core.reference import ImageRef
    from docker_kolla.ops.common import load_lock_at, pick_channel

    if any(c in ref for c in "/:@"):
        return ImageRef.parse(ref)
    fix = f"write a full reference (library/{ref}:latest for Docker Hub)"
    try:
        repo = open_repo(base.state().repo)
    except UsageError:
        raise UsageError(f"{ref!r} is not a full reference and there is no lock repository here", fix) from None
    with repo:
        name = pick_channel(repo, channel, lock, example=f"docker kolla inspect {ref} --channel {{channel}}")
        _, locked = load_lock_at(repo, name, lock)
    entry = locked.get(ref)
    if entry is None:
        raise UsageError(f"image {ref!r} is not in the lock of channel {name!r} at {lock}", fix)
    return entry.repository.with_digest(entry.digest)
