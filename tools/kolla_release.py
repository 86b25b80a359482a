"""Generate channel presets and kolla-ansible variable tables from real Kolla releases.

Reads the sdists of ``kolla`` and ``kolla-ansible`` (as published on PyPI, or the
trimmed copies under tests/fixtures/kolla/sdists, which hold the same paths) and
writes, deterministically:

- ``docker_kolla/presets/<release>.toml``: what that kolla release builds (its
  ``docker/`` tree, the parent of each image, the images it cannot build per
  distro/arch in ``kolla/image/unbuildable.py``), what that kolla-ansible release
  deploys, and the distro versions kolla-ansible names its tags after;
- ``docker_kolla/kolla_ansible/<release>.toml``: kolla-ansible's own image ->
  variable table for that release: every container's ``<prefix>_image_full``, the
  image its ``<prefix>_image`` names, the tag variable it reads, and the default of
  every ``*_tag`` variable (the chain up to ``openstack_tag`` / ``openstack_release``).

Usage:
  python tools/kolla_release.py fetch RELEASE      # pip download both sdists, trim them into tests/fixtures
  python tools/kolla_release.py preset RELEASE     # write docker_kolla/presets/RELEASE.toml from the fixtures
  python tools/kolla_release.py table RELEASE      # write docker_kolla/kolla_ansible/RELEASE.toml
  python tools/kolla_release.py all                # every preset and table of RELEASES
  Add --stdout to print instead of writing (the tests compare those bytes).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SDISTS = ROOT / "tests" / "fixtures" / "kolla" / "sdists"

# release -> (kolla version, kolla-ansible version, whether to write a preset). The
# pinned versions are the newest of each series when the fixtures were made.
RELEASES = {
    "ocata": ("4.0.5", "4.0.5", False),  # the Ocata preset comes from tools/make_preset.py
    "pike": (None, "5.0.6", False),
    "queens": (None, "6.2.3", False),
    "rocky": (None, "7.2.1", False),
    "stein": (None, "8.3.0", False),
    "train": (None, "9.3.2", False),
    "ussuri": (None, "10.4.0", False),
    "victoria": (None, "11.4.0", False),
    "wallaby": (None, "12.8.0", False),
    "xena": (None, "13.9.0", False),
    "yoga": (None, "14.11.0", False),
    "zed": (None, "15.6.0", False),
    "2023.1": (None, "16.7.0", False),
    "2023.2": (None, "17.9.0", False),
    "2024.1": ("18.8.0", "18.8.0", True),
    "2024.2": ("19.8.0", "19.8.0", True),
    "2025.1": ("20.6.0", "20.6.0", True),
    "2025.2": ("21.3.0", "21.3.0", True),
    "2026.1": ("22.2.0", "22.2.0", True),
}
ARCHES = ("x86_64", "aarch64")


# --- reading the sdists -----------------------------------------------------------


def sdist_path(project: str, version: str) -> Path:
    """The fixture sdist, under the file name PyPI gave it (``kolla-ansible-`` or ``kolla_ansible-``)."""
    for spelling in (project, project.replace("-", "_"), project.replace("_", "-")):
        path = SDISTS / f"{spelling}-{version}.tar.gz"
        if path.exists():
            return path
    raise SystemExit(f"no {project} {version} sdist in {SDISTS}: run `python tools/kolla_release.py fetch RELEASE`")


def members(path: Path, wanted) -> dict[str, bytes]:
    """Files of the sdist whose path below the top directory satisfies ``wanted``."""
    out = {}
    with tarfile.open(path) as tar:
        for member in tar:
            if not member.isreg():
                continue
            _, _, inner = member.name.partition("/")
            if wanted(inner):
                out[inner] = tar.extractfile(member).read()
    return out


def _kolla_wanted(inner: str) -> bool:
    return inner in ("PKG-INFO", "kolla/common/config.py", "kolla/image/unbuildable.py") or (
        inner.startswith("docker/") and inner.endswith("/Dockerfile.j2")
    )


def _ansible_wanted(inner: str) -> bool:
    if inner == "PKG-INFO":
        return True
    if inner.startswith("ansible/group_vars/") and inner.endswith((".yml", ".yaml")):
        return True
    return bool(re.fullmatch(r"ansible/roles/[^/]+/defaults/main\.ya?ml", inner))


_FROM = re.compile(r"^FROM\s+.*\}\}(?P<parent>[a-z0-9][a-z0-9-]*):\{\{\s*tag\s*\}\}", re.MULTILINE)


def kolla_images(files: dict[str, bytes]) -> dict[str, str | None]:
    """Image name (its directory in docker/) -> its parent image, None for ``base``."""
    images = {}
    for path, data in files.items():
        if not path.startswith("docker/"):
            continue
        name = path.split("/")[-2]
        found = _FROM.search(data.decode("utf-8", "replace"))
        images[name] = found["parent"] if found else None
    return dict(sorted(images.items()))


def _assigned(source: str, name: str):
    """The literal value assigned to ``name`` at module level of a Python source."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def kolla_unbuildable(files: dict[str, bytes]) -> dict[str, set[str]]:
    """kolla's UNBUILDABLE_IMAGES: key (``distro``, ``arch`` or ``distro+arch``) -> images."""
    source = files.get("kolla/image/unbuildable.py")
    if source is None:
        return {}
    return {key: set(value) for key, value in (_assigned(source.decode(), "UNBUILDABLE_IMAGES") or {}).items()}


