"""dpkg's database: ``/var/lib/dpkg/status`` and distroless ``status.d/*`` files."""

from __future__ import annotations

from docker_kolla.scan.control import paragraphs
from docker_kolla.scan.facts import finish, merge_entries


def _installed(fields: dict[str, str], require_status: bool) -> bool:
    """Whether a paragraph describes a package whose files are on disk.

    Status is "<want> <flag> <state>"; the package is present when the flag is "ok"
    and the state "installed", whatever the want (install, hold, deinstall): a held
    package is as installed as any other. ``status.d`` files (distroless) carry no
    Status field: each file exists only for an installed package.
    """
    status = fields.get("status")
    if status is None:
        return not require_status
    words = status.split()
    return len(words) == 3 and words[1] == "ok" and words[2] == "installed"


def parse_status(data: bytes, require_status: bool = True) -> dict[str, str]:
    """``deb:<Package>`` -> Version for every installed package.

    A package installed for two architectures (multiarch) with different versions
    keeps both, combined as in facts.combine_versions.
    """
    collected: dict[str, set[str]] = {}
    for fields in paragraphs(data.decode("utf-8", "replace")):
        name, version = fields.get("package"), fields.get("version")
        if name and version and _installed(fields, require_status):
            merge_entries(collected, {f"deb:{name}": version})
    return finish(collected)


def parse_status_d(data: bytes) -> dict[str, str]:
    """One ``/var/lib/dpkg/status.d/<name>`` file (paragraphs without Status)."""
    return parse_status(data, require_status=False)
