"""PAdES signature of an exhibit PDF with a certificate the agency provides (PKCS#12).

Public API::

    sign_pdf(src, dst, p12, passphrase, *, reason, location) -> SignResult

`p12` is a file's path, or a `Pkcs12` held in memory (a file posted to the web application,
never written to disk).

The signature is PAdES baseline B-B (SubFilter ``ETSI.CAdES.detached``, SHA-256, the
signing certificate and its chain embedded), added as an incremental update so the bytes
of `src` are kept unchanged at the start of `dst`. Before anything is written the
certificate is checked (readable, passphrase right, valid now, allowed to sign); after
signing the new file is read back and its signature checked for integrity, and only then
is it moved to `dst`. Every problem with the inputs raises `SigningInputError` with one
line saying what is wrong; nothing half-written is left at `dst`.

Whether the certificate is *trusted* is for the recipient to decide against the agency's
root (``pdfsig``, Adobe Reader, ``pyhanko sign validate --trust``); this module does not
need the root to sign.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from pydantic import Field

from collector.disclosure.exhibit.files import write_new
from collector.errors import CollectorError, SigningInputError
from collector.evidence import files
from collector.evidence.model import Model

SUBFILTER = "ETSI.CAdES.detached"
FIELD_NAME = "ExhibitSignature"


class SignResult(Model):
    """What was signed, by whom, when: printed by the CLI and recorded with the exhibit."""

    path: Path
    sha256: str = Field(description="SHA-256 of the signed PDF as written to `path`.")
    source_sha256: str = Field(description="SHA-256 of the unsigned PDF that was signed.")
    size: int
    signer_subject: str = Field(description="The signing certificate's subject (RFC 4514).")
    signer_issuer: str
    signer_serial: str = Field(description="Serial number, hexadecimal.")
    signer_sha256: str = Field(description="SHA-256 fingerprint of the signing certificate (DER).")
    signer_not_after: datetime
    signed_at: datetime = Field(description="The signing time written into the signature (/M).")
    field_name: str
    subfilter: str
    reason: str
    location: str | None = None


class Pkcs12(Model):
    """A PKCS#12 file's bytes and the name to call it by in messages."""

    name: str
    data: bytes = Field(repr=False)


def check_signer(p12: Path | Pkcs12, passphrase: bytes | None) -> None:
    """Raise SigningInputError unless `p12` opens with `passphrase` and its certificate may
    sign now: checked before anything is rendered, so a wrong passphrase costs nothing."""
    certificate, _chain, _data = _load_p12(p12, passphrase)
    _check_certificate(certificate, datetime.now(UTC))


def sign_pdf(
    src: Path,
    dst: Path,
    p12: Path | Pkcs12,
    passphrase: bytes | None,
    *,
    reason: str,
    location: str | None,
) -> SignResult:
    """Sign `src` into the new file `dst` with the key and certificate in `p12`.

    Raises SigningInputError when `src` is not a readable PDF, `p12` is not a PKCS#12
    file or the passphrase does not open it, the certificate is not valid now or may not
    sign documents, or `dst` already exists; CollectorError when the signature written
    does not check out when read back.
    """
    src, dst = Path(src), Path(dst)
    if dst.exists() or dst.is_symlink():
        raise SigningInputError(f"will not overwrite {dst}: it already exists")
    if not reason.strip():
        raise SigningInputError("a signature needs a reason")
    certificate, chain, pfx_bytes = _load_p12(p12, passphrase)
    now = datetime.now(UTC)
    _check_certificate(certificate, now)
    source = _read(src, "PDF")

    signed = _sign(source, src, pfx_bytes, chain, passphrase, reason, location)
    signed_at = _check_signed(signed, certificate)

    write_new(dst, signed)
    return SignResult(
        path=dst,
        sha256=hashlib.sha256(signed).hexdigest(),
        source_sha256=hashlib.sha256(source).hexdigest(),
        size=len(signed),
        signer_subject=certificate.subject.rfc4514_string(),
        signer_issuer=certificate.issuer.rfc4514_string(),
        signer_serial=format(certificate.serial_number, "x"),
        signer_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        signer_not_after=certificate.not_valid_after_utc,
        signed_at=signed_at,
        field_name=FIELD_NAME,
        subfilter=SUBFILTER,
        reason=reason,
        location=location,
    )


# ------------------------------------------------------------------------ certificate


