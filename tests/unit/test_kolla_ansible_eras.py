"""kolla-ansible exports per era, checked against the real kolla-ansible release of that era.

The vars an export writes go on top of that release's own group_vars and role
defaults (tests/support/kolla_ansible.py resolves them as Ansible would); every
container whose image is locked must then resolve to ``<repository>:<tag-revision>``
from the lock, and every container whose image is not locked must resolve to
exactly what it resolved to without the export.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from docker_kolla import releases
from docker_kolla.core.digest import Digest
from docker_kolla.core.exports import KollaAnsible, render
from docker_kolla.core.kolla_eras import release_of
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.core.manifest import Platform
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import UsageError
from tests.support import kolla_ansible as ka
from tests.unit.test_kolla_releases import VERSIONS

REVISIONS = {"nova-conductor": 10, "httpd": 4, "neutron-server": 5, "keystone": 6, "keystone-fernet": 6}
# The common tag is openstack_release up to Stein; Train (kolla-ansible 9) adds openstack_tag above it.
RELEASE_IS_COMMON = {"ocata", "pike", "queens", "rocky", "stein"}


def revision(image: str, revisions: dict | None = None) -> int:
    revisions = REVISIONS if revisions is None else revisions
    if image in revisions:
        return revisions[image]
    return 9 if image.startswith("nova-") else 7


def name_prefix(release: str) -> str:
    """``<distro>-<install type>-`` of that release's default image names (Ocata to Yoga), else ''."""
    own = ka.defaults(VERSIONS[release])
    kind = own.get("kolla_install_type")
    return f"{own['kolla_base_distro']}-{kind}-" if kind else ""


def repository(release: str, image: str) -> str:
    """Where that release pulls from by default: Docker Hub's kolla/ to Wallaby, quay.io's openstack.kolla/ since."""
    own = ka.defaults(VERSIONS[release])
    return f"{own['docker_registry'] or 'docker.io'}/{own['docker_namespace']}/{name_prefix(release)}{image}"


def dest(release: str) -> str:
    return "registry.example:4000/" + ("kolla" if name_prefix(release) else "openstack.kolla")


def base_tag(release: str) -> str:
    """What kolla tagged that release's images: ``train`` while names carried the distro, then ``zed-rocky-9``."""
    return release if name_prefix(release) else f"{release}-rocky-9"


def options(release: str) -> KollaAnsible:
    key = "centos" if release == "ocata" else "rocky"
    return KollaAnsible(releases.era_table(release), not_built_key=key)


def make_lock(release: str, images, revisions: dict | None = None) -> Lockfile:
    tag = base_tag(release)
    entries = {
        name: LockEntry(
            name=name,
            repository=ImageRef.parse_repository(repository(release, name)),
            tag=f"{tag}-{revision(name, revisions)}",
            revision=revision(name, revisions),
            digest=Digest.of(name.encode()),
            media_type="application/vnd.oci.image.manifest.v1+json",
            platform=Platform.parse("linux/amd64"),
        )
        for name in sorted(images)
    }
    return Lockfile(channel=release, images=entries)


def unbuilt(release: str) -> frozenset[str]:
    opts = options(release)
    return opts.table.not_built.get(opts.not_built_key, frozenset())


def deployable(release: str) -> set[str]:
    opts = options(release)
    return opts.table.images - opts.table.not_built.get(opts.not_built_key, frozenset())


def partial(release: str) -> set[str]:
    """Nova, keystone and httpd only: a lock of part of the fleet."""
    return {i for i in deployable(release) if i.startswith(("nova-", "keystone")) or i == "httpd"}


def check_against_kolla_ansible(release: str, lk: Lockfile, doc: dict) -> None:
    version = VERSIONS[release]
    known = ka.known_variables(version)
    assert set(doc) <= known, sorted(set(doc) - known)  # every variable is one that release reads
    before = ka.image_fulls(version, {})
    after = ka.image_fulls(version, doc)
    wanted = {f"{dest(release)}/{e.repository.path.rsplit('/', 1)[-1]}": e.tag for e in lk.images.values()}
    seen = set()
    for var, full in after.items():
        repo, _, tag = full.rpartition(":")
        if repo in wanted:
            assert tag == wanted[repo], (var, full)
            seen.add(repo)
        elif repo.rsplit("/", 1)[-1].removeprefix(name_prefix(release)) not in unbuilt(release):
            # a container the lock does not cover keeps kolla-ansible's own default tag (kolla does
            # not build the unbuilt ones for this distro at all, so nothing can be deployed there)
            assert full.rpartition(":")[2] == before[var].rpartition(":")[2], (var, full, before[var])
    assert seen == set(wanted)


@pytest.mark.parametrize("release", sorted(VERSIONS))
def test_full_lock_resolves_every_container_to_its_tag_revision(release):
    lk = make_lock(release, deployable(release))
    doc = yaml.safe_load(render(lk, "kolla-ansible", registry=dest(release), kolla_ansible=options(release)))
    check_against_kolla_ansible(release, lk, doc)
    table = options(release).table
    assert doc[table.common] == lk.images[sorted(lk.images)[0]].tag.rsplit("-", 1)[0] + "-7"
    if release == "ocata":
        assert "nova_tag" not in doc and "nova_api_tag" in doc  # no project level in Ocata
    else:
        assert doc["nova_tag"].endswith("-9")  # the whole nova project shares one tag-revision
        assert doc["nova_conductor_tag"].endswith("-10")
    # The common tag is the top of that release's own chain: openstack_tag wherever it is defined.
    assert ("openstack_tag" in ka.known_variables(VERSIONS[release])) == (release not in RELEASE_IS_COMMON)
    if release in RELEASE_IS_COMMON:
        assert table.common == "openstack_release"
    else:  # openstack_release also drives source checkouts: never touched
        assert table.common == "openstack_tag" and "openstack_release" not in doc
    if name_prefix(release):  # the names' distro and type are kolla-ansible variables of their own
        assert (doc["kolla_base_distro"], doc["kolla_install_type"]) == tuple(name_prefix(release).split("-")[:2])
    else:
        assert "kolla_base_distro" not in doc and "kolla_install_type" not in doc


