"""A capture request: what an investigator asks a capture system to capture, signed by them.

A capture system (a worker) holds no investigator's passphrase, so the request and the capture
are signed by different keys: the investigator signs the request (job id, URL, authorization,
note, time) when it is made; the worker seals the bundle with its own key and carries the
request in the bag, so a verifier checks both — who asked, and which system captured.

The signed bytes are the request's canonical JSON (RFC 8785), which is also the exact content
of the bundle's `request.json`: `openssl pkeyutl -verify -rawin -in request.json -sigfile
request.sig -pubin -inkey requester.pub.pem` checks it without this tool.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, ValidationError

from collector.errors import CollectorError
from collector.evidence import keys
from collector.evidence.model import REQUEST_FORMAT, CaptureRequest, Model


def new_job_id(at: datetime, *, watch: bool = False) -> str:
    """`J-<UTC time of the request>-<12 random hex digits>`; `W-…` for a watch's standing request."""
    return f"{'W' if watch else 'J'}-{at.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(6).upper()}"


class SignedRequest(Model):
    """A request with the investigator's Ed25519 signature over its canonical bytes."""

    request: CaptureRequest
    signature: str = Field(pattern=r"^[0-9a-f]{128}$")

    def problem(self, public_key_pem: bytes) -> str | None:
        """Why the signature does not hold for `public_key_pem`, or None when it does."""
        if keys.fingerprint(public_key_pem) != self.request.key_fingerprint:
            return "the request names another key than its requester's"
        if not keys.verify(public_key_pem, self.request.canonical(), bytes.fromhex(self.signature)):
            return "the requester's signature does not verify"
        return None


def claim_key(job_id: str, run: int | None) -> str:
    """What sealing claims once in a store's ledger (`job_seals`): the job, or a watch's run."""
    return job_id if run is None else f"{job_id}/{run:05d}"


def sign(request: CaptureRequest, key: Ed25519PrivateKey) -> SignedRequest:
    return SignedRequest(request=request, signature=keys.sign(key, request.canonical()).hex())


def read(data: bytes) -> CaptureRequest:
    """`request.json` as written in a bundle: it must be the canonical form of a request."""
    try:
        request = CaptureRequest.model_validate_json(data)
    except ValidationError as exc:
        raise CollectorError(f"request.json is not a capture request: {exc.errors()[0]['msg']}") from exc
    if request.canonical() != data:
        raise CollectorError("request.json is not in its canonical form (RFC 8785)")
    return request


__all__ = ["REQUEST_FORMAT", "CaptureRequest", "SignedRequest", "new_job_id", "read", "sign"]
