"""Resolve an image reference to digests and a manifesto: the read side of ``lock`` and ``inspect``.

A tag is resolved with one HEAD. Manifests, the config and layers are fetched
only when the digest is new to the lock. Each layer is scanned at most once per
run (in-memory, shared across threads) and at most once ever (the persistent
per-layer cache), so a fleet sharing base layers downloads each layer once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from docker_kolla.core.digest import Digest
from docker_kolla.core.lockfile import LockEntry
from docker_kolla.core.manifest import Descriptor, Index, Manifest, Platform, parse_config
from docker_kolla.core.manifesto import build_manifesto
from docker_kolla.core.reference import ImageRef
from docker_kolla.errors import NotFoundError, RegistryError, ScanError

log = logging.getLogger(__name__)
CONFIG_MAX_BYTES = 8 * 1024 * 1024  # image configs are a few KiB; 8 MiB bounds a hostile one


@dataclass
class ContentResult:
    facts: dict
    notes: list = field(default_factory=list)


class LayerScanner:
    """Scans layers once per run and once ever (through the persistent cache)."""

    def __init__(self, client, cache=None, limits=None):
        self.client = client
        self.cache = cache
        self.limits = limits
        self._done: dict = {}
        self._locks: dict = {}
        self._guard = threading.Lock()
        self.scanned = 0
        self.cache_hits = 0

    def facts(self, ref: ImageRef, layer: Descriptor):
        from docker_kolla.scan.layers import scan_layer

        key = str(layer.digest)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._done:
                return self._done[key]
            facts = self._cached(layer)
            if facts is None:
                chunks = self.client.open_blob(ref, layer)
                facts = scan_layer(chunks, layer.media_type, *([self.limits] if self.limits else []))
                self._store(layer, facts)
            self._done[key] = facts
            return facts

    def _cached(self, layer: Descriptor):
        """The cache is an optimisation: an unreadable cache means a rescan, never a failed run."""
        if not self.cache:
            return None
        try:
            facts = self.cache.get(layer.digest)
        except OSError as exc:
            log.debug("layer cache unreadable (%s); rescanning %s", exc, layer.digest)
            return None
        if facts is not None:
            with self._guard:
                self.cache_hits += 1
        return facts

    def _store(self, layer: Descriptor, facts) -> None:
        with self._guard:
            self.scanned += 1
        if self.cache:
            try:
                self.cache.put(layer.digest, facts)
            except OSError as exc:
                log.debug("layer cache not writable (%s); %s not cached", exc, layer.digest)

    def content(self, ref: ImageRef, manifest: Manifest) -> ContentResult:
        from docker_kolla.scan.merge import merge_layers

        notes, per_layer = [], []
        for layer in manifest.layers:
            if layer.is_foreign:
                notes.append(f"skipped foreign layer {layer.digest.short} ({layer.media_type})")
                continue
            per_layer.append(self.facts(ref, layer))
        for facts in per_layer:
            notes.extend(getattr(facts, "notes", []) or [])
        return ContentResult(merge_layers(per_layer), notes)


@dataclass
class ImageReport:
    """Everything learnt about one image reference."""

    resolved: LockEntry | None
    notes: list = field(default_factory=list)  # scan notes (skipped foreign layers, ...)
    label_conflicts: list = field(default_factory=list)  # a version label disagreeing with the content
    described: list = field(default_factory=list)  # the platforms described, primary first
    given: list = field(default_factory=list)  # the platforms whose manifesto was given (not scanned)


class Resolver:
    """Turns references into pinned images (:class:`LockEntry` without tag: digests + manifesto)."""

    def __init__(
        self, client, scanner: LayerScanner | None, *, platforms=("linux/amd64",), sources=("labels", "content")
    ):
        self.client = client
        self.scanner = scanner
        self.platforms = [Platform.parse(p) for p in platforms] or [Platform("linux", "amd64")]
        self.sources = tuple(sources)

    def head(self, ref: ImageRef) -> Digest | None:
        """The digest the tag points at now (HEAD only; None if the registry omits it)."""
        return self.client.head_manifest(ref).digest

    def exists(self, ref: ImageRef, digest: Digest) -> bool:
        try:
            self.client.head_manifest(ref.with_digest(digest))
            return True
        except NotFoundError:
            return False

    def resolve(self, name: str, ref: ImageRef, digest: Digest | None = None, given=None) -> ImageReport:
        """Fetch the manifest (by digest when known) and describe every configured platform it offers.

        The first configured platform the index offers is the primary one (``platform``,
        ``manifesto``, ``labels``); every other one it offers gets its own manifesto in
        ``platform_manifestos``. Layers shared between platforms are scanned once.

        ``given(digest, platforms)``, once the top manifest is read, may return
        ``{platform: manifesto}`` (a trusted attached manifesto): a platform found there
        is not scanned; its labels still come from its config.
        """
        top = self.client.get_manifest(ref.with_digest(digest) if digest else ref)
        platforms: dict = {}
        if isinstance(top, Index):
            for entry in top.platform_entries():
                if entry.platform is not None:
                    platforms.setdefault(entry.platform, entry.digest)
            chosen = self._select(ref, top, platforms)
        else:
            chosen = [(None, top)]
        report = ImageReport(None)
        facts = given(top.digest, platforms) if given is not None else None
        described = [
            self._describe(ref, m if isinstance(m, Manifest) else self._child(ref, m), wanted, report, facts)
            for wanted, m in chosen
        ]
        (platform, manifesto, labels), *others = described
        report.resolved = LockEntry(
            name=name,
            repository=ref.bare,
            digest=top.digest,
            media_type=top.media_type,
            platform=platform,
            platforms=platforms,
            manifesto=manifesto,
            labels=labels,
            platform_manifestos={plat: facts for plat, facts, _ in others},
        )
        return report

    def _select(self, ref: ImageRef, index: Index, offered: dict) -> list:
        """(platform, descriptor) for each configured platform the index offers, in order, once each."""
        chosen, seen = [], set()
        for wanted in self.platforms:
            entry = index.select(wanted)
            if entry is not None and str(entry.platform) not in seen:
                seen.add(str(entry.platform))
                chosen.append((entry.platform, entry))
        if not chosen:
            raise RegistryError(
                f"{ref}: no manifest for {', '.join(map(str, self.platforms))} "
                f"(index offers {', '.join(map(str, offered)) or 'none'})",
                "set platforms in lockfiles/channels.toml to one the image provides",
            )
        return chosen

    def _child(self, ref: ImageRef, entry: Descriptor) -> Manifest:
        manifest = self.client.get_manifest(ref.with_digest(entry.digest))
        if not isinstance(manifest, Manifest):
            raise RegistryError(f"{ref}: nested index at {entry.digest}", "docker-kolla reads one level of index")
        return manifest

    def _describe(
        self, ref: ImageRef, manifest: Manifest, platform: Platform | None, report: ImageReport, given=None
    ) -> tuple:
        """(platform, manifesto, labels) of one platform's manifest; notes and conflicts go to ``report``.

        Notes of a platform other than the first described one name it. A manifesto in
        ``given`` (platform -> manifesto) is taken as it is.
        """
        config = parse_config(self.client.get_blob(ref, manifest.config.digest, CONFIG_MAX_BYTES))
        platform = platform or (config.platform if str(config.platform) else None)  # None: no os/arch in it
        prefix = f"{platform}: " if report.described else ""
        if given is not None and str(platform) in given:
            report.described.append(str(platform))
            report.given.append(str(platform))
            return platform, dict(given[str(platform)]), build_manifesto(config.labels, {}, self.sources).labels
        content: dict = {}
        if "content" in self.sources and self.scanner is not None:
            try:
                result = self.scanner.content(ref, manifest)
            except ScanError as exc:
                raise ScanError(f"{ref}: {exc.message}", exc.hint) from exc
            content = result.facts
            report.notes.extend(prefix + n for n in result.notes)
        built = build_manifesto(config.labels, content, self.sources)
        report.label_conflicts.extend(prefix + w for w in built.warnings)
        report.described.append(str(platform))
        return platform, built.manifesto, built.labels