@pytest.mark.parametrize("release", sorted(VERSIONS))
def test_partial_lock_moves_nothing_it_does_not_cover(release):
    lk = make_lock(release, partial(release))
    text = render(lk, "kolla-ansible", registry=dest(release), kolla_ansible=options(release))
    doc = yaml.safe_load(text)
    table = options(release).table
    assert table.common not in doc and "openstack_release" not in doc
    assert f"# {table.common} is not set: the lock does not cover" in text
    check_against_kolla_ansible(release, lk, doc)


@pytest.mark.parametrize("release", sorted(VERSIONS))
def test_full_flag_writes_image_full_lines_kolla_ansible_uses_as_they_are(release):
    lk = make_lock(release, partial(release))
    opts = replace(options(release), full=True)
    doc = yaml.safe_load(render(lk, "kolla-ansible", registry=dest(release), kolla_ansible=opts))
    assert doc and all(k.endswith("_image_full") for k in doc)
    check_against_kolla_ansible(release, lk, doc)


def test_2026_1_one_image_feeds_several_variables():
    lk = make_lock("2026.1", deployable("2026.1"))
    doc = yaml.safe_load(render(lk, "kolla-ansible", registry=dest("2026.1"), kolla_ansible=options("2026.1")))
    # nova-conductor runs as nova_conductor and nova_super_conductor, both pinned.
    assert doc["nova_conductor_tag"] == doc["nova_super_conductor_tag"] == "2026.1-rocky-9-10"
    # neutron-server feeds the rpc server and periodic workers through neutron_server_image.
    table = releases.era_table("2026.1")
    users = {c.prefix for c in table.containers if c.image == "neutron-server"}
    assert {"neutron_server", "neutron_rpc_server", "neutron_periodic_worker"} <= users
    # httpd serves keystone, ironic and letsencrypt: each under its own project's chain.
    assert {c.prefix for c in table.containers if c.image == "httpd"} >= {"keystone_httpd", "ironic_http"}
    check_against_kolla_ansible("2026.1", lk, doc)


@pytest.mark.parametrize(
    "text,release",
    [
        ("2025.1", "2025.1"),
        ("20.6.0", "2025.1"),
        ("20", "2025.1"),
        ("4.0.3", "ocata"),
        ("Ocata", "ocata"),
        ("6.2.3", "queens"),
        ("9.3.2", "train"),
        ("9", "train"),
        ("Train", "train"),
        ("14.11.0", "yoga"),
        ("zed", "zed"),
        ("16.1.0", "2023.1"),
        ("2023.1", "2023.1"),
    ],
)
def test_kolla_ansible_release_names_and_versions(text, release):
    assert release_of(text, releases.era_names()) == release


@pytest.mark.parametrize("text", ["1.0", "3.0.0", "23.0.0", "2026.2", "master", ""])
def test_unknown_or_unshipped_kolla_ansible_is_bad_input(text):
    with pytest.raises(UsageError) as err:
        release_of(text, releases.era_names())
    assert err.value.exit_code == 2


def test_the_readme_example_is_what_the_export_writes():
    lk = make_lock("2025.1", deployable("2025.1"), {"nova-conductor": 10})
    text = render(
        lk, "kolla-ansible", registry="registry.example:4000/openstack.kolla", kolla_ansible=options("2025.1")
    )
    assert text.splitlines()[2:] == [
        'docker_registry: "registry.example:4000"',
        'docker_namespace: "openstack.kolla"',
        'openstack_tag: "2025.1-rocky-9-7"',
        'nova_tag: "2025.1-rocky-9-9"',
        'nova_conductor_tag: "2025.1-rocky-9-10"',
        'nova_super_conductor_tag: "2025.1-rocky-9-10"',
    ]


def test_images_kolla_does_not_build_for_the_channel_do_not_block_the_common_tag():
    table = releases.era_table("2026.1")
    arm = KollaAnsible(table, not_built_key="debian+aarch64")
    assert "bifrost-deploy" in table.not_built["debian+aarch64"]
    lk = make_lock("2026.1", table.images - table.not_built["debian+aarch64"])
    assert "openstack_tag" in yaml.safe_load(render(lk, "kolla-ansible", kolla_ansible=arm))
    # On x86_64 debian builds bifrost-deploy, so the same lock is a partial one there.
    x86 = KollaAnsible(table, not_built_key="debian")
    text = render(lk, "kolla-ansible", kolla_ansible=x86)
    assert "openstack_tag" not in yaml.safe_load(text) and "(bifrost-deploy)" in text


def test_train_pins_opendaylight_without_openstack_release_which_names_source_branches():
    # kolla-ansible 9.3.2: opendaylight_tag reads openstack_release directly, and
    # kolla_source_version is "stable/{{ openstack_release }}"; openstack_tag is the common tag.
    assert ka.defaults(VERSIONS["train"])["opendaylight_tag"] == "{{ openstack_release }}"
    lk = make_lock("train", deployable("train"))
    doc = yaml.safe_load(render(lk, "kolla-ansible", registry=dest("train"), kolla_ansible=options("train")))
    assert "openstack_release" not in doc and doc["openstack_tag"] == doc["opendaylight_tag"] == "train-7"
