"""Push one branch of the lock repository (part of the git adapter behind ``gitstore``)."""

from __future__ import annotations

import io
import os
import re

from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.file import FileLocked
from dulwich.repo import Repo

from docker_kolla.adapters.giterrors import one_line
from docker_kolla.errors import GitError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"^[^/:]+:")  # user@host:path


def push(repo: Repo, remote: str, ref: bytes) -> None:
    """Push ``ref`` to the same name on ``remote`` (name, path or URL); never forced.

    dulwich's output goes to a buffer (library code prints nothing); a diverged
    remote, a transport failure and a per-ref refusal each become one GitError.
    """
    from dulwich import porcelain  # 0.2 s to import: only a push pays it

    branch = ref.decode("utf-8", "replace").removeprefix("refs/heads/")
    _refuse_non_bare(_remote_url(repo, remote), remote)
    out = io.BytesIO()
    try:
        result = porcelain.push(repo, remote, [ref + b":" + ref], outstream=out, errstream=out)
    except porcelain.DivergedBranches:
        raise GitError(
            f"push of {branch} to {remote} refused: the remote branch has other commits",
            "fetch and rebase, or push under a new branch name",
        ) from None
    except (
        porcelain.Error,
        GitProtocolError,
        HangupException,
        NotGitRepository,
        FileLocked,
        OSError,
        KeyError,
        ValueError,
    ) as exc:
        raise GitError(
            f"push of {branch} to {remote} failed: {one_line(exc)}",
            "check the remote name or URL and your access to it",
        ) from None
    for name, error in (result.ref_status or {}).items():
        if error:
            raise GitError(
                f"push of {name.decode('utf-8', 'replace')} to {remote} refused: {error}",
                "the remote rejected the update (protected branch or hook)",
            )


def _remote_url(repo: Repo, remote: str) -> str:
    """The URL of a configured remote, else ``remote`` itself."""
    try:
        url = repo.get_config().get((b"remote", remote.encode("utf-8")), b"url")
    except KeyError:
        return remote
    return url.decode("utf-8")


def _refuse_non_bare(url: str, remote: str) -> None:
    """GitError when ``url`` is a local repository with a work tree.

    dulwich would update such a remote's checked-out branch without git's
    ``receive.denyCurrentBranch`` refusal, leaving its work tree and index
    stale (dulwich `porcelain.push`), so only bare local remotes are accepted.
    """
    if url.startswith("file://"):
        local = url[len("file://") :]
    elif _SCHEME.match(url) or (_SCP_LIKE.match(url) and not os.path.exists(url)):
        return
    else:
        local = url
    if os.path.exists(os.path.join(local, ".git")):
        raise GitError(
            f"{remote} is a repository with a work tree; pushing there would leave it stale",
            "push to a bare repository (`git init --bare`) or your hosting remote",
        )
