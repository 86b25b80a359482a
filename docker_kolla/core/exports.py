"""Render a lock as input for deployers. Pure: text in memory, no I/O.

kolla-ansible cannot deploy ``image@sha256:`` with the Docker engine (it splits
at the last ``:``; kolla.md 2.3), so its vars file carries tag-revisions: the
coarsest level that fits (``openstack_release`` for the most common
tag-revision) plus ``<service>_tag`` for the images that differ, with the Ocata
image-to-variable table (``kolla_vars``). Every other format pins
``repository@digest``: Kubernetes, helm and compose pull by digest.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace

from docker_kolla.core.kolla_vars import ocata_var_prefix
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.reference import Location
from docker_kolla.errors import UsageError

FORMATS = ("kolla-ansible", "kolla-k8s", "helm", "compose", "list", "json")
_REGISTRY_HINT = "pass --registry HOST[/NAMESPACE] to say where the images live for this deploy"


def render(lock: Lockfile, fmt: str, *, registry: str | None = None, source: str = "") -> str:
    """The lock in format ``fmt``; ``registry`` (``HOST[/NAMESPACE]``) rewrites where images live.

    ``source`` (e.g. ``lock ocata@1a2b3c4``) goes into a header comment where the format allows.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    entries = [relocate(lock.images[name], registry) for name in sorted(lock.images)]
    renderer = {
        "kolla-ansible": _kolla_ansible,
        "kolla-k8s": _kolla_k8s,
        "helm": _helm,
        "compose": _compose,
        "list": _list,
        "json": _json,
    }[fmt]
    return renderer(lock, entries, source)


def relocate(entry: LockEntry, registry: str | None) -> LockEntry:
    """The entry with its repository moved to ``HOST`` (path kept) or ``HOST/NAMESPACE`` (last component kept)."""
    if not registry:
        return entry
    return replace(entry, repository=Location.parse(registry, "--registry").repository(entry.repository))


# --- kolla-ansible -------------------------------------------------------------------


def _kolla_ansible(lock: Lockfile, entries: list, source: str) -> str:
    deployed = [(e, ocata_var_prefix(e.name)) for e in entries]
    skipped = [e.name for e, var in deployed if var is None]
    deployed = [(e, var) for e, var in deployed if var is not None]
    if not deployed:
        raise UsageError(
            f"no image in lock {lock.channel!r} is deployed by kolla-ansible (Ocata variable table)",
            "use --format list or json for this channel",
        )
    registry, namespace, distro, kind = _common_location([e for e, _ in deployed])
    release = _most_common_tag([e for e, _ in deployed])
    values = {"docker_registry": registry, "docker_namespace": namespace}
    if distro:
        values.update(kolla_base_distro=distro, kolla_install_type=kind)
    values["openstack_release"] = release
    for entry, var in sorted(deployed, key=lambda p: p[1]):
        if entry.tag != release:
            values[f"{var}_tag"] = entry.tag
    lines = _comments(source, f"kolla-ansible (Ocata) variables for channel {lock.channel}")
    if skipped:
        lines.append(f"# not deployed by kolla-ansible, no variable: {', '.join(skipped)}")
    return "\n".join(lines + yaml_lines(values)) + "\n"


def _common_location(entries: list) -> tuple[str, str, str, str]:
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


def _most_common_tag(entries: list) -> str:
    """The tag-revision most images share; ties go to the highest revision, then the tag text."""
    counts = Counter(e.tag for e in entries)
    revisions = {e.tag: e.revision or 0 for e in entries}
    return max(counts, key=lambda tag: (counts[tag], revisions[tag], tag))


# --- digest-pinned formats -------------------------------------------------------


def _kolla_k8s(lock: Lockfile, entries: list, source: str) -> str:
    """kolla-kubernetes 0.6 values: ``global.kolla.<project>.<service>.all.image_full``."""
    tree: dict = {}
    for entry in entries:
        project, _, service = entry.name.partition("-")
        node = tree.setdefault(_key(project), {})
        if service:
            node = node.setdefault(_key(service), {})
        node.setdefault("all", {})["image_full"] = entry.pinned
    lines = _comments(source, f"kolla-kubernetes values pinning channel {lock.channel} by digest")
    return "\n".join(lines + yaml_lines({"global": {"kolla": tree}})) + "\n"


def _helm(lock: Lockfile, entries: list, source: str) -> str:
    """openstack-helm values: ``images.tags.<image_with_underscores>``."""
    tags = {_key(e.name): e.pinned for e in entries}
    lines = _comments(source, f"openstack-helm image values pinning channel {lock.channel} by digest")
    return "\n".join(lines + yaml_lines({"images": {"tags": tags}})) + "\n"


def _compose(lock: Lockfile, entries: list, source: str) -> str:
    services = {e.name: {"image": e.pinned, "labels": {"org.openstack.kolla.tag-revision": e.tag}} for e in entries}
    lines = _comments(source, f"compose services pinning channel {lock.channel} by digest")
    return "\n".join(lines + yaml_lines({"services": services})) + "\n"


def _list(lock: Lockfile, entries: list, source: str) -> str:
    return "".join(f"{e.pinned}\n" for e in entries)


def _json(lock: Lockfile, entries: list, source: str) -> str:
    doc = {
        "channel": lock.channel,
        "source": source,
        "images": [
            {
                "name": e.name,
                "repository": str(e.repository),
                "tag": e.tag,
                "revision": e.revision,
                "digest": str(e.digest),
                "media_type": e.media_type,
                "pinned": e.pinned,
                "tagged": e.tagged,
            }
            for e in entries
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _key(name: str) -> str:
    return name.replace("-", "_")


def _comments(source: str, title: str) -> list:
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


def yaml_lines(mapping: dict, indent: int = 0) -> list:
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


def yaml_key(key) -> str:
    text = str(key)
    if _PLAIN_KEY.match(text) and text.lower() not in _RESERVED:
        return text
    return yaml_scalar(text)


def yaml_scalar(value) -> str:
    """A YAML scalar; strings are double-quoted (JSON string syntax is valid YAML there)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=True)
