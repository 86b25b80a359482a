"""The shipped presets and kolla-ansible tables against the real kolla / kolla-ansible sdists.

The sdists (trimmed, see tests/fixtures/kolla/README.md) are read here by the
independent helpers of tests/support/kolla_ansible.py, not by the generator.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from docker_kolla import releases
from docker_kolla.core import presets
from tests.support import kolla_ansible as ka

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "kolla_release.py"
PRESETS = ["2024.1", "2024.2", "2025.1", "2025.2", "2026.1"]
VERSIONS = {
    "ocata": "4.0.5",
    "pike": "5.0.6",
    "queens": "6.2.3",
    "rocky": "7.2.1",
    "stein": "8.3.0",
    "train": "9.3.2",
    "ussuri": "10.4.0",
    "victoria": "11.4.0",
    "wallaby": "12.8.0",
    "xena": "13.9.0",
    "yoga": "14.11.0",
    "zed": "15.6.0",
    "2023.1": "16.7.0",
    "2023.2": "17.9.0",
    "2024.1": "18.8.0",
    "2024.2": "19.8.0",
    "2025.1": "20.6.0",
    "2025.2": "21.3.0",
    "2026.1": "22.2.0",
}


def generated(kind: str, release: str) -> bytes:
    run = subprocess.run([sys.executable, str(TOOL), kind, release, "--stdout"], capture_output=True, check=True)
    return run.stdout


@pytest.mark.parametrize("release", PRESETS)
def test_preset_regenerates_byte_for_byte_from_the_fixture(release):
    shipped = (ROOT / "docker_kolla" / "presets" / f"{release}.toml").read_bytes()
    assert generated("preset", release) == shipped


@pytest.mark.parametrize("release", sorted(VERSIONS))
def test_kolla_ansible_table_regenerates_byte_for_byte_from_the_fixture(release):
    shipped = (ROOT / "docker_kolla" / "kolla_ansible" / f"{release}.toml").read_bytes()
    assert generated("table", release) == shipped


def test_ocata_preset_regenerates_from_the_fleet_table():
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_preset.py"), str(ROOT / "tests/fixtures/kolla/ocata-images.tsv")],
        capture_output=True,
        check=True,
    )
    assert run.stdout == (ROOT / "docker_kolla" / "presets" / "ocata.toml").read_bytes()


def _built(release: str, distro: str, arch: str) -> set[str]:
    """kolla's own rule: an UNBUILDABLE_IMAGES key applies when each part is the distro, arch or base tag."""
    images = ka.kolla_docker_images(VERSIONS[release])
    elements = {distro, arch, ka.kolla_base_tag(VERSIONS[release], distro)}
    skip = set().union(
        *(v for k, v in ka.kolla_unbuildable(VERSIONS[release]).items() if set(k.split("+")) <= elements)
    )

    def ok(name):
        while name:
            if name in skip:
                return False
            name = images.get(name, "")
        return True

    return {n for n in images if ok(n)}


@pytest.mark.parametrize("release", PRESETS)
@pytest.mark.parametrize("distro,arch", [("rocky", "x86_64"), ("ubuntu", "x86_64"), ("debian", "aarch64")])
def test_preset_lists_exactly_what_kolla_builds_and_kolla_ansible_deploys(release, distro, arch):
    import tomli

    text = presets.channels_text(presets.parse_preset(releases.preset_text(release)), distro, arch)
    doc = tomli.loads(text)
    images, optional = set(doc["defaults"]["images"]), set(doc["defaults"]["optional-images"])
    commented = {line[4:] for line in text.splitlines() if line.startswith("#   ")}
    built = _built(release, distro, arch)
    deployed = ka.deployed_images(VERSIONS[release])
    assert images == deployed & built
    assert optional == deployed - built
    assert images | optional == deployed  # its deployed list is what that kolla-ansible references
    assert images | optional | commented == set(ka.kolla_docker_images(VERSIONS[release]))  # and every kolla image
    channel = doc["channels"][release]
    suffix = "-aarch64" if arch == "aarch64" else ""
    assert channel["tag"].startswith(f"{release}-{distro}-") and channel["tag"].endswith(suffix or channel["tag"][-1])
    assert doc["defaults"]["kolla-ansible"] == release
    assert doc["defaults"]["platforms"] == (["linux/arm64"] if arch == "aarch64" else ["linux/amd64"])


@pytest.mark.parametrize("release", PRESETS)
def test_preset_tag_uses_kolla_ansibles_distro_version(release):
    version = ka.defaults(VERSIONS[release])["kolla_base_distro_version_default_map"]["rocky"]
    text = presets.channels_text(presets.parse_preset(releases.preset_text(release)))
    assert f'tag = "{release}-rocky-{version}"' in text
