"""The store's WACZ signing key: ECDSA P-256 (the WACZ signing specification's algorithm),
certified by the agency's issuing CA with the role `archive-signer`.

It signs the `datapackage.json` digest of web-archive packages made from sealed bundles and
nothing else; the person who made each package signs a `derived` custody event with its
SHA-256. Like the store's own key, the private key is kept unencrypted (mode 0600 in a
directory, the vault table in an agency store), so that making a package needs no
administrator: anyone who can write the store can sign as it, which is why a package's
signature proves which store's key signed it and that nothing changed since, and the
person is named by the custody event, not by this key.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from collector.errors import IntegrityError, UsageError
from collector.evidence import pki
from collector.store.actions import LedgerAction
from collector.store.ledger import iso, now
from collector.store.pki import PKI_DIR, Issuer, certificate_sha256
from collector.store.store import Store

KEY = "keys/agency/archive-signer.key.pem"
CERT = f"{PKI_DIR}/archive-signer.cert.pem"


@dataclass(frozen=True)
class ArchiveSigner:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    """The signer's certificate, the issuing CA's, the agency root's."""

    def chain_pem(self) -> str:
        return "".join(pki.pem(c) for c in self.chain)


def make(store: Store, issuer: Issuer, actor: str | None) -> x509.Certificate:
    """Generate and certify the store's WACZ signing key (again, replacing the old one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = pki.issue_archive_signer(
        agency=store.config.agency, host=socket.gethostname()[:64] or "-",
        public_key=key.public_key(), issuer_key=issuer.key, issuer=issuer.certificate, now=now(),
    )  # fmt: skip
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    if store.vault.read(KEY) is None:
        store.vault.create(KEY, private)
    else:
        store.vault.replace(KEY, private)
    store.vault.replace(CERT, pki.pem(certificate).encode("ascii"))
    store.ledger.record(
        LedgerAction.pki_archive_signer, actor=actor, subject=pki.ARCHIVE_SIGNER_ROLE,
        details={"serial": str(certificate.serial_number), "sha256": certificate_sha256(certificate),
                 "subject": certificate.subject.rfc4514_string(),
                 "not_after": iso(certificate.not_valid_after_utc)},
    )  # fmt: skip
    return certificate


def load(store: Store) -> ArchiveSigner:
    """The store's WACZ signing key and its chain; refused when it is missing or does not match."""
    key_pem, cert_pem = store.vault.read(KEY), store.vault.read(CERT)
    if key_pem is None or cert_pem is None:
        raise UsageError(
            "this store has no WACZ signing key: an administrator makes one with "
            "`collector keys archive-signer`"
        )
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IntegrityError(f"{store.vault.describe(KEY)} is not an ECDSA P-256 key")
    certificate = pki.load_certificates(cert_pem)[0]
    if certificate.public_key() != key.public_key():
        raise IntegrityError("the store's WACZ signing key does not match its certificate")
    agency = store.pki
    intermediate = agency.intermediate_certificate()
    if not pki.issued_by(certificate, intermediate):
        raise IntegrityError("the WACZ signing key's certificate was not issued by this store's issuing CA")
    if now() > certificate.not_valid_after_utc:
        raise UsageError("the store's WACZ signing certificate has expired: an administrator "
                         "makes a new one with `collector keys archive-signer`")  # fmt: skip
    return ArchiveSigner(key, certificate, [certificate, intermediate, agency.root_certificate()])