MAX_INPUT = 512 * files.MIB
"""The largest PDF or PKCS#12 file read."""


def _read(path: Path, what: str) -> bytes:
    try:
        return files.read_regular(path, what, MAX_INPUT)
    except files.BadInputFile as exc:
        raise SigningInputError(str(exc)) from None


def _load_p12(
    p12: Path | Pkcs12, passphrase: bytes | None
) -> tuple[x509.Certificate, list[x509.Certificate], bytes]:
    if isinstance(p12, Pkcs12):
        path, data = p12.name, p12.data
    else:
        path, data = str(p12), _read(Path(p12), "certificate file")
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError):
        if not _is_pfx(data):
            raise SigningInputError(f"{path} is not a PKCS#12 (.p12/.pfx) file") from None
        if passphrase is None:
            raise SigningInputError(f"{path} needs a passphrase") from None
        raise SigningInputError(f"wrong passphrase for {path}") from None
    if key is None:
        raise SigningInputError(f"{path} holds no private key")
    if certificate is None:
        raise SigningInputError(f"{path} holds no certificate for its private key")
    return certificate, list(chain), data


def _is_pfx(data: bytes) -> bool:
    """Whether `data` has the structure of a PKCS#12 PFX (RFC 7292), whatever the password."""
    from asn1crypto import pkcs12 as asn1_pkcs12

    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        version, content = pfx["version"].native, pfx["auth_safe"]["content_type"].native
        return bool(version == "v3" and content in ("data", "signed_data"))
    except (ValueError, TypeError, KeyError):
        return False


def _check_certificate(certificate: x509.Certificate, now: datetime) -> None:
    subject = certificate.subject.rfc4514_string()
    if now < certificate.not_valid_before_utc:
        raise SigningInputError(
            f"certificate {subject} is not valid until "
            f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ}"
        )
    if now > certificate.not_valid_after_utc:
        raise SigningInputError(
            f"certificate {subject} expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}"
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SigningInputError(
            f"certificate {subject} may not sign documents "
            "(key usage has neither digitalSignature nor nonRepudiation)"
        )


# ------------------------------------------------------------------------ signing


def _sign(
    source: bytes,
    src: Path,
    pfx_bytes: bytes,
    chain: list[x509.Certificate],
    passphrase: bytes | None,
    reason: str,
    location: str | None,
) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError

    try:
        writer = IncrementalPdfFileWriter(BytesIO(source), strict=False)
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise SigningInputError(f"{src} is not a readable PDF ({_one_line(exc)})") from None
    if writer.prev.encrypted:
        raise SigningInputError(f"{src} is an encrypted PDF; sign the unencrypted exhibit")
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(pfx_bytes, [], passphrase=passphrase)
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        output = signers.sign_pdf(writer, meta, signer=signer)
    except (PdfError, SigningError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise SigningInputError(f"cannot sign {src}: {_one_line(exc)}") from None
    data = output.getvalue()
    assert isinstance(data, bytes)
    if not data.startswith(source):
        raise CollectorError(f"signing {src} rewrote the original bytes; nothing written")
    return data


def _check_signed(signed: bytes, certificate: x509.Certificate) -> datetime:
    """Read the signed PDF back: one signature, intact, by `certificate`; its time."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(signed), strict=False)
    signatures = reader.embedded_signatures
    if len(signatures) != 1:
        raise CollectorError(f"signed PDF holds {len(signatures)} signatures, expected 1")
    embedded = signatures[0]
    # Integrity only: the signer's own certificate is the anchor, nothing is fetched.
    # Trust in the agency's root is the recipient's check, not ours.
    anchor = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
    context = ValidationContext(
        trust_roots=[anchor], allow_fetching=False, revocation_mode="soft-fail"
    )
    status = validate_pdf_signature(embedded, context, skip_diff=True)
    if not (status.intact and status.valid):
        raise CollectorError("the signature just written does not verify; nothing written")
    if embedded.signer_cert.dump() != certificate.public_bytes(Encoding.DER):
        raise CollectorError("the signature just written names another certificate")
    if embedded.sig_object.get("/SubFilter") != "/" + SUBFILTER:
        raise CollectorError(f"the signature just written is not {SUBFILTER}")
    signed_at: datetime | None = embedded.self_reported_timestamp
    if signed_at is None:
        raise CollectorError("the signature just written has no signing time")
    return signed_at.astimezone(UTC)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:200]
