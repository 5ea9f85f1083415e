"""The agency PKI: an offline-capable root, an issuing intermediate, one certificate per user key.

All keys are Ed25519 and all certificates X.509 v3, so `openssl verify` checks a signer's
chain with nothing of this tool. A user certificate names the user (`UID`), the full name
(`CN`), the badge (`serialNumber`), the role (`OU`) and the agency (`O`); the role a person
acts in comes from a valid certificate, never from a table row alone. Revocation is a CRL
signed by the intermediate, each entry with its invalidity date (from when the key is not to
be trusted), so a signature is judged by the revocation state at the time it was stamped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

ROOT_YEARS = 20
INTERMEDIATE_YEARS = 10
USER_YEARS = 5
CRL_DAYS = 400
SKEW = timedelta(minutes=5)
"""Certificates start a little before they are made, so a clock a few minutes behind
another's does not make a fresh certificate look not yet valid."""


@dataclass(frozen=True)
class Holder:
    """Who a user certificate says holds the key."""

    user: str
    full_name: str
    badge: str
    role: str
    agency: str
    serial: int


def _name(agency: str, common_name: str, extra: list[x509.NameAttribute[str]] | None = None) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency[:64] or "Agency"),
        *(extra or []),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
    ])  # fmt: skip


_CA_USAGE = x509.KeyUsage(
    digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
    key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
)  # fmt: skip


def _ca(
    subject: x509.Name,
    issuer: x509.Name,
    public: Ed25519PublicKey,
    signer: Ed25519PrivateKey,
    now: datetime,
    years: int,
    path_length: int,
    issuer_public: Ed25519PublicKey,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False
        )
        .sign(signer, algorithm=None)
    )


def make_root(agency: str, key: Ed25519PrivateKey, now: datetime) -> x509.Certificate:
    name = _name(agency, f"{agency} evidence root")
    return _ca(name, name, key.public_key(), key, now, ROOT_YEARS, 1, key.public_key())


def make_intermediate(
    agency: str,
    key: Ed25519PublicKey,
    root_key: Ed25519PrivateKey,
    root: x509.Certificate,
    now: datetime,
) -> x509.Certificate:
    subject = _name(agency, f"{agency} evidence issuing CA")
    return _ca(
        subject, root.subject, key, root_key, now, INTERMEDIATE_YEARS, 0, root_key.public_key()
    )


def cross_certify(
    foreign_root: x509.Certificate, issuer_key: Ed25519PrivateKey, issuer: x509.Certificate
) -> x509.Certificate:
    """A certificate binding another PKI's root (its name and key) to this agency's issuing CA:
    the agency's statement that it trusts what that root certified. Valid for the foreign root's
    own lifetime, since bundles that root's users sealed before the statement are what it is for."""
    public = foreign_root.public_key()
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError("the root to cross-certify does not hold an Ed25519 key")
    return (
        x509.CertificateBuilder()
        .subject_name(foreign_root.subject)
        .issuer_name(issuer.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(foreign_root.not_valid_before_utc)
        .not_valid_after(min(foreign_root.not_valid_after_utc, issuer.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .sign(issuer_key, algorithm=None)
    )


def endorsement_problem(
    cross: x509.Certificate,
    foreign_root: x509.Certificate,
    issuer: x509.Certificate,
    agency_root: x509.Certificate,
) -> str | None:
    """Why `cross` is not this agency's endorsement of `foreign_root`, or None: it must be a CA
    certificate for the same name and key, signed by an issuing CA the agency root signed."""
    if not issued_by(foreign_root, foreign_root):
        return "the imported root is not self-signed"
    if not (issued_by(cross, issuer) and issued_by(issuer, agency_root)):
        return "the cross-certificate was not signed by this agency's issuing CA"
    if not _is_ca(cross):
        return "the cross-certificate is not a CA certificate"
    if cross.subject != foreign_root.subject or public_key_pem(cross) != public_key_pem(foreign_root):
        return "the cross-certificate does not name the imported root's name and key"
    return None


def issue_user(
    *,
    user: str,
    full_name: str,
    badge: str,
    role: str,
    agency: str,
    public_key: Ed25519PublicKey,
    issuer_key: Ed25519PrivateKey,
    issuer: x509.Certificate,
    now: datetime,
) -> x509.Certificate:
    subject = _name(
        agency,
        full_name,
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
            x509.NameAttribute(NameOID.USER_ID, user),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, badge[:64] or "-"),
        ],
    )
    return _leaf(subject, public_key, issuer_key, issuer, now, commitment=True)


ARCHIVE_SIGNER_ROLE = "archive-signer"
"""The `OU` of the certificate of a store's WACZ signing key (ECDSA P-256, as the WACZ signing
specification requires): it signs web-archive packages made from sealed bundles, nothing else."""


def issue_archive_signer(
    *,
    agency: str,
    host: str,
    public_key: EllipticCurvePublicKey,
    issuer_key: Ed25519PrivateKey,
    issuer: x509.Certificate,
    now: datetime,
) -> x509.Certificate:
    """A certificate for a store's WACZ signing key, naming the agency, the role
    `archive-signer` and the machine; usable only for signatures."""
    subject = _name(
        agency,
        f"{agency} WACZ signing key ({host})",
        [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ARCHIVE_SIGNER_ROLE)],
    )
    return _leaf(subject, public_key, issuer_key, issuer, now, commitment=False)


