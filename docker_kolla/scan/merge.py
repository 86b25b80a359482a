"""Merge per-layer facts into the final filesystem's package versions."""

from __future__ import annotations

from typing import Sequence

from docker_kolla.scan.facts import LayerFacts, finish, merge_entries


def _drop_below(files: dict[str, dict[str, str]], root: str, include_root: bool) -> None:
    """Remove ``root`` (if asked) and every path under it; '' is the filesystem root."""
    prefix = root + "/" if root else ""
    for path in [p for p in files if p.startswith(prefix) or (include_root and p == root)]:
        del files[path]


def surviving_files(layers: Sequence[LayerFacts]) -> dict[str, dict[str, str]]:
    """Interesting files of the final filesystem, applying layers base first.

    Per layer, as the OCI image spec's changeset rules ("Whiteouts"): an opaque
    dir hides lower content under it, a whiteout removes a lower path and all below
    it, then the layer's own files replace lower files at the same path.
    """
    files: dict[str, dict[str, str]] = {}
    for layer in layers:
        for directory in layer.opaque:
            _drop_below(files, directory, include_root=False)
        for path in layer.whiteouts:
            _drop_below(files, path, include_root=True)
        files.update(layer.files)
    return files


def merge_layers(layers: Sequence[LayerFacts]) -> dict[str, str]:
    """Sorted manifesto entries (``deb:``, ``rpm:``, ``apk:``, ``python:``) of the image.

    The union of the entries of every surviving file; a key found in several files
    (the same Python project in the system site-packages and the Kolla venv) keeps
    every distinct version, see facts.combine_versions.
    """
    collected: dict[str, set[str]] = {}
    for _path, entries in sorted(surviving_files(layers).items()):
        merge_entries(collected, entries)
    return finish(collected)
