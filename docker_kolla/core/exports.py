"""Render a lock as input for deployers. Pure: text in memory, no I/O.

kolla-ansible cannot deploy ``image@sha256:`` with the Docker engine (its
container module splits a reference at the last ``:``), so its vars file carries
tag-revisions: the coarsest tag variables of that kolla-ansible release that fit
the lock (``core.kolla_eras``), or ``<prefix>_image_full`` lines with ``--full``. Every other format pins
``repository@digest``: Kubernetes, helm and compose pull by digest.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from docker_kolla.core.kolla_eras import EraTable, Pin, plan
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.reference import Location
from docker_kolla.errors import UsageError

FORMATS = ("kolla-ansible", "kolla-k8s", "helm", "compose", "list", "json")
_REGISTRY_HINT = "pass --registry HOST[/NAMESPACE] to say where the images live for this deploy"


@dataclass(frozen=True)
class KollaAnsible:
    """How to write kolla-ansible variables: for which release, for which distro[+aarch64]."""

    table: EraTable
    not_built_key: str = ""  # the channel's distro (+aarch64): which deployed images it cannot have
    full: bool = False  # <prefix>_image_full lines instead of tag variables


def render(
    lock: Lockfile,
    fmt: str,
    *,
    registry: str | None = None,
    source: str = "",
    kolla_ansible: KollaAnsible | None = None,
    rev: str = "",
    commit: str = "",
) -> str:
    """The lock in format ``fmt``; ``registry`` (``HOST[/NAMESPACE]``) rewrites where images live.

    ``source`` (e.g. ``lock ocata@1a2b3c4``) goes into a header comment where the format allows.
    ``kolla_ansible`` is required for that format.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    entries = [relocate(lock.images[name], registry) for name in sorted(lock.images)]
    if fmt == "kolla-ansible":
        if kolla_ansible is None:
            raise UsageError("no kolla-ansible release given for the export", "pass --kolla-ansible RELEASE")
        return _kolla_ansible(lock, entries, source, kolla_ansible)
    renderer = {
        "kolla-k8s": _kolla_k8s,
        "helm": _helm,
        "compose": _compose,
        "list": _list,
    }.get(fmt)
    if renderer is None:  # json: the one format with the lock revision as data (docs/json.md)
        return _json(lock, entries, source, {"rev": rev or None, "commit": commit or None})
    return renderer(lock, entries, source)


def relocate(entry: LockEntry, registry: str | None) -> LockEntry:
    """The entry with its repository moved to ``HOST`` (path kept) or ``HOST/NAMESPACE`` (last component kept)."""
    if not registry:
        return entry
    return replace(entry, repository=Location.parse(registry, "--registry").repository(entry.repository))


# --- kolla-ansible -------------------------------------------------------------------


def _kolla_ansible(lock: Lockfile, entries: list[LockEntry], source: str, options: KollaAnsible) -> str:
    table = options.table
    by_image = {e.name: e for e in entries}
    pins = {name: Pin(e.tag, e.revision or 0) for name, e in by_image.items()}
    deployed = table.images
    skipped = sorted(n for n in by_image if n not in deployed)
    if not any(n in deployed for n in by_image):
        raise UsageError(
            f"no image in lock {lock.channel!r} is deployed by kolla-ansible {table.release}",
            "use --format list or json for this channel, or pass --kolla-ansible RELEASE",
        )
    result = plan(table, {n: p for n, p in pins.items() if n in deployed}, options.not_built_key)
    lines = _comments(source, f"kolla-ansible {table.release} variables for channel {lock.channel}")
    if skipped:
        lines.append(f"# not deployed by kolla-ansible {table.release}, no variable: {', '.join(skipped)}")
    if options.full:
        values = {f"{c.prefix}_image_full": by_image[c.image].tagged for c in result.covered}
        return "\n".join(lines + yaml_lines(dict(sorted(values.items())))) + "\n"
    registry, namespace, distro, kind = _common_location([by_image[c.image] for c in result.covered])
    values = {"docker_registry": registry, "docker_namespace": namespace}
    if distro:
        values.update(kolla_base_distro=distro, kolla_install_type=kind)
    if not result.common_set:
        lines.append(_one_line(_partial_note(table, result.missing)))
    values.update({var: tag for var, tag in result.values.items()})
    values.update(
        {
            f"{prefix}_image_full": f"{by_image[_image_of(table, prefix)].repository}:{tag}"
            for prefix, tag in sorted(result.full.items())
        }
    )
    return "\n".join(lines + yaml_lines(values)) + "\n"


