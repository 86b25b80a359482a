"""An independent image signer and verifier for the tests, written from the cosign specs.

It never imports ``docker_kolla``: a misreading of the specs in the product cannot
hide itself here. It follows sigstore/cosign ``specs/SIGNATURE_SPEC.md`` (the
``sha256-<hex>.sig`` tag whose layers are simple-signing payloads, the signature
in a layer annotation), ``specs/ATTESTATION_SPEC.md`` (``.att`` tags holding DSSE
envelopes of in-toto statements) and ``specs/BUNDLE_SPEC.md`` (an OCI 1.1 artifact
with ``subject`` holding a v0.3 sigstore bundle; the referrers tag schema index is
updated when the registry does not answer ``OCI-Subject``; the bundle holds a DSSE
envelope or a message signature over the image manifest), with ECDSA P-256 over
SHA-256 from the ``cryptography`` package. ``push_bundle`` attaches bundle bytes made
elsewhere (the known-answer vectors in tests/fixtures/cosign/).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.push import ACCEPT_ALL, OCI_INDEX, OCI_MANIFEST, Client, push_blob

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
CERT_ANNOTATION = "dev.sigstore.cosign/certificate"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding (secure-systems-lab/dsse protocol.md)."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass
class KeyPair:
    """A P-256 key pair; ``public_pem`` is what a user puts in ``keys = [...]``."""

    private: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def private_pem(self, password: bytes | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted with ``password`` when given."""
        crypt = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        return self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, crypt)

    @property
    def fingerprint(self) -> str:
        """sha256 of the DER SubjectPublicKeyInfo, the form docker-kolla records."""
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _sha(der)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))

    def certificate(self, email: str) -> bytes:
        """A self-signed PEM certificate for the public key with ``email`` as its SAN, shaped like
        a Fulcio one (not issued by any sigstore CA: no verifier may trust it)."""
        import datetime as dt

        from cryptography import x509
        from cryptography.x509.oid import NameOID

        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "not-sigstore.test")])
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private.public_key())
            .serial_number(1)
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(minutes=10))
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=True)
            .sign(self.private, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)


