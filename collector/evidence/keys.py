"""Ed25519 keys: generation, passphrase-encrypted storage, signing and verification.

Private keys are PKCS#8 PEM encrypted with the owner's passphrase by scrypt (PBES2 with
AES-256-CBC; readable by `openssl pkey`); public keys are SubjectPublicKeyInfo PEM. A key's fingerprint is
the SHA-256 of its SubjectPublicKeyInfo DER, so
`openssl pkey -pubin -in KEY.pub.pem -outform DER | sha256sum` reproduces it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from collector.errors import CollectorError, Refused, UsageError

MIN_PASSPHRASE_LENGTH = 8
MAX_PASSPHRASE_BYTES = 1023
"""OpenSSL reads at most this many bytes of a passphrase; a longer one would be cut short."""


def check_passphrase(passphrase: str, what: str = "passphrase") -> None:
    """The length rules every new passphrase meets."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise UsageError(f"{what} must be at least {MIN_PASSPHRASE_LENGTH} characters")
    if len(passphrase.encode("utf-8")) > MAX_PASSPHRASE_BYTES:
        raise UsageError(f"{what} must be at most {MAX_PASSPHRASE_BYTES} bytes (UTF-8)")
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
WRAP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class SignerKey:
    """A public key as a registry (the store's, or a trusted list) knows it."""

    owner: str
    public_key_pem: str
    retired_at: datetime | None = None


KeyLookup = Callable[[str], "SignerKey | None"]
"""Fingerprint → registered key, or None when the key is unknown."""


@dataclass(frozen=True)
class Scrypt:
    """The scrypt cost a private key is (to be) encrypted with."""

    n: int
    r: int
    p: int

    def weaker_than(self, other: Scrypt) -> bool:
        return (self.n, self.r, self.p) < (other.n, other.r, other.p)


def generate(passphrase: str, cost: Scrypt) -> tuple[bytes, bytes]:
    """Return (encrypted private key PEM, public key PEM) for a new Ed25519 key."""
    check_passphrase(passphrase)
    key = Ed25519PrivateKey.generate()
    return wrap(key, passphrase, cost), public_pem(key.public_key())


def wrap(key: Ed25519PrivateKey, passphrase: str, cost: Scrypt) -> bytes:
    """The key as PKCS#8 PEM encrypted with scrypt and AES-256-CBC (PBES2), written by
    `openssl pkcs8` (the `cryptography` package reads these but cannot write them). The
    passphrase reaches OpenSSL through a pipe, never the command line or the environment."""
    if len(passphrase.encode("utf-8")) > MAX_PASSPHRASE_BYTES or "\n" in passphrase:
        raise UsageError(f"a passphrase must be one line of at most {MAX_PASSPHRASE_BYTES} bytes")
    plain = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, passphrase.encode("utf-8") + b"\n")
        os.close(write_end)
        write_end = -1
        done = subprocess.run(
            [OPENSSL, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-scrypt",
             "-scrypt_N", str(cost.n), "-scrypt_r", str(cost.r), "-scrypt_p", str(cost.p),
             "-passout", f"fd:{read_end}"],
            input=plain, capture_output=True, pass_fds=(read_end,), timeout=WRAP_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CollectorError(f"could not encrypt the private key with openssl: {exc}") from exc
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if done.returncode != 0 or not done.stdout.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY"):
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CollectorError(f"openssl could not encrypt the private key: {message[:1]}")
    return done.stdout


def encryption_of(pem: bytes) -> Scrypt | str:
    """The scrypt cost a private key file is encrypted with, or the name of its other KDF."""
    try:
        _, _, der = asn1_pem.unarmor(pem)
        info = asn1_keys.EncryptedPrivateKeyInfo.load(der)
        algorithm = info["encryption_algorithm"]
        if algorithm["algorithm"].native != "pbes2":
            return str(algorithm["algorithm"].native)
        kdf = algorithm["parameters"]["key_derivation_func"]
        if kdf["algorithm"].dotted != SCRYPT_OID:
            return str(kdf["algorithm"].native)
        params = _ScryptParams.load(kdf["parameters"].dump())
        return Scrypt(params["cost"].native, params["block_size"].native,
                      params["parallelization"].native)  # fmt: skip
    except (ValueError, TypeError, KeyError) as exc:
        return f"unreadable ({exc})"


SCRYPT_OID = "1.3.6.1.4.1.11591.4.11"  # RFC 7914


class _ScryptParams(asn1_core.Sequence):  # type: ignore[misc]
    """RFC 7914 scrypt-params."""

    _fields = [
        ("salt", asn1_core.OctetString),
        ("cost", asn1_core.Integer),
        ("block_size", asn1_core.Integer),
        ("parallelization", asn1_core.Integer),
        ("key_length", asn1_core.Integer, {"optional": True}),
    ]


def generate_unencrypted() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM (for the store's own key)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_unencrypted(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CollectorError(f"cannot read the store's own key {path}: {exc}") from exc
    return unencrypted_from(data, str(path))


def unencrypted_from(data: bytes, where: str) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key from PEM bytes (`where` names them in errors)."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CollectorError(f"cannot read the store's own key {where}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CollectorError(f"{where} is not an Ed25519 key")
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
    """Decrypt a user's private key file; a wrong passphrase is a refusal."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Refused(f"no private key for user {owner!r}") from exc
    return unlock(data, passphrase, owner)


def unlock(data: bytes | None, passphrase: str, owner: str) -> Ed25519PrivateKey:
    """Decrypt a user's private key (PEM bytes, None when there is none)."""
    if data is None:
        raise Refused(f"no private key for user {owner!r}")
    if len(passphrase.encode("utf-8")) > MAX_PASSPHRASE_BYTES:
        raise UsageError(f"a passphrase is at most {MAX_PASSPHRASE_BYTES} bytes (UTF-8)")
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


def replace_private(path: Path, pem: bytes) -> None:
    """Replace a private key file whole (a new file, mode 0600 from the start, then renamed)."""
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    write_private(temporary, pem)
    os.replace(temporary, path)


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