def _leaf(
    subject: x509.Name,
    public_key: Ed25519PublicKey | EllipticCurvePublicKey,
    issuer_key: Ed25519PrivateKey,
    issuer: x509.Certificate,
    now: datetime,
    *,
    commitment: bool,
) -> x509.Certificate:
    """An end-entity certificate for signatures (with non-repudiation when `commitment`)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(min(now + timedelta(days=365 * USER_YEARS), issuer.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=commitment, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, algorithm=None)
    )


def role_of(certificate: x509.Certificate) -> str | None:
    """The certificate's `OU` (the role it was issued for), or None."""
    found = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(found[0].value) if found else None


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime
    invalid_from: datetime
    reason: str


_REASONS = {
    "superseded": x509.ReasonFlags.superseded,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "retired": x509.ReasonFlags.cessation_of_operation,
}


def make_crl(
    revocations: list[Revocation],
    issuer_key: Ed25519PrivateKey,
    issuer: x509.Certificate,
    now: datetime,
    number: int,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - SKEW)
        .next_update(now + timedelta(days=CRL_DAYS))
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for item in revocations:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(item.serial)
            .revocation_date(item.revoked_at)
            .add_extension(x509.CRLReason(_REASONS.get(item.reason, x509.ReasonFlags.unspecified)), critical=False)
            .add_extension(x509.InvalidityDate(item.invalid_from.replace(tzinfo=None)), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(issuer_key, algorithm=None)


def holder(certificate: x509.Certificate) -> Holder | None:
    """The user a certificate names, or None when it is not a user certificate."""
    subject = certificate.subject

    def one(oid: x509.ObjectIdentifier) -> str | None:
        found = subject.get_attributes_for_oid(oid)
        return str(found[0].value) if found else None

    user, role = one(NameOID.USER_ID), one(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if user is None or role is None:
        return None
    return Holder(
        user=user,
        full_name=one(NameOID.COMMON_NAME) or "",
        badge=one(NameOID.SERIAL_NUMBER) or "",
        role=role,
        agency=one(NameOID.ORGANIZATION_NAME) or "",
        serial=certificate.serial_number,
    )


def pem(item: x509.Certificate | x509.CertificateRevocationList) -> str:
    return item.public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_certificates(text: str | bytes) -> list[x509.Certificate]:
    data = text.encode("ascii") if isinstance(text, str) else text
    return list(x509.load_pem_x509_certificates(data))


def public_key_pem(certificate: x509.Certificate) -> str:
    return certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def chain_problem(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    roots: list[x509.Certificate],
    at: datetime,
) -> str | None:
    """Why `leaf` does not chain through an intermediate to one of `roots`, valid at `at`
    (every certificate's validity, signature, issuer name and CA constraints), or None."""
    at = at.astimezone(UTC)
    for cert, what in ((leaf, "the signer's certificate"), *((c, "the issuing CA") for c in intermediates)):
        if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            return f"{what} was not valid at {at:%Y-%m-%d %H:%M:%SZ}"
    issuer = next((c for c in intermediates if issued_by(leaf, c)), None)
    if issuer is None:
        return "the signer's certificate was not issued by any issuing CA given"
    if not _is_ca(issuer):
        return "the signer's certificate was issued by a certificate that is not a CA"
    root = next((r for r in roots if issued_by(issuer, r)), None)
    if root is None:
        return "the issuing CA does not chain to a trusted agency root"
    if not _is_ca(root):
        return "the trusted root is not a CA certificate"
    if not root.not_valid_before_utc <= at <= root.not_valid_after_utc:
        return f"the agency root was not valid at {at:%Y-%m-%d %H:%M:%SZ}"
    return None


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return bool(constraints.ca)


def revocation_of(
    crl: x509.CertificateRevocationList, issuer: x509.Certificate, serial: int
) -> Revocation | None:
    """The CRL's entry for `serial`, when the CRL verifies with `issuer`'s key."""
    if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        raise ValueError("the revocation list's signature does not verify")
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    if entry is None:
        return None
    invalid_from = entry.revocation_date_utc
    reason = "unspecified"
    for extension in entry.extensions:
        if isinstance(extension.value, x509.InvalidityDate):
            invalid_from = extension.value.invalidity_date_utc
        elif isinstance(extension.value, x509.CRLReason):
            flag = extension.value.reason
            reason = next((name for name, f in _REASONS.items() if f is flag), flag.value)
    return Revocation(serial, entry.revocation_date_utc, invalid_from, reason)
