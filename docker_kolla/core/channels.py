"""The channel configuration, ``lockfiles/channels.toml``.

``[defaults]`` holds settings every channel inherits; ``[channels.<name>]``
overrides any of them and names the moving tag (``tag = "ocata"``) or a release
tag that is locked once and never revised (``static = true``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from typing import Any

import tomli

from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef, valid_tag
from docker_kolla.core.trustpolicy import TrustPolicy, parse_trust
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
_DEFAULTS: dict[str, Any] = {
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
_TOP_KEYS = ("defaults", "channels")
_KIND_NAMES = {str: "a string", list: "a list", bool: "true or false", dict: "a table"}
# The values some keys may take; anything else is a typo that would silently change behaviour.
MANIFESTO_SOURCES = ("labels", "content")
BUMP_ON = ("manifesto", "digest")
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # a tag, and a file name in lockfiles/
# The largest revision a template is checked with: every revision up to a million makes a valid tag.
_SAMPLE_REVISION = 999999


@dataclass(frozen=True)
class Hold:
    """``[channels.<name>.holds]``: keep an image at a digest (or a revision's digest) whatever its tag does."""

    name: str
    digest: str | None = None
    revision: int | None = None
    reason: str = ""


def _holds(value: object, name: str, images: tuple[str, ...], static: bool) -> tuple[Hold, ...]:
    where = f"channels.toml [channels.{name}.holds]"
    fix = f'e.g. nova-api = {{ digest = "sha256:...", reason = "why" }} or {{ revision = 3 }} under [channels.{name}.holds]'
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table", fix)
    holds = []
    for image, spec in sorted(value.items()):
        if image not in images:
            raise ConfigError(
                f"{where}: {image!r} is not an image of channel {name!r}", "hold one of its images, " + fix
            )
        if not isinstance(spec, dict) or set(spec) - {"digest", "revision", "reason"}:
            raise ConfigError(f"{where}: {image} must be a table of digest or revision, and reason", fix)
        digest, revision, reason = spec.get("digest"), spec.get("revision"), spec.get("reason", "")
        if (digest is None) == (revision is None):
            raise ConfigError(f"{where}: {image} needs exactly one of digest and revision", fix)
        if digest is not None and (not isinstance(digest, str) or not DIGEST.fullmatch(digest)):
            raise ConfigError(f"{where}: {image}: digest {digest!r} is not a sha256 digest", fix)
        if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or revision < 1):
            raise ConfigError(f"{where}: {image}: revision must be a whole number >= 1", fix)
        if revision is not None and static:
            raise ConfigError(f"{where}: {image}: a static channel has no revisions", "hold it by digest")
        if not isinstance(reason, str):
            raise ConfigError(f"{where}: {image}: reason must be a string", fix)
        holds.append(Hold(image, digest, revision, reason))
    return tuple(holds)


DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Channel:
    """One channel: which images, where they live, which tag to resolve."""

    name: str
    tag: str
    images: tuple[Any, ...] = ()
    optional_images: tuple[Any, ...] = ()  # locked when the registry has them, skipped with a note otherwise
    registry: str = "docker.io"
    namespace: str = "kolla"
    name_template: str = "{distro}-{type}-{image}"
    distro: str = "centos"
    type: str = "binary"
    platforms: tuple[Any, ...] = ("linux/amd64",)
    manifesto: tuple[Any, ...] = ("labels", "content")
    revision_format: str = "{tag}-{revision}"
    static: bool = False
    bump_on: str = "manifesto"
    kolla_ansible: str = ""  # the kolla-ansible release exports are written for ("2025.1"); "" = Ocata
    trust: TrustPolicy = TrustPolicy()
    holds: tuple[Hold, ...] = ()  # sorted by image
    # image_ref's answers by (image, registry, namespace): a re-lock asks for each image's
    # reference in several places (channels.toml's check, the early HEADs, the lock itself)
    _refs: dict[tuple[str, str | None, str | None], ImageRef] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def hold_for(self, image: str) -> Hold | None:
        return next((h for h in self.holds if h.name == image), None)

    def image_ref(self, image: str, registry: str | None = None, namespace: str | None = None) -> ImageRef:
        """The reference ``registry/namespace/<distro>-<type>-<image>:<tag>``."""
        key = (image, registry, namespace)
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = self._image_ref(image, registry, namespace)
        return ref

    def _image_ref(self, image: str, registry: str | None, namespace: str | None) -> ImageRef:
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
    channels: dict[str, Channel] = field(default_factory=dict)

    def get(self, name: str) -> Channel:
        if name not in self.channels:
            known = ", ".join(sorted(self.channels)) or "none"
            raise UnknownChannel(
                f"unknown channel {name!r} (configured: {known})",
                "add [channels.NAME] to lockfiles/channels.toml or pick a configured channel",
            )
        return self.channels[name]