def _partial_note(table: EraTable, missing: list[str]) -> str:
    shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    return (
        f"# {table.common} is not set: the lock does not cover {len(missing)} image(s) kolla-ansible "
        f"{table.release} deploys ({shown}), which would get a tag-revision that does not exist; only the "
        "tag variables whose every container is locked are set"
    )


def _image_of(table: EraTable, prefix: str) -> str:
    return next(c.image for c in table.containers if c.prefix == prefix)


def _common_location(entries: list[LockEntry]) -> tuple[str, str, str, str]:
    """(registry, namespace, distro, install type) shared by every entry, or an error."""
    found = set()
    for entry in entries:
        host, path = entry.repository.registry, entry.repository.path
        namespace, _, base = path.rpartition("/")
        prefix = base[: -len(entry.name)].rstrip("-") if base.endswith(entry.name) else None
        distro, _, kind = (prefix or "").rpartition("-")
        found.add((host, namespace, distro if prefix else "", kind if prefix else ""))
    if len(found) != 1:
        raise UsageError(
            "kolla-ansible takes one docker_registry/docker_namespace/distro/type, "
            "but the lock's images live in several places",
            _REGISTRY_HINT,
        )
    return found.pop()


# --- digest-pinned formats -------------------------------------------------------


def _kolla_k8s(lock: Lockfile, entries: list[LockEntry], source: str) -> str:
    """kolla-kubernetes 0.6 values: ``global.kolla.<project>.<service>.all.image_full``."""
    tree: dict[str, Any] = {}
    for entry in entries:
        project, _, service = entry.name.partition("-")
        node = tree.setdefault(_key(project), {})
        if service:
            node = node.setdefault(_key(service), {})
        node.setdefault("all", {})["image_full"] = entry.pinned
    lines = _comments(source, f"kolla-kubernetes values pinning channel {lock.channel} by digest")
    return "\n".join(lines + yaml_lines({"global": {"kolla": tree}})) + "\n"


def _helm(lock: Lockfile, entries: list[LockEntry], source: str) -> str:
    """openstack-helm values: ``images.tags.<image_with_underscores>``."""
    tags = {_key(e.name): e.pinned for e in entries}
    lines = _comments(source, f"openstack-helm image values pinning channel {lock.channel} by digest")
    return "\n".join(lines + yaml_lines({"images": {"tags": tags}})) + "\n"


def _compose(lock: Lockfile, entries: list[LockEntry], source: str) -> str:
    services = {e.name: {"image": e.pinned, "labels": {"org.openstack.kolla.tag-revision": e.tag}} for e in entries}
    lines = _comments(source, f"compose services pinning channel {lock.channel} by digest")
    return "\n".join(lines + yaml_lines({"services": services})) + "\n"


def _list(lock: Lockfile, entries: list[LockEntry], source: str) -> str:
    return "".join(f"{e.pinned}\n" for e in entries)


def _json(lock: Lockfile, entries: list[LockEntry], source: str, revision: dict[str, object]) -> str:
    doc = {
        "schema": 1,
        "channel": lock.channel,
        "source": source,
        "lock": revision,
        "images": [
            {
                "name": e.name,
                "repository": str(e.repository),
                "tag": e.tag,
                "revision": e.revision,
                "digest": str(e.digest),
                "media-type": e.media_type,
                "pinned": e.pinned,
                "tagged": e.tagged,
            }
            for e in entries
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _key(name: str) -> str:
    return name.replace("-", "_")


def _comments(source: str, title: str) -> list[str]:
    lines = [f"# {title}", "# Generated by `docker kolla export`; regenerate rather than edit."]
    if source:
        lines.append(f"# from {source}")
    return [_one_line(line) for line in lines]


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


# --- a tiny YAML emitter: nested mappings of strings, every scalar double-quoted ----

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Plain words YAML 1.1 (PyYAML, ansible) would read as booleans or null.
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def yaml_lines(mapping: Mapping[str, object], indent: int = 0) -> list[str]:
    """Block-style YAML for a mapping whose leaves are strings (or ints/bools/None)."""
    lines = []
    pad = "  " * indent
    for key, value in mapping.items():
        if isinstance(value, dict):
            if not value:
                lines.append(f"{pad}{yaml_key(key)}: {{}}")
                continue
            lines.append(f"{pad}{yaml_key(key)}:")
            lines.extend(yaml_lines(value, indent + 1))
        else:
            lines.append(f"{pad}{yaml_key(key)}: {yaml_scalar(value)}")
    return lines


def yaml_key(key: object) -> str:
    text = str(key)
    if _PLAIN_KEY.match(text) and text.lower() not in _RESERVED:
        return text
    return yaml_scalar(text)


def yaml_scalar(value: object) -> str:
    """A YAML scalar; strings are double-quoted (JSON string syntax is valid YAML there)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=True)
