"""A throw-away signing PKI for exhibit signatures (tests only): a CA, PKCS#12 files of a valid
signer and of bad ones, and pyHanko's validation of a signed PDF against that CA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSPHRASE = b"agency-signing-pass"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Harbor Police Department"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass
class PKI:
    ca_pem: Path
    ca_cert: x509.Certificate
    p12: Path
    signer_cert: x509.Certificate
    expired_p12: Path
    no_key_p12: Path
    encrypt_only_p12: Path


def _usage(**allowed: bool) -> x509.KeyUsage:
    """A KeyUsage with the named usages set as given and every other one off."""
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")  # fmt: skip
    return x509.KeyUsage(**{name: allowed.get(name, False) for name in names})


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    cn: str,
    *,
    not_before: datetime,
    not_after: datetime,
    signing: bool = True,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _usage(
                digital_signature=signing, content_commitment=signing, key_encipherment=not signing
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _p12(
    path: Path, key: rsa.RSAPrivateKey | None, cert: x509.Certificate, ca: x509.Certificate
) -> Path:
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"signer", key, cert, [ca], serialization.BestAvailableEncryption(PASSPHRASE)
        )
    )
    return path


def make_pki(d: Path) -> PKI:
    """A throw-away CA (P-256) and PKCS#12 files in `d`: a valid signer, an expired one, one
    without its key, and one whose certificate may not sign."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Test Exhibit Signing CA"))
        .issuer_name(_name("Test Exhibit Signing CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now + timedelta(days=400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _usage(key_cert_sign=True, crl_sign=True),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = d / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    key, cert = _leaf(
        ca_key,
        ca_cert,
        "Erin Evans, Evidence Custodian",
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=30),
    )
    old_key, old_cert = _leaf(
        ca_key,
        ca_cert,
        "Old Signer",
        not_before=now - timedelta(days=300),
        not_after=now - timedelta(days=2),
    )
    enc_key, enc_cert = _leaf(
        ca_key,
        ca_cert,
        "Encryption Only",
        signing=False,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=30),
    )
    return PKI(
        ca_pem=ca_pem,
        ca_cert=ca_cert,
        p12=_p12(d / "signer.p12", key, cert, ca_cert),
        signer_cert=cert,
        expired_p12=_p12(d / "expired.p12", old_key, old_cert, ca_cert),
        no_key_p12=_p12(d / "nokey.p12", None, cert, ca_cert),
        encrypt_only_p12=_p12(d / "encrypt-only.p12", enc_key, enc_cert, ca_cert),
    )


def hanko_status(path: Path, ca: x509.Certificate | None):  # type: ignore[no-untyped-def]
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = (
        []
        if ca is None
        else [asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))]
    )
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    reader = PdfFileReader(BytesIO(path.read_bytes()), strict=False)
    assert len(reader.embedded_signatures) == 1
    return validate_pdf_signature(reader.embedded_signatures[0], context)