def kolla_distros(files: dict[str, bytes]) -> tuple[list[str], str, dict[str, str]]:
    """(BASE_OS_DISTRO, the default ``--base``, distro -> default base tag) from kolla/common/config.py."""
    source = files["kolla/common/config.py"].decode()
    default = re.search(r"StrOpt\('base',[^)]*?default='([a-z]+)'", source, re.DOTALL)
    tags = _assigned(source, "DEFAULT_BASE_TAGS") or {}
    return list(_assigned(source, "BASE_OS_DISTRO")), default[1], {d: str(t["tag"]) for d, t in tags.items()}


def built(
    images: dict[str, str | None], unbuildable: dict[str, set[str]], distro: str, arch: str, base_tag: str = ""
) -> set[str]:
    """What kolla builds for distro/arch/base tag: an unbuildable image takes its descendants with it.

    A key of UNBUILDABLE_IMAGES applies when each of its ``+``-separated parts is the
    distro, the arch or the base tag (kolla's KollaWorker.filter_images).
    """
    skip = set()
    for key, names in unbuildable.items():
        if set(key.split("+")) <= {distro, arch, base_tag}:
            skip |= names

    def ok(name: str) -> bool:
        seen = set()
        while name is not None and name not in seen:
            if name in skip:
                return False
            seen.add(name)
            name = images.get(name)
        return True

    return {name for name in images if ok(name)}


def ansible_vars(files: dict[str, bytes]) -> dict[str, object]:
    """Role defaults overlaid by group_vars (Ansible's precedence), one flat mapping."""
    merged: dict[str, object] = {}
    roles = sorted(p for p in files if p.startswith("ansible/roles/"))
    groups = sorted(p for p in files if p.startswith("ansible/group_vars/all"))
    for path in roles + groups:
        try:
            doc = yaml.safe_load(files[path])
        except yaml.YAMLError as exc:
            raise SystemExit(f"{path}: not YAML: {exc}") from exc
        if isinstance(doc, dict):
            merged.update(doc)
    return merged


_FULL = re.compile(r"^\{\{\s*(\w+)\s*\}\}:\{\{\s*(\w+)\s*\}\}$")
_ONE_VAR = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")
# The literal image name after the last template; an optional ``{{ <x>_suffix }}``
# after it (proxysql's ``proxysql_version_suffix``, '' unless the operator picks
# another major version) is left at its default.
_TRAILING_NAME = re.compile(r"\}\}[/-]?([a-z0-9][a-z0-9-]*)(\{\{\s*\w+_suffix\s*\}\})?$")


def image_name(variables: dict[str, object], var: str) -> str | None:
    """The image a ``*_image`` variable names: its literal tail, following ``{{ other_image }}``."""
    seen = set()
    while var not in seen:
        seen.add(var)
        value = variables.get(var)
        if not isinstance(value, str):
            return None
        alias = _ONE_VAR.match(value.strip())
        if alias:
            var = alias[1]
            continue
        tail = _TRAILING_NAME.search(value.strip())
        return tail[1] if tail else None
    return None


def containers(variables: dict[str, object]) -> dict[str, tuple[str, str]]:
    """``<prefix>`` -> (image, tag variable) for every ``<prefix>_image_full``."""
    out = {}
    for key, value in variables.items():
        if not key.endswith("_image_full") or not isinstance(value, str):
            continue
        found = _FULL.match(value.strip())
        if not found:
            continue
        image = image_name(variables, found[1])
        if image:
            out[key[: -len("_image_full")]] = (image, found[2])
    return dict(sorted(out.items()))


