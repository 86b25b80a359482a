"""``init --preset RELEASE --distro D --arch A`` and ``--list-presets`` through the docker CLI."""

from __future__ import annotations

import subprocess

import pytest
import tomli

from docker_kolla import releases
from docker_kolla.core.channels import parse_channels


def one_line_error(result: subprocess.CompletedProcess, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("docker kolla: error:"), result.stderr
    return lines[0]


def test_list_presets_names_every_release(docker_cli, tmp_path):
    out = docker_cli.kolla("init", "--list-presets", cwd=tmp_path, check=True).stdout
    for name in ("ocata", "2024.1", "2024.2", "2025.1", "2025.2", "2026.1"):
        assert any(line.split()[0] == name for line in out.splitlines() if line.strip()), out
    assert "kolla-ansible 20.6.0" in out and "rocky 9 (default)" in out
    assert not (tmp_path / "lockfiles").exists()


@pytest.mark.parametrize(
    "args,tag,platform",
    [
        ((), "2025.1-rocky-9", "linux/amd64"),
        (("--distro", "ubuntu"), "2025.1-ubuntu-noble", "linux/amd64"),
        (("--distro", "debian", "--arch", "aarch64"), "2025.1-debian-bookworm-aarch64", "linux/arm64"),
    ],
)
def test_init_release_preset(docker_cli, tmp_path, args, tag, platform):
    repo = tmp_path / "locks"
    repo.mkdir()
    docker_cli.kolla("init", "--preset", "2025.1", *args, cwd=repo, check=True)
    text = (repo / "lockfiles" / "channels.toml").read_text()
    channel = parse_channels(text).get("2025.1")
    assert channel.tag == tag and channel.platforms == (platform,)
    assert channel.registry == "quay.io" and channel.namespace == "openstack.kolla"
    assert channel.kolla_ansible == "2025.1"
    assert str(channel.image_ref("nova-api")) == f"quay.io/openstack.kolla/nova-api:{tag}"
    assert channel.revision_tag(7) == f"{tag}-7"
    assert "nova-super-conductor" not in channel.images and "nova-conductor" in channel.images
    assert tomli.loads(text)["defaults"]["kolla-ansible"] == "2025.1"


@pytest.mark.parametrize("release", ["2024.1", "2024.2", "2025.2", "2026.1"])
def test_every_release_preset_parses(release):
    from docker_kolla.core import presets

    for distro in presets.parse_preset(releases.preset_text(release)).distros:
        config = parse_channels(presets.channels_text(presets.parse_preset(releases.preset_text(release)), distro))
        assert config.get(release).images


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--preset", "2099.1"), "unknown preset '2099.1'"),
        (("--preset", "2025.1", "--distro", "oraclelinux"), "does not build images for distro 'oraclelinux'"),
        (("--preset", "2025.1", "--arch", "ppc64le"), "unknown --arch 'ppc64le'"),
        (("--preset", "ocata", "--distro", "ubuntu"), "centos-binary x86_64 fleet only"),
        (("--distro", "rocky"), "--distro and --arch need --preset"),
    ],
)
def test_bad_preset_input_is_one_line_exit_2_and_writes_nothing(docker_cli, tmp_path, args, needle):
    repo = tmp_path / "locks"
    repo.mkdir()
    assert needle in one_line_error(docker_cli.kolla("init", *args, cwd=repo), 2)
    assert list(repo.iterdir()) == []
