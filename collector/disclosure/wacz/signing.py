"""The WACZ signing specification's signature: ECDSA P-256 with SHA-256, DER-encoded and
base64'd, over the ASCII `hash` string (`sha256:<hex>` of `datapackage.json`)."""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from collector.errors import UsageError


def sign(key: ec.EllipticCurvePrivateKey, hash_text: str) -> str:
    return base64.b64encode(key.sign(hash_text.encode("ascii"), ec.ECDSA(hashes.SHA256()))).decode()


def public_key_text(key: ec.EllipticCurvePublicKey) -> str:
    """The `publicKey` field: the key's DER SubjectPublicKeyInfo, base64."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """A `publicKey` field (base64 DER SubjectPublicKeyInfo, or PEM) as an ECDSA key."""
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError) as exc:
        raise UsageError(f"publicKey is not a readable public key ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UsageError("publicKey is not an ECDSA key")
    return key


def verifies(key: object, hash_text: str, signature: str) -> bool:
    """Whether `signature` is `key`'s ECDSA-SHA256 signature of the ASCII `hash_text`."""
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, hash_text.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error, UnicodeEncodeError):
        return False
    return True
