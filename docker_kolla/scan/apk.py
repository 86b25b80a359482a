"""Alpine's apk database: ``/lib/apk/db/installed``."""

from __future__ import annotations

from docker_kolla.scan.facts import finish, merge_entries


def parse_installed(data: bytes) -> dict[str, str]:
    """``apk:<P>`` -> V for each package record (records split by blank lines).

    Every line is ``<letter>:<value>``; P is the package name and V its version.
    """
    collected: dict[str, set[str]] = {}
    record: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines() + [""]:
        if not line.strip():
            if record.get("P") and record.get("V"):
                merge_entries(collected, {f"apk:{record['P']}": record["V"]})
            record = {}
        elif len(line) > 2 and line[1] == ":":
            record.setdefault(line[0], line[2:].strip())
    return finish(collected)