def simple_signing_payload(reference: str, digest: str) -> bytes:
    return _json(
        {
            "critical": {
                "identity": {"docker-reference": reference},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    )


def statement(subject_name: str, digest: str, predicate_type: str, predicate: object) -> bytes:
    return _json(
        {
            "_type": STATEMENT_V1,
            "subject": [{"name": subject_name, "digest": {"sha256": digest.split(":", 1)[1]}}],
            "predicateType": predicate_type,
            "predicate": predicate,
        }
    )


def envelope(key: KeyPair, payload: bytes, payload_type: str = IN_TOTO_PAYLOAD) -> dict:
    return {
        "payloadType": payload_type,
        "payload": _b64(payload),
        "signatures": [{"keyid": "", "sig": _b64(key.sign(pae(payload_type, payload)))}],
    }


@dataclass
class Signer:
    """Writes signatures and attestations for images in one registry."""

    host: str
    auth: tuple[str, str] | None = None
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(self.host, self.auth)

    # -- registry plumbing ------------------------------------------------------
    def _scope(self, repo: str) -> str:
        return f"repository:{repo}:pull,push"

    def get_manifest(self, repo: str, ref: str) -> bytes | None:
        resp = self.client.request(
            "GET", f"/v2/{repo}/manifests/{ref}", scope=self._scope(repo), headers={"Accept": ACCEPT_ALL}
        )
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.content

    def get_blob(self, repo: str, digest: str) -> bytes:
        resp = self.client.request("GET", f"/v2/{repo}/blobs/{digest}", scope=self._scope(repo))
        resp.raise_for_status()
        if _sha(resp.content) != digest:
            raise AssertionError(f"blob {digest} does not hash to its digest")
        return resp.content

    def put(self, repo: str, ref: str, body: bytes, media_type: str) -> dict:
        resp = self.client.request(
            "PUT",
            f"/v2/{repo}/manifests/{ref}",
            scope=self._scope(repo),
            data=body,
            headers={"Content-Type": media_type},
        )
        if resp.status_code != 201:
            raise AssertionError(f"PUT {repo}:{ref} -> {resp.status_code}: {resp.text[:200]}")
        return dict(resp.headers)

    def _blob(self, repo: str, data: bytes) -> dict:
        return {"digest": push_blob(self.host, repo, data, auth=self.client), "size": len(data)}

    # -- legacy cosign tags -------------------------------------------------------
    def _append_layer(self, repo: str, tag: str, layer: dict) -> str:
        """Add ``layer`` to the manifest at ``tag`` (created if absent), as cosign does."""
        old = self.get_manifest(repo, tag)
        layers = json.loads(old)["layers"] if old else []
        layers = [entry for entry in layers if entry != layer] + [layer]
        config = _json(
            {
                "architecture": "",
                "os": "",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [entry["digest"] for entry in layers]},
            }
        )
        body = _json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **self._blob(repo, config)},
                "layers": layers,
            }
        )
        self.put(repo, tag, body, OCI_MANIFEST)
        return _sha(body)

    def sign(self, repo: str, digest: str, key: KeyPair, *, reference: str | None = None) -> str:
        """A simple-signing signature under ``sha256-<hex>.sig``; returns the .sig manifest digest."""
        payload = simple_signing_payload(reference or f"{self.host}/{repo}", digest)
        return self.sign_payload(repo, digest, key, payload)

    def sign_payload(
        self, repo: str, digest: str, key: KeyPair, payload: bytes, *, signature: bytes = b"", certificate: bytes = b""
    ) -> str:
        """Attach ``payload`` with ``signature`` (by default ``key``'s over it) to ``digest``'s .sig tag;
        ``certificate`` (PEM) goes in the layer annotation cosign writes for keyless signing."""
        annotations = {SIG_ANNOTATION: _b64(signature or key.sign(payload))}
        if certificate:
            annotations[CERT_ANNOTATION] = certificate.decode()
        layer = {"mediaType": SIMPLE_SIGNING, **self._blob(repo, payload), "annotations": annotations}
        return self._append_layer(repo, cosign_tag(digest, "sig"), layer)

    def attest(self, repo: str, digest: str, key: KeyPair, predicate_type: str, predicate: object) -> str:
        """A DSSE in-toto attestation under ``sha256-<hex>.att``; returns the .att manifest digest."""
        env = _json(envelope(key, statement(f"{self.host}/{repo}", digest, predicate_type, predicate)))
        layer = {
            "mediaType": DSSE,
            **self._blob(repo, env),
            "annotations": {SIG_ANNOTATION: "", "predicateType": predicate_type},
        }
        return self._append_layer(repo, cosign_tag(digest, "att"), layer)

    def tamper(self, repo: str, digest: str) -> str:
        """Flip one character of every signature in ``digest``'s .sig manifest (as an attacker
        rewriting the tag would); returns the new .sig manifest digest."""
        tag = cosign_tag(digest, "sig")
        doc = json.loads(self.get_manifest(repo, tag) or b"{}")
        for layer in doc["layers"]:
            sig = layer["annotations"][SIG_ANNOTATION]
            layer["annotations"][SIG_ANNOTATION] = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
        body = _json(doc)
        self.put(repo, tag, body, OCI_MANIFEST)
        return _sha(body)

    # -- cosign v3: a bundle as an OCI 1.1 referrer --------------------------------
    def bundle(
        self, repo: str, digest: str, subject_media_type: str, key: KeyPair, *, predicate_type: str = COSIGN_SIGN
    ) -> str:
        """Push a v0.3 bundle referrer (DSSE) of ``digest``; returns the referrer manifest digest."""
        stmt = statement(f"{self.host}/{repo}", digest, predicate_type, {})
        bundle = _json(
            {
                "mediaType": BUNDLE,
                "verificationMaterial": {"publicKey": {"hint": key.fingerprint}, "tlogEntries": []},
                "dsseEnvelope": envelope(key, stmt),
            }
        )
        return self.push_bundle(repo, digest, subject_media_type, bundle, predicate_type=predicate_type)

    def message_bundle(self, repo: str, digest: str, subject_media_type: str, key: KeyPair) -> str:
        """Push a v0.3 bundle whose ``messageSignature`` signs the image manifest itself
        (BUNDLE_SPEC: the artifact is the manifest, ``messageDigest`` its SHA-256)."""
        manifest = self.get_manifest(repo, digest)
        if manifest is None:
            raise AssertionError(f"{repo}@{digest} does not exist")
        bundle = _json(
            {
                "mediaType": BUNDLE,
                "verificationMaterial": {"publicKey": {"hint": key.fingerprint}, "tlogEntries": []},
                "messageSignature": {
                    "messageDigest": {"algorithm": "SHA2_256", "digest": _b64(hashlib.sha256(manifest).digest())},
                    "signature": _b64(key.sign(manifest)),
                },
            }
        )
        return self.push_bundle(repo, digest, subject_media_type, bundle, content="message-signature")

    def push_bundle(
        self,
        repo: str,
        digest: str,
        subject_media_type: str,
        bundle: bytes,
        *,
        content: str = "dsse-envelope",
        predicate_type: str = "",
    ) -> str:
        """Attach the sigstore bundle bytes ``bundle`` to ``digest`` as an OCI 1.1 referrer."""
        annotations = {"dev.sigstore.bundle.content": content}
        if predicate_type:
            annotations["dev.sigstore.bundle.predicateType"] = predicate_type
        annotations["org.opencontainers.image.created"] = "2026-01-01T00:00:00Z"
        layer = self._blob(repo, bundle)
        body = _json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": BUNDLE,
                "config": {"mediaType": EMPTY, **self._blob(repo, EMPTY_BLOB)},
                "layers": [{"mediaType": BUNDLE, **layer}],
                "subject": {"mediaType": subject_media_type, "digest": digest, "size": self._size(repo, digest)},
                "annotations": annotations,
            }
        )
        ref = _sha(body)
        headers = self.put(repo, ref, body, OCI_MANIFEST)
        if "OCI-Subject" not in headers:  # no referrers API: maintain the tag-schema index
            self._add_to_tag_index(
                repo,
                digest,
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": ref,
                    "size": len(body),
                    "artifactType": BUNDLE,
                    "annotations": annotations,
                },
            )
        return ref

    def _size(self, repo: str, digest: str) -> int:
        raw = self.get_manifest(repo, digest)
        if raw is None:
            raise AssertionError(f"{repo}@{digest} does not exist")
        return len(raw)

    def _add_to_tag_index(self, repo: str, digest: str, descriptor: dict) -> None:
        tag = digest.replace(":", "-")
        old = self.get_manifest(repo, tag)
        entries = json.loads(old)["manifests"] if old else []
        entries = [e for e in entries if e["digest"] != descriptor["digest"]] + [descriptor]
        self.put(repo, tag, _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}), OCI_INDEX)

    # -- independent verification --------------------------------------------------
    def verify(self, repo: str, digest: str, public_pem: bytes) -> list[str]:
        """What verifies for ``digest`` with ``public_pem``: ``"sig"`` per good simple signature,
        ``"bundle"`` per good DSSE bundle and ``"message"`` per good message-signature bundle in
        the tag-schema index (or the referrers API when present)."""
        key = load_public(public_pem)
        found = []
        sig = self.get_manifest(repo, cosign_tag(digest, "sig"))
        for layer in json.loads(sig)["layers"] if sig else []:
            payload = self.get_blob(repo, layer["digest"])
            if simple_signature_ok(key, payload, layer.get("annotations", {}).get(SIG_ANNOTATION, ""), digest):
                found.append("sig")
        for desc in self.referrers(repo, digest):
            if desc.get("artifactType") != BUNDLE:
                continue
            manifest = json.loads(self.get_manifest(repo, desc["digest"]) or b"{}")
            bundle = json.loads(self.get_blob(repo, manifest["layers"][0]["digest"]))
            if "messageSignature" in bundle:
                if _good_message(key, bundle["messageSignature"], self.get_manifest(repo, digest) or b""):
                    found.append("message")
                continue
            if envelope_ok(key, bundle.get("dsseEnvelope") or {}, digest):
                found.append("bundle")
        return found

    def referrers(self, repo: str, digest: str) -> list[dict]:
        """Descriptors from the referrers API, or from the tag schema when the API answers 404."""
        resp = self.client.request("GET", f"/v2/{repo}/referrers/{digest}", scope=self._scope(repo))
        if resp.status_code == 200:
            return resp.json().get("manifests") or []
        raw = self.get_manifest(repo, digest.replace(":", "-"))
        return json.loads(raw).get("manifests") or [] if raw else []


