"""The Kolla release data shipped in the package: channel presets and kolla-ansible tables.

Both are generated from the real kolla and kolla-ansible sdists by
tools/kolla_release.py (the Ocata preset by tools/make_preset.py).
"""

from __future__ import annotations

from importlib import resources

from docker_kolla.core.kolla_eras import SERIES, EraTable, parse_table

DEFAULT_ERA = "ocata"  # what a channel without a `kolla-ansible` key is exported for


def _names(folder: str) -> tuple[str, ...]:
    files = resources.files("docker_kolla").joinpath(folder).iterdir()
    names = [f.name[: -len(".toml")] for f in files if f.name.endswith(".toml")]
    return tuple(sorted(names, key=_release_order))


def _release_order(name: str) -> tuple[int, int, str]:
    """The order OpenStack released them in (kolla-ansible's major versions), master last."""
    order = list(SERIES.values())
    if name in order:
        return (0, order.index(name), name)
    return (1 if name != "master" else 2, 0, name)


def preset_names() -> tuple[str, ...]:
    return _names("presets")


def preset_text(name: str) -> str:
    return resources.files("docker_kolla").joinpath("presets", f"{name}.toml").read_text()


def era_names() -> tuple[str, ...]:
    return _names("kolla_ansible")


def era_table(release: str) -> EraTable:
    return parse_table(resources.files("docker_kolla").joinpath("kolla_ansible", f"{release}.toml").read_text())