def _check(table: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("trust", "holds"):  # trust: core.trust.parse_trust; holds: _holds
            continue
        kind = _KEYS.get(key)
        if kind is None:
            raise ConfigError(f"channels.toml {where}: unknown key {key!r}", _FIX)
        if not isinstance(value, kind):
            raise ConfigError(f"channels.toml {where}: {key!r} must be {_KIND_NAMES[kind]}", _FIX)
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"channels.toml {where}: {key!r} must be a list of strings", _FIX)
        if kind is str and key != "namespace" and not value:
            raise ConfigError(f"channels.toml {where}: {key!r} must not be empty", _FIX)
        _check_values(key, value, where)
        out[key] = value
    return out


def _check_values(key: str, value: Any, where: str) -> None:
    """Keys with a closed set of values, and lists whose items must each parse."""
    if key == "manifesto":
        unknown = [v for v in value if v not in MANIFESTO_SOURCES]
        if unknown or not value or len(set(value)) != len(value):
            raise ConfigError(
                f"channels.toml {where}: manifesto = {value!r}: "
                + (f"unknown source {unknown[0]!r}" if unknown else "needs one or both sources, once each"),
                'use manifesto = ["labels", "content"] (or just one of them)',
            )
    elif key == "bump-on" and value not in BUMP_ON:
        raise ConfigError(
            f"channels.toml {where}: bump-on = {value!r} is not one of {', '.join(BUMP_ON)}",
            'use bump-on = "manifesto" (the default) or "digest"',
        )
    elif key == "platforms":
        if not value:
            raise ConfigError(f"channels.toml {where}: platforms is empty", 'list at least one, e.g. ["linux/amd64"]')
        for text in value:
            try:
                Platform.parse(text)
            except UsageError as exc:
                raise ConfigError(f"channels.toml {where}: platforms: {exc.message}", exc.hint) from exc
    elif key in ("images", "optional-images") and len(set(value)) != len(value):
        twice = sorted({v for v in value if value.count(v) > 1})
        raise ConfigError(f"channels.toml {where}: {key} lists {twice[0]!r} twice", "list each image once")


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
    for revision in (1, _SAMPLE_REVISION):
        tag = channel.revision_format.format(tag=channel.tag, revision=revision)
        if not valid_tag(tag):
            raise ConfigError(
                f"channels.toml [channels.{name}]: revision-format {channel.revision_format!r} makes {tag!r}, "
                "not a valid image tag",
                'tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: e.g. "{tag}-{revision}"',
            )


def parse_channels(text: str) -> ChannelsConfig:
    """Parse channels.toml; errors name the line and column, or the key, and the fix.

    The same text parses once per process (a re-lock reads channels.toml before the
    early HEADs and again when the command runs): callers share the result and only
    read it. An error is raised again on every call."""
    return _parse_channels(text)


@functools.lru_cache(maxsize=4)
def _parse_channels(text: str) -> ChannelsConfig:
    try:
        doc = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if getattr(exc, "lineno", None) else "end of file"
        raise ConfigError(f"lockfiles/channels.toml: malformed TOML at {where}: {exc.msg}", _FIX) from exc
    unknown = [key for key in doc if key not in _TOP_KEYS]
    if unknown:
        raise ConfigError(f"channels.toml: unknown table or key {unknown[0]!r}", "only [defaults] and [channels.NAME]")
    if not isinstance(doc.get("defaults", {}), dict):
        raise ConfigError("channels.toml: defaults must be a table ([defaults])", _FIX)
    defaults = dict(_DEFAULTS)
    if "holds" in (doc.get("defaults") or {}):
        raise ConfigError("channels.toml [defaults]: holds belong to a channel", "move them to [channels.NAME.holds]")
    defaults.update(_check(doc.get("defaults") or {}, "[defaults]"))
    default_trust = parse_trust((doc.get("defaults") or {}).get("trust", {}), "[defaults]")
    channels = {}
    tables = doc.get("channels") or {}
    if not isinstance(tables, dict):
        raise ConfigError("channels.toml: [channels] must be a table of channels", _FIX)
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"channels.toml: [channels.{name}] must be a table", _FIX)
        if not _CHANNEL_NAME.match(name) or name == "channels":
            raise ConfigError(
                f"channels.toml: invalid channel name {name!r}",
                "channel names are file names in lockfiles/: letters, digits, '_', '.', '-' (not 'channels')",
            )
        merged = dict(defaults)
        merged.update(_check(table, f"[channels.{name}]"))
        merged.setdefault("tag", name)
        if not valid_tag(merged["tag"]):
            raise ConfigError(f"channels.toml [channels.{name}]: invalid tag {merged['tag']!r}", _FIX)
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
        if "holds" in table:
            images = channel.images + channel.optional_images
            channel = replace(channel, holds=_holds(table["holds"], name, images, channel.static))
        _check_templates(channel, name)
        try:
            for image in channel.images + channel.optional_images:
                channel.image_ref(image)
        except UsageError as exc:
            raise ConfigError(
                f"channels.toml [channels.{name}]: {exc.message}", f"{exc.hint} in channels.toml"
            ) from exc
        channels[name] = channel
    return ChannelsConfig(channels)