def cosign_tag(digest: str, suffix: str) -> str:
    return f"{digest.replace(':', '-')}.{suffix}"


def load_public(public_pem: bytes):
    return serialization.load_pem_public_key(public_pem)


def simple_signature_ok(key, payload: bytes, signature_b64: str, digest: str) -> bool:
    """A simple-signing payload signed by ``key`` that names ``digest`` as a cosign image signature."""
    try:
        doc = json.loads(payload)
        names = doc["critical"]["image"]["docker-manifest-digest"] == digest
        kind = doc["critical"]["type"] == "cosign container image signature"
    except (ValueError, KeyError, TypeError):
        return False
    return names and kind and _good(key, base64.b64decode(signature_b64 or ""), payload)


def envelope_ok(key, env: dict, digest: str) -> bool:
    """A DSSE envelope one of whose signatures ``key`` made, over an in-toto statement naming ``digest``."""
    try:
        body = base64.b64decode(env["payload"])
        signed = pae(env["payloadType"], body)
        subjects = [s.get("digest", {}).get("sha256") for s in json.loads(body).get("subject") or []]
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    ok = any(_good(key, base64.b64decode(s.get("sig", "")), signed) for s in env.get("signatures") or [])
    return ok and digest.split(":", 1)[1] in subjects


def _good(key, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def _good_message(key, signed: dict, manifest: bytes) -> bool:
    """A message signature over the manifest bytes, whose messageDigest is their SHA-256."""
    claimed = base64.b64decode(signed.get("messageDigest", {}).get("digest", ""))
    if not manifest or claimed != hashlib.sha256(manifest).digest():
        return False
    return _good(key, base64.b64decode(signed.get("signature", "")), manifest)


def _payload_digest(payload: bytes) -> str:
    return json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
