"""Exports of a lock: valid YAML/JSON, tag-revisions for kolla-ansible, digests for the rest."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml

from docker_kolla import releases
from docker_kolla.core.exports import FORMATS, KollaAnsible, render, yaml_lines
from docker_kolla.core.lockfile import LockEntry, Lockfile
from docker_kolla.errors import UsageError
from tests.support.entries import pinned

REG = "localhost:5000/kolla"


def entry(name: str, revision: int, repo: str = REG) -> LockEntry:
    return pinned(name, revision, repo=repo)


def lock(*entries: LockEntry) -> Lockfile:
    return Lockfile(channel="ocata", images={e.name: e for e in entries})


FLEET = lock(
    entry("nova-api", 5),
    entry("keystone", 3),
    entry("glance-api", 3),
    entry("nova-placement-api", 4),
    entry("dnsmasq", 3),
    entry("kuryr-libnetwork", 3),
    entry("openvswitch-db-server", 2),
    entry("nova-base", 3),
    entry("aodh-expirer", 3),
)


OCATA = KollaAnsible(releases.era_table("ocata"), not_built_key="centos")


def ka(lk: Lockfile, **kw) -> dict:
    return yaml.safe_load(render(lk, "kolla-ansible", kolla_ansible=OCATA, **kw))


def full_ocata(revision_of: dict) -> Lockfile:
    """Every image kolla-ansible 4.0.x deploys that Ocata built as centos-binary."""
    table = OCATA.table
    names = table.images - table.not_built["centos"]
    return lock(*(entry(n, revision_of.get(n, 3)) for n in sorted(names)))


def test_kolla_ansible_partial_lock_sets_no_global_tag_and_says_why():
    text = render(FLEET, "kolla-ansible", kolla_ansible=OCATA)
    doc = yaml.safe_load(text)
    assert "openstack_release" not in doc  # the 112 uncovered images have no ocata-N tag
    assert "# openstack_release is not set: the lock does not cover 112 image(s)" in text
    assert doc["docker_registry"] == "localhost:5000"
    assert doc["docker_namespace"] == "kolla"
    assert doc["kolla_base_distro"] == "centos" and doc["kolla_install_type"] == "binary"
    # Every covered deployed image is pinned by its own variable, with Ocata's exception names.
    assert {k: v for k, v in doc.items() if k.endswith("_tag")} == {
        "nova_api_tag": "ocata-5",
        "keystone_tag": "ocata-3",
        "glance_api_tag": "ocata-3",
        "placement_api_tag": "ocata-4",
        "ironic_dnsmasq_tag": "ocata-3",
        "kuryr_tag": "ocata-3",
        "openvswitch_db_tag": "ocata-2",
    }
    assert "not deployed by kolla-ansible ocata, no variable: aodh-expirer, nova-base" in text
    assert "sha256" not in text


def test_kolla_ansible_full_lock_uses_release_for_the_common_tag_and_service_tags_for_the_rest():
    doc = ka(full_ocata({"nova-api": 5, "nova-placement-api": 4, "openvswitch-db-server": 2}))
    assert doc["openstack_release"] == "ocata-3"
    assert {k: v for k, v in doc.items() if k.endswith("_tag")} == {
        "nova_api_tag": "ocata-5",
        "placement_api_tag": "ocata-4",
        "openvswitch_db_tag": "ocata-2",
    }


def test_kolla_ansible_all_same_tag_needs_only_openstack_release():
    doc = ka(full_ocata({}))
    assert doc["openstack_release"] == "ocata-3"
    assert not [k for k in doc if k.endswith("_tag")]


def test_kolla_ansible_full_writes_one_image_full_per_container():
    doc = yaml.safe_load(render(FLEET, "kolla-ansible", kolla_ansible=replace(OCATA, full=True)))
    assert doc["placement_api_image_full"] == f"{REG}/centos-binary-nova-placement-api:ocata-4"
    assert doc["nova_api_image_full"] == f"{REG}/centos-binary-nova-api:ocata-5"
    assert len(doc) == 7 and all(k.endswith("_image_full") for k in doc)


def test_kolla_ansible_refuses_mixed_registries_unless_relocated():
    mixed = lock(entry("nova-api", 2), entry("keystone", 2, repo="other.example/kolla"))
    with pytest.raises(UsageError):
        ka(mixed)
    doc = ka(mixed, registry="registry.example:4000/mirror")
    assert doc["docker_registry"] == "registry.example:4000"
    assert doc["docker_namespace"] == "mirror"


def test_kolla_ansible_needs_a_release():
    with pytest.raises(UsageError):
        render(FLEET, "kolla-ansible")


@pytest.mark.parametrize("fmt", ["kolla-k8s", "helm", "compose"])
def test_yaml_formats_parse_and_pin_every_image_by_digest(fmt):
    text = render(FLEET, fmt, source="lock ocata@1234567")
    doc = yaml.safe_load(text)
    pinned = set(_strings(doc))
    expected = {e.pinned for e in FLEET.images.values()}
    assert expected <= pinned


def test_helm_and_k8s_keys():
    helm = yaml.safe_load(render(FLEET, "helm"))
    assert helm["images"]["tags"]["nova_api"] == FLEET.images["nova-api"].pinned
    k8s = yaml.safe_load(render(FLEET, "kolla-k8s"))
    assert k8s["global"]["kolla"]["nova"]["api"]["all"]["image_full"] == FLEET.images["nova-api"].pinned
    assert k8s["global"]["kolla"]["keystone"]["all"]["image_full"] == FLEET.images["keystone"].pinned
    compose = yaml.safe_load(render(FLEET, "compose"))
    assert compose["services"]["nova-api"]["image"] == FLEET.images["nova-api"].pinned


def test_list_and_json():
    lines = render(FLEET, "list").splitlines()
    assert lines == sorted(e.pinned for e in FLEET.images.values())
    doc = json.loads(render(FLEET, "json"))
    assert doc["channel"] == "ocata"
    row = next(r for r in doc["images"] if r["name"] == "nova-api")
    assert row["tag"] == "ocata-5" and row["revision"] == 5
    assert row["pinned"] == FLEET.images["nova-api"].pinned


def test_registry_rewrites_host_and_namespace():
    one = lock(entry("nova-api", 2))
    digest = str(one.images["nova-api"].digest)
    assert render(one, "list", registry="mirror.example") == f"mirror.example/kolla/centos-binary-nova-api@{digest}\n"
    assert (
        render(one, "list", registry="mirror.example:5000/ops/kolla")
        == f"mirror.example:5000/ops/kolla/centos-binary-nova-api@{digest}\n"
    )
    with pytest.raises(UsageError):
        render(one, "list", registry="https://mirror.example")


def test_unknown_format_is_bad_input():
    with pytest.raises(UsageError) as err:
        render(FLEET, "xml")
    assert err.value.exit_code == 2
    assert set(FORMATS) >= {"kolla-ansible", "json"}


def test_yaml_emitter_quotes_what_yaml_would_misread():
    tricky = {"yes": "no", "on": "1.0", "a key": "x: y # z", "n": "", "nested": {"null": "null", "0": "\u00e9\n"}}
    assert yaml.safe_load("\n".join(yaml_lines(tricky))) == tricky


def test_ocata_table_has_139_containers_and_the_four_exceptions():
    table = releases.era_table("ocata")
    prefixes = {c.image: c.prefix for c in table.containers}
    assert len(prefixes) == 139
    assert prefixes["nova-placement-api"] == "placement_api"
    assert prefixes["dnsmasq"] == "ironic_dnsmasq"
    assert prefixes["kuryr-libnetwork"] == "kuryr"
    assert prefixes["openvswitch-db-server"] == "openvswitch_db"
    assert "nova-base" not in prefixes
    assert len(table.not_built["centos"]) == 21


def _strings(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, str):
        yield node
