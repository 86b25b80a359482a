"""kolla-ansible's image variables per release, and which of them an export sets.

Each kolla-ansible release names every container's image in
``<prefix>_image_full: "{{ <prefix>_image }}:{{ <tag variable> }}"`` and gives each
tag variable a default that reads one coarser variable:
``nova_api_tag -> nova_tag -> openstack_tag`` (2024.1 on), ``nova_api_tag ->
nova_tag -> openstack_release`` (Pike on), ``nova_api_tag -> openstack_release``
(Ocata). The prefix is usually the image name with ``-`` -> ``_``, but not always
(``nova_super_conductor`` runs nova-conductor, ``neutron_rpc_server`` reuses
``neutron_server_image``), and the chain has cross-links (``neutron_tls_proxy_tag``
reads ``haproxy_tag``). So this is a table per release, generated from that
release's own ``group_vars`` and role defaults by tools/kolla_release.py and
shipped as ``docker_kolla/kolla_ansible/<release>.toml``.

:func:`plan` picks the coarsest variables that make every locked container
resolve to its image's tag-revision, and never one that would also move a
container the lock does not cover: a tag-revision exists only for locked images,
so an over-wide variable would make kolla-ansible pull a tag that is not there.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import tomli

from docker_kolla.errors import ConfigError, UsageError

# kolla-ansible's major version -> the OpenStack series it deploys (OPENSTACK_RELEASE at each tag).
SERIES = {
    4: "ocata",
    5: "pike",
    6: "queens",
    7: "rocky",
    8: "stein",
    9: "train",
    10: "ussuri",
    11: "victoria",
    12: "wallaby",
    13: "xena",
    14: "yoga",
    15: "zed",
    16: "2023.1",
    17: "2023.2",
    18: "2024.1",
    19: "2024.2",
    20: "2025.1",
    21: "2025.2",
    22: "2026.1",
    23: "2026.2",
}
_VERSION = re.compile(r"^(\d+)(\.\d+){0,2}$")


def release_of(text: str, known: tuple[str, ...]) -> str:
    """The release a ``--kolla-ansible`` value names: a release (``2025.1``) or a version (``20.6.0``).

    ``known`` are the releases with a shipped table; anything else is a UsageError.
    """
    value = text.strip().lower()
    fix = f"use a release ({_span(known)}) or a kolla-ansible version of one (e.g. 20.6.0)"
    if value in known:
        return value
    match = _VERSION.match(value)
    series = SERIES.get(int(match[1])) if match else None
    if series is None and value not in SERIES.values():
        raise UsageError(f"unknown kolla-ansible version {text!r}", fix)
    series = series or value
    if series not in known:
        raise UsageError(f"no kolla-ansible variable table for {series} ({text!r})", fix)
    return series


def _span(known: tuple[str, ...]) -> str:
    """``ocata to 2026.1`` when ``known`` is an unbroken run of SERIES, else the names one by one."""
    order = list(SERIES.values())
    if len(known) > 2 and all(k in order for k in known):
        first, last = order.index(known[0]), order.index(known[-1])
        if list(known) == order[first : last + 1]:
            return f"{known[0]} to {known[-1]}"
    return ", ".join(known)


@dataclass(frozen=True)
class Container:
    prefix: str  # <prefix>_image_full
    image: str
    tag_var: str


@dataclass(frozen=True)
class EraTable:
    release: str
    kolla_ansible: str
    common: str  # the top of the chain: openstack_tag, or openstack_release before it existed
    containers: tuple[Container, ...]
    tags: dict[str, str] = field(default_factory=dict)  # tag variable -> the variable its default reads
    not_built: dict[str, frozenset[str]] = field(default_factory=dict)  # distro[+aarch64] -> images

    def chain(self, container: Container) -> list[str]:
        """The tag variables from the container's own up to the top of its chain."""
        out = [container.tag_var]
        while out[-1] in self.tags and self.tags[out[-1]] not in out:
            out.append(self.tags[out[-1]])
        return out

    def depth(self, var: str) -> int:
        """How many variables lie above ``var`` on its chain: 0 for the top (openstack_tag)."""
        seen = [var]
        while seen[-1] in self.tags and self.tags[seen[-1]] not in seen:
            seen.append(self.tags[seen[-1]])
        return len(seen) - 1

    @property
    def images(self) -> set[str]:
        return {c.image for c in self.containers}


