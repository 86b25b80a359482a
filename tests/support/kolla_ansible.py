"""What a real kolla-ansible release does with a vars file: a small resolver of its defaults.

Reads ``ansible/group_vars`` and ``ansible/roles/*/defaults/main.yml`` straight from
the kolla-ansible sdist (tests/fixtures/kolla/sdists), overlays the variables an
export wrote (extra vars: the highest precedence, as ``-e @globals.yml``), and
renders a variable the way Ansible does: a string with ``{{ ... }}`` is a Jinja2
template over the other variables, resolved recursively. So ``nova_api_image_full``
follows ``nova_api_tag -> nova_tag -> openstack_tag -> openstack_release`` as far as
the vars file lets it. Independent of docker_kolla's own tables.

Some releases read what the deploy host reports into their tag defaults (Train's
``openstack_tag_suffix`` reads ``ansible_distribution_major_version``, Victoria's
the base64 content of ``/etc/centos-release`` that a task registers as
``kolla_centos_release``): :data:`HOST_FACTS` stands for such a host, between the
defaults and the extra vars as Ansible ranks them, and ``b64decode`` is Ansible's filter.
"""

from __future__ import annotations

import base64
import functools
import re
import tarfile
from pathlib import Path

import jinja2
import jinja2.meta
import yaml

SDISTS = Path(__file__).resolve().parents[1] / "fixtures" / "kolla" / "sdists"
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined)
_ENV.filters["b64decode"] = lambda text: base64.b64decode(str(text)).decode()

# A CentOS Stream 8 deploy host: the facts and registered results tag defaults read.
HOST_FACTS = {
    "ansible_distribution_major_version": "8",
    "ansible_facts": {"distribution_major_version": "8"},
    "kolla_centos_release": {"content": base64.b64encode(b"CentOS Stream release 8\n").decode()},
}


def sdist(project: str, version: str) -> Path:
    found = [p for p in SDISTS.glob("*.tar.gz") if p.name.lower().replace("_", "-") == f"{project}-{version}.tar.gz"]
    assert found, f"no {project} {version} sdist under {SDISTS}"
    return found[0]


def read_members(path: Path, keep) -> dict[str, bytes]:
    out = {}
    with tarfile.open(path) as tar:
        for member in tar:
            inner = member.name.partition("/")[2]
            if member.isreg() and keep(inner):
                out[inner] = tar.extractfile(member).read()
    return out


def defaults(version: str) -> dict:
    """Role defaults overlaid by group_vars/all, as Ansible's precedence orders them."""
    return dict(_defaults(version))


@functools.cache
def _defaults(version: str) -> dict:
    files = read_members(
        sdist("kolla-ansible", version),
        lambda p: (
            p.startswith("ansible/group_vars/all") or re.fullmatch(r"ansible/roles/[^/]+/defaults/main\.ya?ml", p)
        ),
    )
    merged: dict = {}
    for path in sorted(files, key=lambda p: (not p.startswith("ansible/roles/"), p)):
        doc = yaml.safe_load(files[path])
        if isinstance(doc, dict):
            merged.update(doc)
    return merged


@functools.cache
def _compiled(text: str) -> tuple[jinja2.Template, frozenset[str]]:
    """A template and the variables it reads, compiled once per distinct text."""
    return _ENV.from_string(text), frozenset(jinja2.meta.find_undeclared_variables(_ENV.parse(text)))


class Resolver:
    def __init__(self, variables: dict, extra: dict):
        self.vars = {**variables, **HOST_FACTS, **extra}
        self.cache: dict = {}

    def value(self, name: str, stack: tuple = ()):
        if name in self.cache:
            return self.cache[name]
        if name in stack:
            raise ValueError(f"recursive variable {name}")
        result = self.render(self.vars[name], stack + (name,))
        self.cache[name] = result
        return result

    def render(self, value, stack: tuple = ()):
        if isinstance(value, dict):
            return {k: self.render(v, stack) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, stack) for v in value]
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return value
        template, names = _compiled(value)
        context = {n: self.value(n, stack) for n in names if n in self.vars}
        return template.render(context)


def image_fulls(version: str, extra: dict) -> dict[str, str]:
    """Every ``<prefix>_image_full`` of that release resolved with ``extra`` on top.

    A variable the resolver cannot render (an Ansible-only filter on a path no export
    touches) is left out; the caller checks that every locked image was found.
    """
    resolver = Resolver(defaults(version), extra)
    out = {}
    for name in sorted(resolver.vars):
        if name.endswith("_image_full"):
            try:
                out[name] = str(resolver.value(name))
            except (jinja2.TemplateError, KeyError, ValueError, TypeError):
                continue
    return out


def known_variables(version: str) -> set[str]:
    return set(defaults(version))


@functools.cache
def kolla_docker_images(version: str) -> dict[str, str]:
    """kolla's docker/ tree: image (its directory) -> the parent its Dockerfile.j2 names ('' for base)."""
    files = read_members(sdist("kolla", version), lambda p: p.startswith("docker/") and p.endswith("/Dockerfile.j2"))
    out = {}
    for path, data in files.items():
        parent = re.search(r"^FROM .*\}\}([\w-]+):\{\{ *tag *\}\}", data.decode(), re.MULTILINE)
        out[path.split("/")[-2]] = parent[1] if parent else ""
    return out


def kolla_unbuildable(version: str) -> dict[str, set[str]]:
    """UNBUILDABLE_IMAGES, read by executing the module's source on its own."""
    files = read_members(sdist("kolla", version), lambda p: p == "kolla/image/unbuildable.py")
    scope: dict = {}
    exec(compile(files["kolla/image/unbuildable.py"], "unbuildable.py", "exec"), scope)  # plain data module
    return {k: set(v) for k, v in scope["UNBUILDABLE_IMAGES"].items()}


def kolla_base_tag(version: str, distro: str) -> str:
    files = read_members(sdist("kolla", version), lambda p: p == "kolla/common/config.py")
    text = files["kolla/common/config.py"].decode()
    found = re.search(rf"'{distro}': {{'name': '[^']+', 'tag': '([^']+)'}}", text)
    return found[1] if found else ""


def deployed_images(version: str) -> set[str]:
    """The last path component of every resolved ``*_image`` with a matching ``*_image_full``, Kolla-style names."""
    resolver = Resolver(
        defaults(version),
        {"docker_registry": "r.test", "docker_namespace": "ns", "kolla_base_distro": "d", "kolla_install_type": "t"},
    )
    names = set()
    for name in resolver.vars:
        if name.endswith("_image_full") and name[: -len("_full")] in resolver.vars:
            try:
                image = str(resolver.value(name[: -len("_full")]))
            except (jinja2.TemplateError, KeyError, ValueError, TypeError):
                continue
            names.add(image.rsplit("/", 1)[-1].removeprefix("d-t-"))
    return names
