"""The channel configuration, ``lockfiles/channels.toml``.

``[defaults]`` holds settings every channel inherits; ``[channels.<name>]``
overrides any of them and names the moving tag (``tag = "ocata"``) or a release
tag that is locked once and never revised (``static = true``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tomli

from docker_kolla.core.reference import ImageRef, valid_tag
from docker_kolla.core.trust import TrustPolicy, parse_trust
from docker_kolla.errors import ConfigError, UnknownChannel, UsageError

_KEYS = {
    "registry": str,
    "namespace": str,
    "name-template": str,
    "distro": str,
    "type": str,
    "platforms": list,
    "manifesto": list,
    "revision-format": str,
    "images": list,
    "tag": str,
    "static": bool,
    "bump-on": str,
    "optional-images": list,
    "kolla-ansible": str,
    "trust": dict,
}
_DEFAULTS = {
    "registry": "docker.io",
    "namespace": "kolla",
    "name-template": "{distro}-{type}-{image}",
    "distro": "centos",
    "type": "binary",
    "platforms": ["linux/amd64"],
    "manifesto": ["labels", "content"],
    "revision-format": "{tag}-{revision}",
    "images": [],
    "static": False,
    "bump-on": "manifesto",
    "optional-images": [],
    "kolla-ansible": "",
}
_FIX = "fix lockfiles/channels.toml (see `docker kolla init --help` for an example)"


@dataclass(frozen=True)
class Channel:
    """One channel: which images, where they live, which tag to resolve."""

    name: str
    tag: str
    images: tuple = ()
    optional_images: tuple = ()  # locked when the registry has them, skipped with a note otherwise
    registry: str = "docker.io"
    namespace: str = "kolla"
    name_template: str = "{distro}-{type}-{image}"
    distro: str = "centos"
    type: str = "binary"
    platforms: tuple = ("linux/amd64",)
    manifesto: tuple = ("labels", "content")
    revision_format: str = "{tag}-{revision}"
    static: bool = False
    bump_on: str = "manifesto"
    kolla_ansible: str = ""  # the kolla-ansible release exports are written for ("2025.1"); "" = Ocata
    trust: TrustPolicy = TrustPolicy()

    def image_ref(self, image: str, registry: str | None = None, namespace: str | None = None) -> ImageRef:
        """The reference ``registry/namespace/<distro>-<type>-<image>:<tag>``."""
        repo_name = self.name_template.format(distro=self.distro, type=self.type, image=image)
        ns = self.namespace if namespace is None else namespace
        path = f"{ns}/{repo_name}" if ns else repo_name
        return ImageRef.from_parts(registry or self.registry, path, self.tag)

    def revision_tag(self, revision: int | None) -> str:
        """``ocata-3``; the release tag itself for static channels."""
        if self.static or revision is None:
            return self.tag
        return self.revision_format.format(tag=self.tag, revision=revision)


@dataclass(frozen=True)
class ChannelsConfig:
    channels: dict = field(default_factory=dict)  # name -> Channel

    def get(self, name: str) -> Channel:
        if name not in self.channels:
            known = ", ".join(sorted(self.channels)) or "none"
            raise UnknownChannel(
                f"unknown channel {name!r} (configured: {known})",
                "add [channels.NAME] to lockfiles/channels.toml or pick a configured channel",
            )
        return self.channels[name]


def _check(table: dict, where: str) -> dict:
    out = {}
    for key, value in table.items():
        if key in ("channels", "trust"):  # trust: validated by core.trust.parse_trust
            continue
        kind = _KEYS.get(key)
        if kind is None:
            raise ConfigError(f"channels.toml {where}: unknown key {key!r}", _FIX)
        if not isinstance(value, kind):
            raise ConfigError(f"channels.toml {where}: {key!r} must be a {kind.__name__}", _FIX)
        if kind is list and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"channels.toml {where}: {key!r} must be a list of strings", _FIX)
        out[key] = value
    return out


def _check_templates(channel: Channel, name: str) -> None:
    """name-template may use {distro} {type} {image}; revision-format needs {tag} and {revision}."""
    for key, template, fields in (
        ("name-template", channel.name_template, ("distro", "type", "image")),
        ("revision-format", channel.revision_format, ("tag", "revision")),
    ):
        try:
            template.format(**{f: "x" for f in fields})
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"channels.toml [channels.{name}]: bad {key} {template!r} ({exc!r})",
                f"use only the placeholders {', '.join('{' + f + '}' for f in fields)}",
            ) from exc
    if "{revision}" not in channel.revision_format:
        raise ConfigError(
            f"channels.toml [channels.{name}]: revision-format {channel.revision_format!r} has no {{revision}}",
            'every revision needs its own tag, e.g. "{tag}-{revision}"',
        )


def parse_channels(text: str) -> ChannelsConfig:
    """Parse channels.toml; errors name the line and column, or the key, and the fix."""
    try:
        doc = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if getattr(exc, "lineno", None) else "end of file"
        raise ConfigError(f"lockfiles/channels.toml: malformed TOML at {where}: {exc.msg}", _FIX) from exc
    defaults = dict(_DEFAULTS)
    defaults.update(_check(doc.get("defaults") or {}, "[defaults]"))
    default_trust = parse_trust((doc.get("defaults") or {}).get("trust", {}), "[defaults]")
    channels = {}
    tables = doc.get("channels") or {}
    if not isinstance(tables, dict):
        raise ConfigError("channels.toml: [channels] must be a table of channels", _FIX)
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"channels.toml: [channels.{name}] must be a table", _FIX)
        merged = dict(defaults)
        merged.update(_check(table, f"[channels.{name}]"))
        merged.setdefault("tag", name)
        if not valid_tag(merged["tag"]):
            raise ConfigError(f"channels.toml [channels.{name}]: invalid tag {merged['tag']!r}", _FIX)
        if merged["bump-on"] not in ("manifesto", "digest"):
            raise ConfigError(f"channels.toml [channels.{name}]: bump-on must be 'manifesto' or 'digest'", _FIX)
        channel = Channel(
            name=name,
            tag=merged["tag"],
            images=tuple(merged["images"]),
            optional_images=tuple(i for i in merged["optional-images"] if i not in merged["images"]),
            registry=merged["registry"],
            namespace=merged["namespace"],
            name_template=merged["name-template"],
            distro=merged["distro"],
            type=merged["type"],
            platforms=tuple(merged["platforms"]),
            manifesto=tuple(merged["manifesto"]),
            revision_format=merged["revision-format"],
            static=merged["static"],
            bump_on=merged["bump-on"],
            kolla_ansible=merged["kolla-ansible"],
            trust=parse_trust(table["trust"], f"[channels.{name}]", default_trust)
            if "trust" in table
            else default_trust,
        )
        _check_templates(channel, name)
        try:
            for image in channel.images + channel.optional_images:
                channel.image_ref(image)
        except UsageError as exc:
            raise ConfigError(f"channels.toml [channels.{name}]: {exc.message}", _FIX) from exc
        channels[name] = channel
    return ChannelsConfig(channels)
