"""Channel presets: a generated release description -> ``channels.toml`` for one distro/arch.

A preset for a current release (``presets/<release>.toml``, written by
tools/kolla_release.py from the real kolla and kolla-ansible sdists) lists every
image kolla's ``docker/`` tree has, with its parent, what kolla does not build per
distro[+aarch64], what kolla-ansible deploys, and the distro versions
kolla-ansible puts in its tags. :func:`channels_text` picks the channel of one
distro/arch from it: ``quay.io/openstack.kolla/<image>:<release>-<distro>-<version>[-aarch64]``
(the naming since Zed), the deployed images kolla builds there as ``images``, the
deployed ones it does not as ``optional-images``, the rest as comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import tomli

from docker_kolla.errors import ConfigError, UsageError

ARCHES = ("x86_64", "aarch64")


@dataclass(frozen=True)
class Preset:
    release: str
    kolla: str
    kolla_ansible: str
    default_distro: str
    distros: dict[str, str]  # distro -> version in the tag
    images: dict[str, str]  # image -> parent ("" for the root)
    deployed: frozenset[str]
    not_built: dict[str, frozenset[str]]  # distro[+aarch64] -> images


def parse_preset(text: str) -> Preset:
    try:
        doc = tomli.loads(text)
        return Preset(
            release=str(doc["release"]),
            kolla=str(doc["kolla"]),
            kolla_ansible=str(doc["kolla-ansible"]),
            default_distro=str(doc["default-distro"]),
            distros={str(k): str(v) for k, v in doc["distros"].items()},
            images={str(k): str(v) for k, v in doc["images"].items()},
            deployed=frozenset(doc["deployed"]["images"]),
            not_built={str(k): frozenset(v) for k, v in doc["not-built"].items()},
        )
    except (tomli.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"damaged channel preset: {exc}", "reinstall docker-kolla") from exc


def is_release_preset(text: str) -> bool:
    """A generated release description (as opposed to a literal channels.toml like Ocata's)."""
    return text.lstrip().startswith("#") and "\n[distros]\n" in text


def _list(key: str, names: Iterable[str]) -> str:
    return f"{key} = [\n" + "".join(f'    "{n}",\n' for n in sorted(names)) + "]\n"


def _comment(title: str, names: Iterable[str]) -> str:
    names = sorted(names)
    return f"# {title} ({len(names)}):\n" + "".join(f"#   {n}\n" for n in names) if names else ""


def channels_text(preset: Preset, distro: str | None = None, arch: str = "x86_64") -> str:
    """The channels.toml of ``preset`` for ``distro`` (default: the release's) and ``arch``."""
    distro = distro or preset.default_distro
    if distro not in preset.distros:
        raise UsageError(
            f"kolla {preset.kolla} ({preset.release}) does not build images for distro {distro!r}",
            f"use --distro {' | '.join(sorted(preset.distros))}",
        )
    if arch not in ARCHES:
        raise UsageError(f"unknown --arch {arch!r}", "use --arch x86_64 or --arch aarch64")
    key = distro if arch == "x86_64" else f"{distro}+{arch}"
    skip = preset.not_built.get(key, frozenset())
    built = set(preset.images) - skip
    parents = {p for p in preset.images.values() if p}
    images = preset.deployed & built
    optional = preset.deployed - built
    suffix = "" if arch == "x86_64" else f"-{arch}"
    tag = f"{preset.release}-{distro}-{preset.distros[distro]}{suffix}"
    platform = "linux/arm64" if arch == "aarch64" else "linux/amd64"
    flags = f" --distro {distro}" + (f" --arch {arch}" if suffix else "")
    out = [
        f"# docker-kolla channels: OpenStack {preset.release}, the images kolla {preset.kolla} builds for\n",
        f"# {distro} {preset.distros[distro]} ({arch}), as published on quay.io/openstack.kolla, deployed with\n",
        f"# kolla-ansible {preset.kolla_ansible}. Written by `docker kolla init --preset {preset.release}{flags}`.\n",
        f"# images: the {len(images)} images kolla-ansible deploys that kolla builds here; optional-images:\n",
        f"# the {len(optional)} it deploys that kolla does not build here (locked if the registry has them).\n\n",
        '[defaults]\nregistry = "quay.io"\nnamespace = "openstack.kolla"\nname-template = "{image}"\n',
        f'distro = "{distro}"\ntype = "source"\nplatforms = ["{platform}"]\nmanifesto = ["labels", "content"]\n',
        f'revision-format = "{{tag}}-{{revision}}"\nkolla-ansible = "{preset.release}"\n',
        _list("images", images),
        _list("optional-images", optional),
        _comment(
            f"Built by kolla {preset.kolla} here, not deployed by kolla-ansible", built - preset.deployed - parents
        ),
        _comment("Parents of other images, not deployed", (built & parents) - preset.deployed),
        _comment(f"Not built for {key}", skip - preset.deployed),
        f'\n[channels."{preset.release}"]\ntag = "{tag}"\n',
    ]
    return "".join(out)
