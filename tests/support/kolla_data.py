"""Version tables for the Kolla-like test fleet (Ocata era, Debian-stretch style dpkg).

Plain data so tests can assert against the same numbers the fleet pushed.
"""

from __future__ import annotations

KOLLA_VERSION = "4.0.2"
BUILD_DATE = "20170419"

BASE_DEBS = {
    "apt": "1.4.8",
    "base-files": "9.9+deb9u1",
    "bash": "4.4-5",
    "ca-certificates": "20161130+nmu1",
    "coreutils": "8.26-3",
    "curl": "7.52.1-5+deb9u2",
    "dpkg": "1.18.24",
    "gzip": "1.6-5+b1",
    "iproute2": "4.9.0-1+deb9u1",
    "libc6": "2.24-11+deb9u1",
    "libcurl3": "7.52.1-5+deb9u2",
    "libffi6": "3.2.1-6",
    "libssl1.1": "1.1.0f-3+deb9u2",
    "openssl": "1.1.0f-3+deb9u2",
    "perl-base": "5.24.1-3+deb9u2",
    "procps": "2:3.3.12-3",
    "python2.7": "2.7.13-2+deb9u2",
    "sudo": "1.8.19p1-2.1",
    "tar": "1.29b-1.1",
    "tzdata": "2017c-0+deb9u1",
    "zlib1g": "1:1.2.8.dfsg-5",
}

# Python packages of Kolla's openstack-base image.
OPENSTACK_BASE_PY = {
    "Jinja2": "2.8",
    "PyYAML": "3.12",
    "SQLAlchemy": "1.0.17",
    "eventlet": "0.20.0",
    "oslo.config": "3.22.0",
    "oslo.messaging": "5.17.1",
    "pbr": "2.0.0",
    "requests": "2.12.5",
    "six": "1.10.0",
}

# Ocata point releases of the services (python:<project>).
PROJECT_VERSIONS = {
    "aodh": "4.0.0",
    "barbican": "4.0.0",
    "ceilometer": "8.0.0",
    "cinder": "10.0.1",
    "cloudkitty": "5.0.0",
    "congress": "5.0.0",
    "designate": "4.0.0",
    "glance": "14.0.0",
    "gnocchi": "3.1.2",
    "heat": "8.0.1",
    "horizon": "11.0.1",
    "ironic": "7.0.1",
    "karbor": "0.2.0",
    "keystone": "11.0.1",
    "magnum": "4.1.1",
    "manila": "4.0.0",
    "mistral": "4.0.0",
    "murano": "3.2.0",
    "neutron": "10.0.1",
    "nova": "15.0.2",
    "octavia": "0.10.0",
    "panko": "2.0.0",
    "sahara": "6.0.0",
    "searchlight": "2.0.0",
    "senlin": "3.0.0",
    "solum": "5.1.0",
    "swift": "2.13.0",
    "tacker": "0.7.0",
    "trove": "7.0.0",
    "watcher": "1.0.0",
    "zaqar": "4.0.0",
}

# Infrastructure images: extra Debian packages instead of an OpenStack project.
INFRA_DEBS = {
    "cron": {"cron": "3.0pl1-128+deb9u1"},
    "fluentd": {"td-agent": "2.3.5-0"},
    "haproxy": {"haproxy": "1.7.5-2"},
    "keepalived": {"keepalived": "1:1.3.2-1"},
    "kolla-toolbox": {"ansible": "2.2.1.0-2+deb9u1"},
    "mariadb": {"mariadb-server-10.1": "10.1.26-0+deb9u1", "mariadb-client-10.1": "10.1.26-0+deb9u1"},
    "memcached": {"memcached": "1.4.33-1"},
    "openvswitch-db-server": {"openvswitch-switch": "2.6.2~pre+git20161223-3"},
    "openvswitch-vswitchd": {"openvswitch-switch": "2.6.2~pre+git20161223-3"},
    "rabbitmq": {"rabbitmq-server": "3.6.6-1"},
}

# Real Kolla Ocata image names (a subset of the 207), in a stable order for generate().
KOLLA_IMAGES = [
    "nova-api",
    "nova-compute",
    "nova-conductor",
    "nova-scheduler",
    "nova-novncproxy",
    "nova-consoleauth",
    "nova-placement-api",
    "nova-ssh",
    "nova-libvirt",
    "keystone",
    "keystone-fernet",
    "keystone-ssh",
    "glance-api",
    "glance-registry",
    "neutron-server",
    "neutron-openvswitch-agent",
    "neutron-dhcp-agent",
    "neutron-l3-agent",
    "neutron-metadata-agent",
    "cinder-api",
    "cinder-scheduler",
    "cinder-volume",
    "cinder-backup",
    "heat-api",
    "heat-api-cfn",
    "heat-engine",
    "horizon",
    "swift-proxy-server",
    "swift-account",
    "swift-container",
    "swift-object",
    "ironic-api",
    "ironic-conductor",
    "magnum-api",
    "magnum-conductor",
    "manila-api",
    "manila-share",
    "aodh-api",
    "aodh-evaluator",
    "ceilometer-central",
    "ceilometer-notification",
    "barbican-api",
    "designate-api",
    "octavia-api",
    "trove-api",
    "sahara-api",
    "murano-api",
    "senlin-api",
    "zaqar",
    "gnocchi-api",
    "panko-api",
    "cloudkitty-api",
    "mistral-api",
    "tacker",
    "watcher-api",
    "congress-api",
    "searchlight-api",
    "solum-api",
    "karbor-api",
    "mariadb",
    "rabbitmq",
    "memcached",
    "haproxy",
    "keepalived",
    "cron",
    "fluentd",
    "kolla-toolbox",
    "openvswitch-db-server",
    "openvswitch-vswitchd",
]

SERVICE_SUFFIXES = ["api", "worker", "engine", "agent", "manager", "listener", "notifier", "backend"]


def project_of(image: str) -> str | None:
    """The OpenStack project an image carries (``nova-api`` -> ``nova``), or None for infra images."""
    head = image.split("-")[0]
    return head if head in PROJECT_VERSIONS else None


def infra_of(image: str) -> str | None:
    """The INFRA_DEBS key of an infrastructure image, if it is one."""
    return next(
        (key for key in sorted(INFRA_DEBS, key=len, reverse=True) if image == key or image.startswith(key + "-")), None
    )


def normalise_python(name: str) -> str:
    """PEP 503 normalisation, as manifesto keys use it (``oslo.config`` -> ``oslo-config``)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()
