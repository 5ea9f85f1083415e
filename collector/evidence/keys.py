"""Ed25519 keys: generation, passphrase-encrypted storage, signing and verification.

Private keys are PKCS#8 PEM encrypted with the owner's passphrase (readable by
`openssl pkey`); public keys are SubjectPublicKeyInfo PEM. A key's fingerprint is
the SHA-256 of its SubjectPublicKeyInfo DER, so
`openssl pkey -pubin -in KEY.pub.pem -outform DER | sha256sum` reproduces it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from collector.errors import CollectorError, Refused, UsageError

MIN_PASSPHRASE_LENGTH = 8


@dataclass(frozen=True)
class SignerKey:
    """A public key as a registry (the store's, or a trusted list) knows it."""

    owner: str
    public_key_pem: str
    retired_at: datetime | None = None


KeyLookup = Callable[[str], "SignerKey | None"]
"""Fingerprint → registered key, or None when the key is unknown."""


def generate(passphrase: str) -> tuple[bytes, bytes]:
    """Return (encrypted private key PEM, public key PEM) for a new Ed25519 key."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise UsageError(f"passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
    return private_pem, public_pem(key.public_key())


def generate_unencrypted() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM (for the store's own key)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_unencrypted(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CollectorError(f"cannot read the store's own key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CollectorError(f"{path} is not an Ed25519 key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(public_key_pem: bytes) -> str:
    """SHA-256 (hex) of the SubjectPublicKeyInfo DER."""
    key = load_public(public_key_pem)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_public(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CollectorError(f"unreadable public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise CollectorError("public key is not Ed25519")
    return key


def load_private(path: Path, passphrase: str, owner: str) -> Ed25519PrivateKey:
    """Decrypt a user's private key; a wrong passphrase is a refusal."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Refused(f"no private key for user {owner!r}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise Refused(f"wrong passphrase for user {owner!r}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise Refused(f"private key of {owner!r} is not Ed25519")
    return key


def write_private(path: Path, pem: bytes) -> None:
    """Write a private key with mode 0600 from the first byte (no window of wider access)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(path, 0o600)


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def verify(public_key_pem: bytes, data: bytes, signature: bytes) -> bool:
    try:
        load_public(public_key_pem).verify(signature, data)
    except (InvalidSignature, CollectorError):
        return False
    return True


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return b""
