"""A channel's trust policy: which keys and keyless signers it trusts and what it requires
(``[defaults.trust]`` / ``[channels.X.trust]`` of channels.toml), parsed and validated.

What a signature is checked against is core/trust.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from docker_kolla.errors import ConfigError

REQUIRE = ("none", "signature")
_FIX = 'fix [trust] in lockfiles/channels.toml: keys = ["keys/kolla.pub"], require = "signature"|"none"'
_ID_FIX = 'write identities = [{issuer = "https://token.actions.githubusercontent.com", subject = "..."}]'


@dataclass(frozen=True, order=True)
class Identity:
    """A trusted keyless signer: the OIDC issuer and the certificate's subject (SAN)."""

    issuer: str
    subject: str

    def label(self) -> str:
        """What ``verified-by`` records for a keyless signature."""
        return f"keyless:{self.subject} ({self.issuer})"


@dataclass(frozen=True)
class TrustPolicy:
    """``[defaults.trust]`` / ``[channels.X.trust]``.

    Attributes:
        keys: paths of PEM public keys, relative to the lock repository.
        require: ``signature`` refuses images without a signature a key verifies.
        attestations: predicate types every image must have an attestation of.
        identities: trusted keyless signers (verified only with the ``sigstore`` extra).
    """

    keys: tuple[str, ...] = ()
    require: str = "none"
    attestations: tuple[str, ...] = ()
    identities: tuple[Identity, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.keys or self.identities or self.require != "none" or self.attestations)


def _identities(value: object, where: str) -> tuple[Identity, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"channels.toml {where}.trust: identities must be an array of tables", _ID_FIX)
    out = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"issuer", "subject"}:
            raise ConfigError(f"channels.toml {where}.trust: each identity needs issuer and subject only", _ID_FIX)
        if not all(isinstance(v, str) and v for v in item.values()):
            raise ConfigError(f"channels.toml {where}.trust: identity issuer and subject must be strings", _ID_FIX)
        out.append(Identity(item["issuer"], item["subject"]))
    return tuple(sorted(set(out)))


def parse_trust(table: object, where: str, base: TrustPolicy | None = None) -> TrustPolicy:
    """Validate a ``trust`` table; keys not given are inherited from ``base``."""
    if not isinstance(table, dict):
        raise ConfigError(f"channels.toml {where}: trust must be a table", _FIX)
    base = base or TrustPolicy()
    unknown = sorted(set(table) - {"keys", "require", "require-attestations", "identities"})
    if unknown:
        raise ConfigError(f"channels.toml {where}.trust: unknown key {unknown[0]!r}", _FIX)
    for key in ("keys", "require-attestations"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"channels.toml {where}.trust: {key!r} must be a list of strings", _FIX)
    require = table.get("require", base.require)
    if require not in REQUIRE:
        raise ConfigError(f"channels.toml {where}.trust: require must be 'signature' or 'none'", _FIX)
    keys = tuple(table["keys"]) if "keys" in table else base.keys
    identities = _identities(table["identities"], where) if "identities" in table else base.identities
    if require == "signature" and not (keys or identities):
        raise ConfigError(
            f"channels.toml {where}.trust: require = 'signature' needs keys (or keyless identities)",
            "list the public keys in keys = [...]",
        )
    attestations = tuple(table["require-attestations"]) if "require-attestations" in table else base.attestations
    return TrustPolicy(keys, require, attestations, identities)
