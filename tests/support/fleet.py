"""A Kolla-like image fleet pushed into a test registry.

Images are ``<namespace>/<distro>-<type>-<image>:<tag>`` built from shared layers:
a base (dpkg status), openstack-base (Python libraries), ``<project>-base`` (the
service's dist-info) and a small per-image layer. Infrastructure images (mariadb,
rabbitmq, ...) carry a full dpkg status with their extra packages instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Sequence

from tests.support import kolla_data as kd
from tests.support.content import SITE_PACKAGES, dist_info, dpkg_status, egg_info
from tests.support.layers import Layer, build_layer
from tests.support.push import Client, Pushed, delete_manifest, head_digest, push_blob, push_image, push_index

BUSYBOX = "/bin/busybox"
BUSYBOX_APPLETS = ("sh", "sleep", "ls", "cat", "echo", "true", "env", "id", "ps")
ETC_FILES = {  # the engine resolves the config's User through /etc/passwd
    "/etc/passwd": b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "/etc/group": b"root:x:0:\nnogroup:x:65534:\n",
}


def busybox_files() -> tuple[dict[str, tuple[bytes, int]], dict[str, str]]:
    """Files and symlinks of a runnable busybox root (Debian's busybox-static)."""
    with open(BUSYBOX, "rb") as fh:
        data = fh.read()
    return {"/bin/busybox": (data, 0o755), **ETC_FILES}, {f"/bin/{a}": "busybox" for a in BUSYBOX_APPLETS}


def busybox_layer(compression: str = "gzip") -> Layer:
    """A layer with /bin/busybox and /bin/sh etc., so ``docker run IMAGE sleep 60`` works."""
    files, links = busybox_files()
    return build_layer(files, symlinks=links, dirs=["/tmp", "/etc"], compression=compression)


def padding(seed: str, size: int) -> bytes:
    """``size`` incompressible but deterministic bytes (a sha256 chain)."""
    out, block = bytearray(), seed.encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


@dataclass
class ImageState:
    """What one image currently is; ``rebuild`` edits it and pushes again."""

    python: dict[str, str] = field(default_factory=dict)  # overrides of python versions
    debs: dict[str, str] = field(default_factory=dict)  # overrides of deb versions
    build_date: str = kd.BUILD_DATE
    extra: int = 0  # number of extra non-package files


class KollaFleet:
    """Seeds and mutates Kolla-like images in one registry (anonymous, Basic or token)."""

    def __init__(
        self,
        host: str,
        *,
        namespace: str = "kolla",
        distro: str = "centos",
        type_: str = "binary",
        tag: str = "ocata",
        auth: tuple[str, str] | None = None,
        runnable: bool = False,
        oci: bool = False,
        layer_size: int = 0,
        python_meta: str = "dist-info",
        compression: str = "gzip",
        name_template: str = "{distro}-{type}-{image}",  # "{image}" for quay.io's openstack.kolla naming
    ) -> None:
        self.name_template = name_template
        self.host, self.namespace, self.distro, self.type, self.tag = host, namespace, distro, type_, tag
        self.runnable, self.oci, self.layer_size, self.compression = runnable, oci, layer_size, compression
        self.python_meta = python_meta
        self.client = Client(host, auth)
        self.state: dict[str, ImageState] = {}
        self.pushed: dict[str, Pushed] = {}
        self.children: dict[str, dict[str, Pushed]] = {}
        self._layers: dict[tuple, Layer] = {}
        self._blob_home: dict[str, str] = {}  # digest -> first repo holding it (for mounts)
        self._present: set[tuple[str, str]] = set()  # (repo, digest) pushed by this fleet

    # -- names ---------------------------------------------------------------
    def name(self, image: str) -> str:
        return self.name_template.format(distro=self.distro, type=self.type, image=image)

    def repo(self, image: str) -> str:
        return f"{self.namespace}/{self.name(image)}"

    def image_ref(self, image: str, tag: str | None = None) -> str:
        """``HOST/NAMESPACE/DISTRO-TYPE-IMAGE:TAG``."""
        return f"{self.host}/{self.repo(image)}:{tag or self.tag}"

    def digest_ref(self, image: str) -> str:
        """``HOST/REPO@DIGEST`` of what this fleet last pushed for ``image``."""
        return f"{self.host}/{self.repo(image)}@{self.pushed[image].digest}"

    # -- expected facts --------------------------------------------------------
    def debs(self, image: str) -> dict[str, str]:
        """The installed Debian packages of the image's final filesystem."""
        infra = kd.infra_of(image)
        return {**kd.BASE_DEBS, **(kd.INFRA_DEBS[infra] if infra else {}), **self._state(image).debs}

    def python(self, image: str) -> dict[str, str]:
        """Python distributions (original spelling) in the final filesystem."""
        project, st = kd.project_of(image), self._state(image)
        if project is None and kd.infra_of(image) != "kolla-toolbox":
            return {}
        found = dict(kd.OPENSTACK_BASE_PY)
        if project:
            found[project] = kd.PROJECT_VERSIONS[project]
        return {**found, **{k: v for k, v in st.python.items() if k in found}}

    def labels(self, image: str) -> dict[str, str]:
        return {
            "kolla_version": kd.KOLLA_VERSION,
            "build-date": self._state(image).build_date,
            "name": self.name(image),
            "maintainer": "Kolla Project (https://launchpad.net/kolla)",
        }

    def expected_manifesto(self, image: str) -> dict[str, str]:
        """Manifesto facts a correct scanner reports (deb:, python: normalised, label:)."""
        facts = {f"deb:{k}": v for k, v in self.debs(image).items()}
        facts.update({f"python:{kd.normalise_python(k)}": v for k, v in self.python(image).items()})
        facts["label:kolla_version"] = kd.KOLLA_VERSION
        return facts

    # -- layers ------------------------------------------------------------------
    def _state(self, image: str) -> ImageState:
        return self.state.setdefault(image, ImageState())

    def _layer(self, key: tuple, files: dict, **kw) -> Layer:
        if key not in self._layers:
            self._layers[key] = build_layer(files, compression=self.compression, **kw)
        return self._layers[key]

    def _base_layer(self, image: str, arch: str) -> Layer:
        base_overrides = {k: v for k, v in self._state(image).debs.items() if k in kd.BASE_DEBS}
        debs = {**kd.BASE_DEBS, **base_overrides}
        files: dict = {
            "/var/lib/dpkg/status": dpkg_status(debs, arch=arch),
            "/etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 9 (stretch)"\nID=debian\nVERSION_ID="9"\n',
            "/etc/debian_version": b"9.3\n",
            "/etc/motd": b"Kolla test base\n",
            **ETC_FILES,
        }
        links: dict = {}
        if self.runnable:
            bb_files, links = busybox_files()
            files.update(bb_files)
        return self._layer(
            ("base", arch, tuple(sorted(debs.items())), self.runnable), files, symlinks=links, dirs=["/tmp"]
        )

    def _py_files(self, name: str, version: str) -> dict[str, bytes]:
        make = dist_info if self.python_meta == "dist-info" else egg_info
        return make(SITE_PACKAGES, name, version)

    def _openstack_base_layer(self, image: str) -> Layer:
        versions = {k: self.python(image)[k] for k in kd.OPENSTACK_BASE_PY}
        files: dict = {}
        for name, version in sorted(versions.items()):
            files.update(self._py_files(name, version))
        return self._layer(
            ("openstack-base", tuple(sorted(versions.items())), self.python_meta), files, whiteouts=["/etc/motd"]
        )

    def _project_layer(self, image: str, project: str) -> Layer:
        version = self.python(image)[project]
        files = {**self._py_files(project, version), f"/etc/{project}/{project}.conf": b"[DEFAULT]\n"}
        return self._layer(("project", project, version, self.python_meta), files)

    def _image_layer(self, image: str) -> Layer:
        st, infra = self._state(image), kd.infra_of(image)
        files: dict = {
            "/usr/local/bin/kolla_start": (b'#!/bin/sh\nexec "$@"\n', 0o755),
            f"/etc/kolla/{image}/config.json": f'{{"command": "{image}"}}\n'.encode(),
        }
        if infra:
            files["/var/lib/dpkg/status"] = dpkg_status(self.debs(image))
        for i in range(st.extra):
            files[f"/etc/kolla/{image}/extra-{i}.txt"] = f"rebuild {i}\n".encode()
        if self.layer_size:
            files[f"/opt/kolla/{image}.bin"] = padding(image, self.layer_size)
        return build_layer(files, compression=self.compression)  # unique per image: no memo needed

    def layers(self, image: str, arch: str = "amd64") -> list[Layer]:
        """The image's layers, lowest first."""
        out = [self._base_layer(image, arch)]
        project = kd.project_of(image)
        if project or kd.infra_of(image) == "kolla-toolbox":
            out.append(self._openstack_base_layer(image))
        if project:
            out.append(self._project_layer(image, project))
        out.append(self._image_layer(image))
        return out

    # -- pushing -------------------------------------------------------------------
    def _push(self, image: str, tag: str | None, arch: str = "amd64") -> Pushed:
        repo = self.repo(image)
        layers = self.layers(image, arch)
        for layer in layers:
            if (repo, layer.digest) in self._present:
                continue
            push_blob(self.host, repo, layer.blob, auth=self.client, mount_from=self._blob_home.get(layer.digest))
            self._blob_home.setdefault(layer.digest, repo)
            self._present.add((repo, layer.digest))
        platform = ("linux", arch) if arch != "arm64" else ("linux", "arm64", "v8")
        return push_image(
            self.host,
            repo,
            tag,
            layers,
            self.labels(image),
            platform=platform,
            oci=self.oci,
            auth=self.client,
            layers_present=True,
        )

    def seed(self, images: Sequence[str]) -> dict[str, Pushed]:
        """Push each image (single-arch amd64) under the fleet tag."""
        for image in images:
            self.pushed[image] = self._push(image, self.tag)
        return {image: self.pushed[image] for image in images}

    def rebuild(
        self,
        image: str,
        *,
        versions: dict[str, str] | None = None,
        same_content_new_digest: bool = True,
        extra_file: bool = False,
    ) -> Pushed:
        """Push a new build of ``image`` under the same tag.

        ``versions`` changes package versions (``{"nova": "15.0.3"}`` for Python,
        ``{"deb:openssl": "1.1.0f-3+deb9u3"}`` for Debian): a real content change. Without
        it, ``same_content_new_digest`` bumps the build-date label (new digest, same
        packages) and ``extra_file`` adds a non-package file instead.
        """
        st = self._state(image)
        for key, version in (versions or {}).items():
            if key.startswith("deb:"):
                st.debs[key[4:]] = version
            else:
                st.python[key.removeprefix("python:")] = version
        if not versions and extra_file:
            st.extra += 1
        elif not versions and same_content_new_digest:
            day = dt.datetime.strptime(st.build_date, "%Y%m%d") + dt.timedelta(days=1)
            st.build_date = day.strftime("%Y%m%d")
        if image in self.children:
            return self.multiarch(image)
        return self.seed([image])[image]

    def multiarch(self, image: str, *, with_attestation: bool = True) -> Pushed:
        """Push amd64 and arm64 builds by digest and an OCI index (with attestations) on the tag."""
        kids = {"linux/amd64": self._push(image, None, "amd64"), "linux/arm64/v8": self._push(image, None, "arm64")}
        self.children[image] = kids
        index = push_index(
            self.host,
            self.repo(image),
            self.tag,
            list(kids.items()),
            oci=True,
            with_attestation=with_attestation,
            auth=self.client,
        )
        self.pushed[image] = index
        return index

    def tag_as(self, image: str, tag: str) -> Pushed:
        """Put the image's current manifest under another tag too (e.g. a release tag)."""
        pushed = self.pushed[image]
        from tests.support.push import put_manifest

        put_manifest(self.host, self.repo(image), tag, pushed.manifest_bytes, pushed.media_type, auth=self.client)
        return pushed

    def digest_of(self, image: str, tag: str | None = None) -> str:
        """The registry's digest for the tag, via HEAD with all four Accept types."""
        return head_digest(self.host, self.repo(image), tag or self.tag, auth=self.client)

    def delete(self, image: str, digest: str | None = None) -> None:
        """Delete the image's manifest (by default the currently pushed one); blobs stay."""
        delete_manifest(self.host, self.repo(image), digest or self.pushed[image].digest, auth=self.client)

    def generate(self, n: int) -> list[str]:
        """Seed ``n`` images sharing base layers (real Kolla names first, then synthetic ones)."""
        names = list(kd.KOLLA_IMAGES[:n])
        projects = sorted(kd.PROJECT_VERSIONS)
        i = 0
        while len(names) < n:
            project = projects[i % len(projects)]
            suffix = kd.SERVICE_SUFFIXES[(i // len(projects)) % len(kd.SERVICE_SUFFIXES)]
            candidate = f"{project}-{suffix}{i // (len(projects) * len(kd.SERVICE_SUFFIXES)) or ''}"
            if candidate not in names:
                names.append(candidate)
            i += 1
        self.seed(names)
        return names
