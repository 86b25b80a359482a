"""Shell completion for the docker CLI's ``__complete`` protocol, without heavy imports.

The docker CLI runs ``docker-kolla __complete kolla ARGS... TO_COMPLETE`` and
expects one candidate per line, then ``:4`` (cobra's ShellCompDirectiveNoFileComp).
Commands complete first; then channel names (from lockfiles/channels.toml found
from the current directory upward) for the verbs that take one, and image names
for ``log``.
"""

from __future__ import annotations

import re
from pathlib import Path

COMMANDS = (
    "lock",
    "diff",
    "log",
    "verify",
    "inspect",
    "init",
    "pull",
    "export",
    "status",
    "promote",
    "attach",
    "sbom",
    "cache",
)
TAKES_CHANNEL = ("lock", "verify", "pull", "export", "status", "promote")
_CHANNEL = re.compile(r'^\[channels\.(?:"([^"]+)"|([A-Za-z0-9_-]+))\]\s*$', re.M)
_QUOTED = re.compile(r'"([a-z0-9][a-z0-9._-]*)"')


def _channels_file(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "lockfiles" / "channels.toml"
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def _channels(text: str) -> list:
    return [a or b for a, b in _CHANNEL.findall(text)]


def _images(text: str) -> list:
    """Names in the images / optional-images arrays (a light scan, good enough for completion)."""
    found: list = []
    for match in re.finditer(r"^(?:optional-)?images\s*=\s*\[(.*?)\]", text, re.M | re.S):
        found.extend(_QUOTED.findall(match.group(1)))
    return sorted(set(found))


def candidates(words: list, cwd: Path) -> list:
    """``words`` = what follows the plugin name, the last one being the word to complete."""
    *done, partial = words or [""]
    args = [w for w in done if not w.startswith("-")]
    if not args:
        pool: list = list(COMMANDS)
    else:
        path = _channels_file(cwd)
        text = path.read_text(errors="replace") if path else ""
        if args[0] in TAKES_CHANNEL and len(args) == 1:
            pool = _channels(text)
        elif args[0] == "log" and len(args) == 1:
            pool = _images(text)
        else:
            pool = []
    return [c for c in pool if c.startswith(partial)]


def main(words: list, cwd: Path | None = None) -> str:
    try:
        found = candidates(words, cwd or Path.cwd())
    except OSError:
        found = []
    return "".join(f"{c}\n" for c in found) + ":4\n"
