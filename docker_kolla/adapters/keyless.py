"""Keyless sigstore bundles, verified offline with the optional ``sigstore`` package (the extra).

A keyless bundle carries a short-lived Fulcio certificate and transparency-log
(Rekor) entries instead of a key. sigstore-python checks the certificate chain
against the public-good trust root bundled in the package (``offline=True``: no
TUF refresh, no network), the log's inclusion proof and signed entry timestamp,
the certificate's identity (OIDC issuer and subject), and the signature: over the
DSSE envelope (cosign's image signatures and attestations) or over the message,
here the image manifest whose digest is the locked digest. What this module adds:
the in-toto statement of a DSSE bundle must name the locked digest.

Only v0.3 bundles are verified; a legacy ``.sig`` layer with a certificate
annotation is not (see core.trust.KEYLESS_LEGACY).
"""

from __future__ import annotations

import json
import logging

from docker_kolla.core.digest import Digest
from docker_kolla.core.trust import KEYLESS, KEYLESS_NO_IDENTITY, Verdict
from docker_kolla.core.trustpolicy import Identity

log = logging.getLogger(__name__)


def available() -> bool:
    """Is the ``sigstore`` extra installed? Found without importing it (that costs ~0.4 s):
    it is imported only when a keyless bundle is to be verified."""
    import importlib.util

    try:
        return importlib.util.find_spec("sigstore") is not None
    except (ImportError, ValueError):
        return False


class KeylessVerifier:
    """Verifies keyless bundles against the trusted identities; safe to share between threads
    (each call only reads the trust root loaded once)."""

    def __init__(self, identities: tuple[Identity, ...], *, staging: bool = False) -> None:
        self.identities = identities
        self._staging = staging
        self._verifier = None
        self._failed = ""

    def _load(self):
        if self._verifier is None and not self._failed:
            try:
                from sigstore.verify import Verifier

                logging.getLogger("sigstore").setLevel(logging.ERROR)  # not "loaded in offline mode" on stderr
                self._verifier = Verifier.staging(offline=True) if self._staging else Verifier.production(offline=True)
            except ImportError:
                self._failed = KEYLESS
            except Exception as exc:  # the trust root could not be loaded: say so, do not trust
                log.debug("sigstore trust root not loaded: %s", exc)
                self._failed = f"keyless signature: the sigstore trust root could not be loaded ({exc})"
        return self._verifier

    def verify(self, raw: bytes, digest: Digest) -> Verdict:
        """A keyless v0.3 bundle for ``digest``: verified by one of the identities, or why not."""
        if not self.identities:
            return Verdict(why=KEYLESS_NO_IDENTITY)
        verifier = self._load()
        if verifier is None:
            return Verdict(why=self._failed or KEYLESS)
        from sigstore.errors import Error as SigstoreError
        from sigstore.hashes import Hashed
        from sigstore.models import Bundle
        from sigstore.verify.policy import Identity as IdentityPolicy
        from sigstore_models.common.v1 import HashAlgorithm

        try:
            bundle = Bundle.from_json(raw)
            doc = json.loads(raw)
        except (SigstoreError, ValueError) as exc:
            return Verdict(why=f"keyless bundle is malformed ({str(exc).splitlines()[0][:120]})")
        reasons = []
        for identity in self.identities:
            policy = IdentityPolicy(identity=identity.subject, issuer=identity.issuer)
            try:
                if "dsseEnvelope" in doc:
                    _, payload = verifier.verify_dsse(bundle, policy)
                    if not _names(payload, digest):
                        return Verdict(why="the signed statement's subject is not the locked digest")
                else:
                    hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(digest.hex))
                    verifier.verify_artifact(hashed, bundle, policy)
            except SigstoreError as exc:
                reasons.append(str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__)
                continue
            return Verdict(by=identity.label())
        return Verdict(why=f"keyless signature not verified: {reasons[0]}")


def _names(payload: bytes, digest: Digest) -> bool:
    try:
        statement = json.loads(payload)
        subjects = statement.get("subject") or []
        return any(str((s.get("digest") or {}).get(digest.algorithm, "")) == digest.hex for s in subjects)
    except (ValueError, AttributeError, TypeError):
        return False
