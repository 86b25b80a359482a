"""Every key of channels.toml and of a lockfile is checked by type and value: one ConfigError
naming the file and the key, never a crash and never a silently ignored typo."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from docker_kolla.core.channels import parse_channels
from docker_kolla.core.lockfile import loads
from docker_kolla.core.manifest import parse_manifest
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import ConfigError, InvalidReference, RegistryError

GOLDEN = (Path(__file__).parent / "golden" / "ocata.toml").read_text()
BASE = '[defaults]\nregistry = "r.example:5000"\nimages = ["nova-api"]\n'


def test_the_base_configuration_is_valid():
    assert parse_channels(BASE + "[channels.ocata]\n").get("ocata").tag == "ocata"
    assert loads(GOLDEN, "lockfiles/ocata.toml").images


@pytest.mark.parametrize(
    "text,needle",
    [
        ("defaults = 1\n", "defaults must be a table"),
        ("[defaults]\nimages = 3\n", "'images' must be a list"),
        ("[defaults]\nimages = [3]\n", "list of strings"),
        ("[defaults]\nstatic = 1\n", "'static' must be true or false"),
        ('[defaults]\nregistry = ""\n[channels.o]\n', "'registry' must not be empty"),
        ('[defaults]\ncolour = "red"\n', "unknown key 'colour'"),
        (BASE + "[channel.ocata]\n", "unknown table or key 'channel'"),
        (BASE + "channels = 1\n", "unknown key 'channels'"),
        ("channels = 1\n" + BASE, "[channels] must be a table"),
        (BASE + "[channels]\nocata = 1\n", "[channels.ocata] must be a table"),
        (BASE + 'manifesto = ["labels", "contents"]\n[channels.ocata]\n', "unknown source 'contents'"),
        (BASE + "manifesto = []\n[channels.ocata]\n", "manifesto = []"),
        (BASE + 'manifesto = ["labels", "labels"]\n[channels.ocata]\n', "once each"),
        (BASE + '[channels.ocata]\nbump-on = "digests"\n', "bump-on = 'digests'"),
        (BASE + 'platforms = ["linux"]\n[channels.ocata]\n', "malformed platform 'linux'"),
        (BASE + "platforms = []\n[channels.ocata]\n", "platforms is empty"),
        (BASE + 'revision-format = "{tag}/{revision}"\n[channels.ocata]\n', "makes 'ocata/1'"),
        (BASE + 'revision-format = "{tag}-{revision}-' + "x" * 120 + '"\n[channels.ocata]\n', "not a valid image tag"),
        (BASE + 'revision-format = "{tag}"\n[channels.ocata]\n', "has no {revision}"),
        (BASE + 'name-template = "{image}/{nope}"\n[channels.ocata]\n', "bad name-template"),
        (BASE + 'name-template = "{distro} {image}"\n[channels.ocata]\n', "malformed repository name"),
        (BASE + '[channels.ocata]\ntag = "a b"\n', "invalid tag 'a b'"),
        (BASE + '[channels."../x"]\n', "invalid channel name '../x'"),
        (BASE + "[channels.channels]\n", "invalid channel name 'channels'"),
        (BASE.replace('"nova-api"', '"' + "a" * 300 + '"') + "[channels.ocata]\n", "characters long"),
        (BASE.replace('"nova-api"', '"Nova"') + "[channels.ocata]\n", "malformed repository name"),
        (BASE.replace('"nova-api"', '"nova-api", "nova-api"') + "[channels.ocata]\n", "'nova-api' twice"),
        ('[defaults]\nregistry = "127.0.0.1:1\\" # "\n[channels.o]\nimages = ["x"]\n', "malformed registry"),
    ],
)
def test_bad_channels_values_are_one_error_naming_the_key(text, needle):
    with pytest.raises(ConfigError) as err:
        parse_channels(text)
    assert needle in err.value.line() and "channels.toml" in err.value.line()


def _first_image(text: str, old: str, new: str) -> str:
    return re.sub(old, new, text, count=1)


@pytest.mark.parametrize(
    "edit,needle",
    [
        (lambda t: t.split("[images")[0] + "images = 3\n", "unknown key 'images'"),
        (lambda t: t.split("[images")[0].replace("[lock]", "images = 3\n[lock]"), "images must be a table"),
        (lambda t: t + "\n[extra]\nx = 1\n", "unknown key 'extra'"),
        (lambda t: t.replace("schema = 1", "schema = 2"), "schema = 1"),
        (lambda t: t.replace("[lock]\n", '[lock]\nstatic = "no"\n'), "static must be true or false"),
        (lambda t: _first_image(t, r"\n(repository = )", r'\ncolour = "red"\n\1'), "unknown key 'colour'"),
        (lambda t: _first_image(t, r'tag = "ocata-(\d+)"', 'tag = "ocata/1"'), "not a valid image tag"),
        (lambda t: _first_image(t, r'media-type = "[^"]+"', 'media-type = "text/plain"'), "media-type 'text/plain'"),
        (lambda t: _first_image(t, r"revision = \d+", "revision = 0"), "revision must be a whole number"),
        (lambda t: _first_image(t, r"revision = \d+", 'revision = "3"'), "revision must be a whole number"),
        (lambda t: _first_image(t, r'platform = "[^"]+"', 'platform = "amd64"'), "malformed platform"),
        (lambda t: _first_image(t, r'digest = "sha256:[0-9a-f]+"', 'digest = "sha256:xyz"'), "digest"),
        (lambda t: _first_image(t, r'repository = "([^"]+)"', r'repository = "\1:latest"'), "must not carry a tag"),
        (lambda t: _first_image(t, r'(\n"python:[^"]+" = )"[^"]+"', r"\g<1>15"), "must be a string, not a number"),
    ],
)
def test_bad_lockfile_values_are_one_error_naming_the_key(edit, needle):
    text = edit(GOLDEN)
    assert text != GOLDEN
    with pytest.raises(ConfigError) as err:
        loads(text, "lockfiles/ocata.toml")
    assert needle in err.value.line() and "lockfiles/ocata.toml" in err.value.line()


def test_lockfile_hints_name_commands_that_fit_the_copy():
    bad = GOLDEN.replace("schema = 1", "schema = 7")
    with pytest.raises(ConfigError) as work:
        loads(bad, "lockfiles/ocata.toml")
    assert "`git checkout HEAD -- lockfiles/ocata.toml`" in work.value.hint
    with pytest.raises(ConfigError) as old:
        loads(bad, "lockfiles/ocata.toml@c1c5236")
    assert "`git show c1c5236:lockfiles/ocata.toml`" in old.value.hint and "@" not in old.value.hint


@pytest.mark.parametrize(
    "doc,needle",
    [
        (b'{"schemaVersion": 99, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {}}', "99"),
        (b'{"schemaVersion": 1, "name": "x", "fsLayers": []}', "schemaVersion 1"),
        (b'{"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}', "schemaVersion None"),
        (b'{"schemaVersion": 2, "mediaType": "application/x-unknown"}', "unsupported media type"),
    ],
)
def test_unknown_manifest_versions_and_types_are_refused_with_the_digest(doc, needle):
    with pytest.raises(RegistryError) as err:
        parse_manifest(doc)
    assert needle in err.value.message and "sha256:" in err.value.message


def test_repository_names_longer_than_distribution_allows_are_refused_locally():
    ImageRef.parse("r.example/" + "a" * 240)
    with pytest.raises(InvalidReference) as err:
        ImageRef.parse("r.example/" + "a" * 300)
    assert "at most 255" in err.value.line()


def test_channels_toml_parses_once_per_text_and_its_errors_every_time():
    text = BASE + "[channels.ocata]\n"
    assert parse_channels(text) is parse_channels(text)
    assert parse_channels(text + "\n") is not parse_channels(text)
    bad = BASE + '[channels.ocata]\ntag = "no tags with spaces"\n'
    for _ in range(2):
        with pytest.raises(ConfigError, match="invalid tag"):
            parse_channels(bad)


def test_a_channels_image_references_follow_its_own_fields_and_the_overrides():
    channel = parse_channels(BASE + "[channels.ocata]\n").get("ocata")
    ref = channel.image_ref("nova-api")
    assert channel.image_ref("nova-api") is ref and str(ref) == "r.example:5000/kolla/centos-binary-nova-api:ocata"
    assert (
        str(channel.image_ref("nova-api", "mirror.example", "ns")) == "mirror.example/ns/centos-binary-nova-api:ocata"
    )
    assert str(channel.image_ref("nova-api", None, "")) == "r.example:5000/centos-binary-nova-api:ocata"
    moved = replace(channel, registry="other.example", tag="pike")  # a copy answers from its own fields
    assert str(moved.image_ref("nova-api")) == "other.example/kolla/centos-binary-nova-api:pike"
    assert str(channel.image_ref("nova-api")) == "r.example:5000/kolla/centos-binary-nova-api:ocata"
    assert moved == replace(channel, registry="other.example", tag="pike")  # the memo is not part of equality