def tag_parents(variables: dict[str, object], used: set[str]) -> dict[str, str]:
    """Every tag variable on a container's chain -> the one variable its default reads."""
    out = {}
    todo = sorted(used)
    while todo:
        var = todo.pop()
        value = variables.get(var)
        alias = _ONE_VAR.match(value.strip()) if isinstance(value, str) else None
        if alias and var not in out:
            out[var] = alias[1]
            todo.append(alias[1])
    return dict(sorted(out.items()))


def distro_versions(variables: dict[str, object]) -> dict[str, str]:
    found = variables.get("kolla_base_distro_version_default_map") or {}
    return {str(k): str(v) for k, v in sorted(found.items())} if isinstance(found, dict) else {}


def ocata_not_built() -> set[str]:
    """Deployed Ocata images never built as centos-binary (the fleet table's notes)."""
    rows = (ROOT / "tests" / "fixtures" / "kolla" / "ocata-images.tsv").read_text().splitlines()
    head = rows[0].split("\t")
    table = [dict(zip(head, row.split("\t"))) for row in rows[1:] if row]
    return {
        r["image"] for r in table if r["kolla_ansible_ocata_var"] != "—" and "no centos-binary" in (r["notes"] or "")
    }


# --- writing ---------------------------------------------------------------------------


def _toml_list(key: str, values) -> str:
    values = sorted(values)
    if not values:
        return f"{key} = []\n"
    return f"{key} = [\n" + "".join(f'    "{v}",\n' for v in values) + "]\n"


def _header(release: str, what: str, sources: str) -> str:
    return (
        f"# {what} for OpenStack {release}, generated from {sources}.\n"
        f"# Regenerate: python tools/kolla_release.py {'preset' if 'preset' in what else 'table'} {release}\n"
        "# Do not edit by hand.\n\n"
    )


class Release:
    """Both sdists of one release, read once."""

    def __init__(self, release: str):
        self.release = release
        self.kolla_version, self.ansible_version, self.has_preset = RELEASES[release]
        files = members(sdist_path("kolla-ansible", self.ansible_version), _ansible_wanted)
        self.variables = ansible_vars(files)
        self.containers = containers(self.variables)
        self.deployed = {image for image, _tag in self.containers.values()}
        self.versions = distro_versions(self.variables)
        if self.kolla_version:
            kfiles = members(sdist_path("kolla", self.kolla_version), _kolla_wanted)
            self.images = kolla_images(kfiles)
            self.unbuildable = kolla_unbuildable(kfiles)
            self.kolla_distros, self.default_distro, self.base_tags = kolla_distros(kfiles)
        else:
            self.images, self.unbuildable, self.kolla_distros, self.default_distro = {}, {}, [], ""
            self.base_tags = {}

    @property
    def distros(self) -> list[str]:
        """Distros kolla builds and kolla-ansible names a tag version for."""
        return [d for d in sorted(self.kolla_distros) if d in self.versions]

    def not_built(self, among: set[str]) -> dict[str, set[str]]:
        """``distro`` / ``distro+aarch64`` -> the images of ``among`` kolla does not build there."""
        if self.release == "ocata":  # Ocata had no unbuildable list; the fleet table says it
            return {"centos": ocata_not_built() & among}
        out = {}
        for distro in self.distros:
            for arch in ARCHES:
                key = distro if arch == "x86_64" else f"{distro}+{arch}"
                made = built(self.images, self.unbuildable, distro, arch, self.base_tags.get(distro, ""))
                out[key] = among - made
        return out

    def common_root(self) -> str:
        """The top of the tag chain an export may set: openstack_tag where it exists."""
        return "openstack_tag" if "openstack_tag" in self.variables else "openstack_release"

    def table_text(self) -> str:
        used = {tag for _image, tag in self.containers.values()}
        parents = tag_parents(self.variables, used)
        sources = f"kolla-ansible {self.ansible_version}" + (
            f" and kolla {self.kolla_version}" if self.kolla_version else ""
        )
        out = [_header(self.release, "kolla-ansible image variables", sources)]
        exceptions = sorted(p for p, (image, _t) in self.containers.items() if p != image.replace("-", "_"))
        out.append(f"# {len(self.containers)} containers (<prefix>_image_full) over {len(self.deployed)} images;\n")
        out.append(f"# {len(exceptions)} whose prefix is not the image name: {', '.join(exceptions)}\n\n")
        out.append(f'release = "{self.release}"\nkolla-ansible = "{self.ansible_version}"\n')
        out.append(f'common = "{self.common_root()}"\n\n')
        out.append("# <prefix> = [image, tag variable its <prefix>_image_full reads]\n[containers]\n")
        out.extend(f'{prefix} = ["{image}", "{tag}"]\n' for prefix, (image, tag) in self.containers.items())
        out.append("\n# tag variable = the variable its default reads\n[tags]\n")
        out.extend(f'{var} = "{parent}"\n' for var, parent in parents.items())
        if self.kolla_version:
            out.append(
                f"\n# deployed images kolla {self.kolla_version} does not build, per distro[+arch]\n[not-built]\n"
            )
            for key, names in sorted(self.not_built(self.deployed).items()):
                out.append(_toml_list(f'"{key}"', names))
        return "".join(out)

    def preset_text(self) -> str:
        everything = set(self.images)
        parents = {p for p in self.images.values() if p}
        out = [
            _header(
                self.release, "Channel preset", f"kolla {self.kolla_version} and kolla-ansible {self.ansible_version}"
            )
        ]
        out.append(f"# kolla builds {len(everything)} images ({len(parents)} of them parents of others);\n")
        out.append(
            f"# kolla-ansible deploys {len(self.deployed)} images ({len(self.deployed & everything)} of them built by kolla).\n"
        )
        out.append(
            "# `docker kolla init --preset RELEASE --distro D [--arch aarch64]` turns this into channels.toml.\n\n"
        )
        out.append(
            f'release = "{self.release}"\nkolla = "{self.kolla_version}"\nkolla-ansible = "{self.ansible_version}"\n'
            f'default-distro = "{self.default_distro}"\n\n'
        )
        out.append("# distro -> the version kolla-ansible puts in its tags (kolla_base_distro_version_default_map)\n")
        out.append("[distros]\n" + "".join(f'{d} = "{self.versions[d]}"\n' for d in self.distros) + "\n")
        out.append("# every image in kolla's docker/ tree -> its parent image\n[images]\n")
        out.extend(f'{name} = "{parent or ""}"\n' for name, parent in self.images.items())
        out.append("\n[deployed]\n# the images kolla-ansible's <prefix>_image_full variables name\n")
        out.append(_toml_list("images", self.deployed))
        out.append(
            "\n# per distro[+aarch64]: the images kolla does not build there (its UNBUILDABLE_IMAGES\n"
            "# for that distro, arch and base tag, with every descendant of such an image)\n[not-built]\n"
        )
        for key, names in sorted(self.not_built(set(self.images)).items()):
            out.append(_toml_list(f'"{key}"', names))
        return "".join(out)


