"""Typed errors. Each carries an exit code and a one-line fix hint.

Library code raises these; only ``cli`` turns them into one human line and an
exit status. Exit codes: 1 a check found differences, 2 bad input, 3 a registry,
engine or git operation failed.
"""

from __future__ import annotations

EXIT_DIFFERENCES = 1
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 3


class KollaError(Exception):
    """Base of every error a user can cause or meet."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """One line: the problem, then the fix."""
        text = self.message.rstrip(".")
        return f"{text}: {self.hint}" if self.hint else text


class UsageError(KollaError):
    """Bad input: a malformed reference, an unknown channel, a bad option."""

    exit_code = EXIT_BAD_INPUT


class InvalidReference(UsageError):
    """An image reference or digest that does not parse."""


class ConfigError(UsageError):
    """channels.toml or a lockfile that does not parse or breaks the schema."""


class UnknownChannel(UsageError):
    """A channel name not in channels.toml."""


class RevisionNotFound(UsageError):
    """A git revision that does not resolve."""


class NotARepository(UsageError):
    """The lock repository is not a git repository."""


class DirtyTree(UsageError):
    """Uncommitted edits to a file the command would overwrite."""


class CheckFailed(KollaError):
    """A check found differences (verify, status, diff --exit-code): the one way to exit 1.

    Without a message it is silent, like ``git diff --exit-code``: the output
    already shows the differences and only the exit status is added.
    """

    exit_code = EXIT_DIFFERENCES

    def __init__(self, message: str = "", hint: str = "") -> None:
        super().__init__(message, hint)


class RegistryError(KollaError):
    """A registry request failed.

    Attributes:
        status: HTTP status, or None for a connection failure.
        code: the registry's error code (MANIFEST_UNKNOWN, ...), if any.
        url: the request URL with any credentials removed.
    """

    def __init__(
        self, message: str, hint: str = "", *, status: int | None = None, code: str = "", url: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code
        self.url = url


class RegistryUnreachable(RegistryError):
    """The registry did not answer (DNS, refused connection, TLS, timeout).

    ``transient``: the cause was one worth another try (a dropped connection),
    as decided by ``adapters.http.transient``.
    """

    def __init__(self, message: str, hint: str = "", *, url: str = "", transient: bool = False) -> None:
        super().__init__(message, hint, url=url)
        self.transient = transient


class DeadlineExceeded(RegistryUnreachable):
    """An exchange (connect, headers, body, token) did not complete within its deadline."""


class StreamBroken(RegistryError):
    """A download broke off mid-body (reset, closed early); repeating the whole copy may help."""


class AuthError(RegistryError):
    """401/403: missing or wrong credentials, or no access to the scope."""


class NotFoundError(RegistryError):
    """The tag, manifest or blob does not exist.

    Bad input when the user named it (a tag that does not exist), so exit 2.
    """

    exit_code = EXIT_BAD_INPUT


class DigestMismatch(RegistryError):
    """Bytes received do not hash to the digest they were asked or announced by."""

    def __init__(self, what: str, expected: str, got: str, *, url: str = "") -> None:
        super().__init__(
            f"{what}: registry sent bytes with digest {got}, expected {expected}",
            "the registry or a proxy served corrupt or substituted content; nothing was written",
            url=url,
        )
        self.expected = expected
        self.got = got


class GitError(KollaError):
    """A git operation failed (commit race, push refused, corrupt object)."""


class EngineError(KollaError):
    """The Docker engine could not be reached or refused an operation."""


class ScanError(KollaError):
    """An image's content could not be scanned (layer bomb, corrupt tar)."""


class Interrupted(KollaError):
    """Ctrl-C, SIGTERM, or the docker CLI closing the plugin socket."""

    exit_code = 130