def parse_table(text: str) -> EraTable:
    """A generated ``kolla_ansible/<release>.toml``."""
    try:
        doc = tomli.loads(text)
        containers = tuple(Container(p, str(v[0]), str(v[1])) for p, v in sorted(doc["containers"].items()))
        return EraTable(
            release=str(doc["release"]),
            kolla_ansible=str(doc["kolla-ansible"]),
            common=str(doc["common"]),
            containers=containers,
            tags={str(k): str(v) for k, v in doc.get("tags", {}).items()},
            not_built={str(k): frozenset(v) for k, v in doc.get("not-built", {}).items()},
        )
    except (tomli.TOMLDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"damaged kolla-ansible table: {exc}", "reinstall docker-kolla") from exc


@dataclass(frozen=True)
class Pin:
    """What the lock says one image must be deployed as."""

    tag: str
    revision: int


@dataclass
class Plan:
    values: dict[str, str]  # tag variable -> tag-revision, coarsest first (then by name)
    full: dict[str, str]  # <prefix> -> tag-revision, for containers no tag variable can pin alone
    common_set: bool
    missing: list[str]  # deployed images the lock does not cover (why the common tag is not set)
    covered: list[Container]


def plan(table: EraTable, pins: dict[str, Pin], not_built_key: str = "") -> Plan:
    """The tag variables that pin every locked container, coarsest level first.

    A variable is set only when every container below it that can be deployed for the
    channel's distro/arch (not in ``not-built``) is in the lock, and ``openstack_release``
    only where it is the common tag (later it also names source branches, e.g.
    ``kolla_source_version: "stable/{{ openstack_release }}"``); its value is the
    tag-revision most of those containers need (ties: the inherited value, then the
    highest revision). A finer variable is set where it differs. A container whose
    own tag variable cannot be set alone gets ``<prefix>_image_full``.
    """
    skip = table.not_built.get(not_built_key, frozenset())
    deployable = [c for c in table.containers if c.image not in skip or c.image in pins]
    chains = {c.prefix: table.chain(c) for c in deployable}
    governed: dict[str, list[Container]] = {}
    for c in deployable:
        for var in chains[c.prefix]:
            governed.setdefault(var, []).append(c)
    children: dict[str, set[str]] = {}
    for var in governed:
        parent = table.tags.get(var)
        if parent is not None and parent in governed:
            children.setdefault(parent, set()).add(var)
    roots = sorted(v for v in governed if table.tags.get(v) not in governed)
    values: dict[str, str] = {}

    def choose(var: str, inherited: str | None) -> None:
        under = governed[var]
        effective = None
        if var == "openstack_release" != table.common:
            pass  # below openstack_tag it also names source branches (Train's opendaylight_tag reads it)
        elif all(c.image in pins for c in under):
            counts = Counter(pins[c.image].tag for c in under)
            revisions = {pins[c.image].tag: pins[c.image].revision for c in under}
            top = max(counts.values())
            best = max((t for t in counts if counts[t] == top), key=lambda t: (t == inherited, revisions[t], t))
            if best != inherited:
                values[var] = best
            effective = best
        for child in sorted(children.get(var, ())):
            choose(child, effective)

    for root in roots:
        choose(root, None)
    covered = [c for c in deployable if c.image in pins]
    full = {}
    for c in covered:
        got = next((values[v] for v in chains[c.prefix] if v in values), None)
        if got != pins[c.image].tag:
            full[c.prefix] = pins[c.image].tag
    missing = sorted({c.image for c in deployable if c.image not in pins})
    ordered = {k: values[k] for k in sorted(values, key=lambda k: (table.depth(k), k))}
    return Plan(ordered, full, table.common in values, missing, covered)