# --- fetching the real releases -----------------------------------------------------


def trim(source: Path, target: Path, wanted) -> None:
    """Copy the members ``wanted`` keeps (and their directories) into a deterministic tar.gz."""
    with tarfile.open(source) as tar:
        kept = [m for m in tar if m.isreg() and wanted(m.name.partition("/")[2])]
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out:
            for member in sorted(kept, key=lambda m: m.name):
                info = tarfile.TarInfo(member.name)
                info.size, info.mtime, info.mode = member.size, member.mtime, 0o644
                out.addfile(info, tar.extractfile(member))
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())


def fetch(release: str) -> None:
    kolla_version, ansible_version, _ = RELEASES[release]
    wanted = [("kolla-ansible", ansible_version, _ansible_wanted)]
    if kolla_version:
        wanted.append(("kolla", kolla_version, _kolla_wanted))
    with tempfile.TemporaryDirectory() as tmp:
        for project, version, keep in wanted:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "-d",
                    tmp,
                    f"{project}=={version}",
                ],
                check=True,
            )
            (found,) = [
                p for p in Path(tmp).iterdir() if p.name.lower().replace("_", "-").startswith(f"{project}-{version}")
            ]
            trim(found, SDISTS / found.name, keep)
            found.unlink()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["fetch", "preset", "table", "all"])
    parser.add_argument("release", nargs="?")
    parser.add_argument("--stdout", action="store_true")
    args = parser.parse_args(argv)
    if args.action != "all" and args.release not in RELEASES:
        parser.error(f"release must be one of {', '.join(RELEASES)}")
    if args.action == "fetch":
        fetch(args.release)
        return
    jobs = []
    for release in RELEASES if args.action == "all" else [args.release]:
        data = Release(release)
        if args.action in ("table", "all"):
            jobs.append((ROOT / "docker_kolla" / "kolla_ansible" / f"{release}.toml", data.table_text))
        if args.action in ("preset", "all") and data.has_preset:
            jobs.append((ROOT / "docker_kolla" / "presets" / f"{release}.toml", data.preset_text))
        elif args.action == "preset":
            parser.error(f"{release} has no generated preset")
    for path, render in jobs:
        text = render()
        if args.stdout:
            sys.stdout.write(text)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


if __name__ == "__main__":
    main()
